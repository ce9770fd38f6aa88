"""What every readiness rule shares: the context it runs in, the rule type, evidence helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import attrs

from ec2asr.assessment.live import SupportedOs
from ec2asr.assessment.matrix import SupportMatrix
from ec2asr.assessment.report import Finding
from ec2asr.models import Evidence, EvidenceSource, SourceMachine

TAG_OS = "ec2asr:os"
TAG_KERNEL = "ec2asr:kernel"
TAG_SECURE_BOOT = "ec2asr:secure-boot"
TAG_PV_DRIVER = "ec2asr:pv-driver"

_TRUE = frozenset({"on", "true", "enabled", "yes", "1"})
_FALSE = frozenset({"off", "false", "disabled", "no", "0"})


@attrs.frozen
class AssessmentContext:
    """Inputs every rule may consult, besides the machine itself.

    Attributes:
        matrix: The support matrix (packaged or caller-supplied).
        live_os: ASR's live supported-OS list, or None when not given.
        acknowledged_instance_store: Instance ids whose owner accepted that instance-store data
            is not copied.
        churn: Instance id -> observed peak write churn in MB/s.
    """

    matrix: SupportMatrix
    live_os: tuple[SupportedOs, ...] | None = None
    acknowledged_instance_store: frozenset[str] = frozenset()
    churn: Mapping[str, float] = attrs.field(factory=dict, hash=False)


RuleFunc = Callable[[SourceMachine, AssessmentContext], Iterable[Finding]]


@attrs.frozen
class Rule:
    """One readiness rule.

    Attributes:
        name: A short stable name (``"architecture"``).
        codes: Every finding code the rule can emit.
        check: ``check(machine, context)`` yields findings.
    """

    name: str
    codes: tuple[str, ...]
    check: RuleFunc = attrs.field(repr=False)

    def __call__(self, machine: SourceMachine, context: AssessmentContext) -> list[Finding]:
        """Run the rule on one machine."""
        return list(self.check(machine, context))


def ec2(detail: str, field: str) -> Evidence:
    """Evidence for a field EC2 reports directly."""
    return Evidence(EvidenceSource.EC2_API, detail, field)


def tag_evidence(machine: SourceMachine, key: str, field: str) -> Evidence | None:
    """Evidence for an ``ec2asr:*`` tag, or None when the tag is absent."""
    if key not in machine.tags:
        return None
    return Evidence(EvidenceSource.TAG, f"tag {key}={machine.tags[key]!r}", field)


def tag_bool(machine: SourceMachine, key: str) -> bool | None:
    """Read an on/off tag: True, False, or None when absent or unrecognised."""
    value = machine.tags.get(key)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def os_evidence(machine: SourceMachine, *fields: str) -> tuple[Evidence, ...]:
    """The OS evidence discovery recorded for ``fields`` (all OS evidence when none match)."""
    found = tuple(e for f in fields for e in machine.os.evidence_for(f))
    if found:
        return found
    if machine.os.evidence:
        return machine.os.evidence
    return (Evidence(EvidenceSource.UNKNOWN, "discovery recorded no OS evidence", "os"),)


def image_evidence(machine: SourceMachine, field: str) -> tuple[Evidence, ...]:
    """The AMI name and description as evidence (whichever EC2 still reports)."""
    image = machine.image
    found = []
    if image.name:
        found.append(Evidence(EvidenceSource.AMI_NAME, f"AMI name {image.name!r}", field))
    if image.description:
        found.append(
            Evidence(
                EvidenceSource.AMI_DESCRIPTION, f"AMI description {image.description!r}", field
            )
        )
    return tuple(found)
