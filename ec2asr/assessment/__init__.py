"""Readiness assessment: can Azure Site Recovery (InMageRcm) move these EC2 instances?

:func:`assess` runs every rule in :mod:`ec2asr.assessment.rules` over machines from
:meth:`ec2asr.Ec2Discovery.discover` and returns a :class:`ReadinessReport`. The support matrix
the rules use is packaged data (:func:`load_support_matrix`); ASR's live supported-OS answer can be
added as :class:`SupportedOs` items. :mod:`ec2asr.assessment.sizing` proposes Azure VM sizes and
disk types.

Example::

    report = ec2asr.assess(machines, acknowledge_instance_store=["i-0abc"])
    print(report)
    for machine in report.blocked:
        print(machine.instance_id, machine.top_reasons())
"""

from __future__ import annotations

from ec2asr.assessment.disks import AzureDisk, AzureDiskType, azure_disk_for
from ec2asr.assessment.engine import assess
from ec2asr.assessment.live import LiveMatch, SupportedOs, match_live, supported_os_from_response
from ec2asr.assessment.matrix import (
    MatchStatus,
    MatrixEntry,
    MatrixLimits,
    MatrixMatch,
    SupportMatrix,
    load_support_matrix,
)
from ec2asr.assessment.report import (
    Finding,
    MachineReadiness,
    ReadinessReport,
    Severity,
    Verdict,
)
from ec2asr.assessment.rules import RULES, Rule, rule_codes
from ec2asr.assessment.sizing import (
    AzureVmSize,
    SizeFamily,
    VmSizeCatalog,
    azure_vm_size_for,
    ec2_instance_shape,
    load_vm_size_catalog,
)

__all__ = [
    "RULES",
    "AzureDisk",
    "AzureDiskType",
    "AzureVmSize",
    "Finding",
    "LiveMatch",
    "MachineReadiness",
    "MatchStatus",
    "MatrixEntry",
    "MatrixLimits",
    "MatrixMatch",
    "ReadinessReport",
    "Rule",
    "Severity",
    "SizeFamily",
    "SupportMatrix",
    "SupportedOs",
    "Verdict",
    "VmSizeCatalog",
    "assess",
    "azure_disk_for",
    "azure_vm_size_for",
    "ec2_instance_shape",
    "load_support_matrix",
    "load_vm_size_catalog",
    "match_live",
    "rule_codes",
    "supported_os_from_response",
]
