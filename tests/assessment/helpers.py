"""Small helpers shared by the assessment tests."""

from __future__ import annotations

from typing import Any

from ec2asr.assessment import Finding, MachineReadiness, assess
from ec2asr.models import SourceMachine


def run(machine: SourceMachine, **kwargs: Any) -> MachineReadiness:
    """Assess one machine and return its result."""
    return assess([machine], **kwargs)[machine.instance_id]


def only(result: MachineReadiness, code: str) -> Finding:
    """The single finding with ``code`` (fails when absent or repeated)."""
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, f"expected one {code}, got {result.codes}"
    return found[0]
