"""The AWS side of ec2asr: discovery of EC2 instances (the only place that imports boto3).

Public names: :class:`Ec2Discovery` and the tag names users may set on instances to correct or
complete what discovery sees (:data:`TAG_OS`, :data:`TAG_KERNEL`, :data:`TAG_SECURE_BOOT`,
:data:`TAG_PV_DRIVER`).
"""

from __future__ import annotations

from ec2asr.aws.discovery import Ec2Discovery, TagSelector
from ec2asr.aws.osdetect import TAG_KERNEL, TAG_OS, TAG_PV_DRIVER, TAG_SECURE_BOOT

__all__ = [
    "TAG_KERNEL",
    "TAG_OS",
    "TAG_PV_DRIVER",
    "TAG_SECURE_BOOT",
    "Ec2Discovery",
    "TagSelector",
]
