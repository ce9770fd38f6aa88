"""The rehearsal sandbox: run ec2asr end to end on one machine, without a cloud account.

:class:`Sandbox` starts moto (AWS) in server mode on 127.0.0.1 and seeds a realistic EC2
estate; the fleet's profiles say which readiness verdict each machine should get. Needs the
``sandbox`` extra (``pip install 'ec2asr[sandbox]'``).
"""

from __future__ import annotations

from ec2asr.testing.fleet import SeededAppliance, SeededFleet, SeededInstance
from ec2asr.testing.profiles import (
    DEFAULT_PROFILE_KEYS,
    NOT_READY,
    PROFILES,
    READY,
    READY_WITH_WARNINGS,
    Disk,
    FleetProfile,
)
from ec2asr.testing.sandbox import Sandbox

__all__ = [
    "DEFAULT_PROFILE_KEYS",
    "NOT_READY",
    "PROFILES",
    "READY",
    "READY_WITH_WARNINGS",
    "Disk",
    "FleetProfile",
    "Sandbox",
    "SeededAppliance",
    "SeededFleet",
    "SeededInstance",
]
