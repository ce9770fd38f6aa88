""":func:`assess`: run every readiness rule over a fleet and build the report."""

from __future__ import annotations

import collections
import logging
import math
import numbers
from collections.abc import Iterable, Mapping

from ec2asr._validate import shown
from ec2asr.assessment._base import AssessmentContext
from ec2asr.assessment.live import SupportedOs
from ec2asr.assessment.matrix import SupportMatrix, load_support_matrix
from ec2asr.assessment.report import MachineReadiness, ReadinessReport
from ec2asr.assessment.rules import RULES
from ec2asr.errors import InvalidInputError
from ec2asr.models import SourceMachine

__all__ = ["assess"]

logger = logging.getLogger("ec2asr")


def _machines(machines: Iterable[SourceMachine]) -> tuple[SourceMachine, ...]:
    if isinstance(machines, SourceMachine):
        raise InvalidInputError("assess() takes an iterable of SourceMachine, not a single one")
    if isinstance(machines, (str, bytes, Mapping)):
        raise InvalidInputError(
            f"assess() takes an iterable of SourceMachine, got {type(machines).__name__}"
        )
    try:
        items = tuple(machines)
    except TypeError as exc:
        raise InvalidInputError(
            f"assess() takes an iterable of SourceMachine, got {type(machines).__name__}"
        ) from exc
    wrong = [
        f"#{i} ({type(m).__name__})"
        for i, m in enumerate(items)
        if not isinstance(m, SourceMachine)
    ]
    if wrong:
        raise InvalidInputError(
            f"assess() takes SourceMachine objects (from Ec2Discovery.discover); not: "
            f"{', '.join(wrong[:10])}{' ...' if len(wrong) > 10 else ''}"
        )
    counts = collections.Counter(m.instance_id for m in items)
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        raise InvalidInputError(f"machines listed more than once: {', '.join(duplicates)}")
    return items


def _ids(value: Iterable[str], name: str, known: set[str]) -> frozenset[str]:
    if isinstance(value, (str, bytes)):
        raise InvalidInputError(f"{name} takes an iterable of instance ids, not a single string")
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{name} takes an iterable of instance ids, not {shown(value)}")
    items = list(value)
    bad = [shown(i) for i in items if not isinstance(i, str)]
    if bad:
        raise InvalidInputError(f"{name} takes instance id strings; not: {', '.join(bad[:10])}")
    ids = frozenset(items)
    unknown = sorted(ids - known)
    if unknown:
        raise InvalidInputError(
            f"{name} names instances that are not being assessed: {', '.join(unknown)}"
        )
    return ids


def _is_churn(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    number = float(value)
    return math.isfinite(number) and number >= 0


def _churn(churn: Mapping[str, float], known: set[str]) -> dict[str, float]:
    if not isinstance(churn, Mapping):
        raise InvalidInputError(
            f"churn takes a mapping of instance id -> MB/s, got {type(churn).__name__}"
        )
    _ids(churn.keys(), "churn", known)
    bad = [f"{key}={value!r}" for key, value in churn.items() if not _is_churn(value)]
    if bad:
        raise InvalidInputError(
            f"churn values must be finite, non-negative MB/s figures; not: {', '.join(bad)}"
        )
    return {key: float(value) for key, value in churn.items()}


def _supported_os(supported_os: Iterable[SupportedOs]) -> tuple[SupportedOs, ...]:
    if isinstance(supported_os, (str, bytes, Mapping)) or not isinstance(supported_os, Iterable):
        raise InvalidInputError(
            "supported_os takes an iterable of SupportedOs (see supported_os_from_response), "
            f"not {shown(supported_os)}"
        )
    items = tuple(supported_os)
    wrong = sorted({type(s).__name__ for s in items if not isinstance(s, SupportedOs)})
    if wrong:
        raise InvalidInputError(f"supported_os takes SupportedOs objects; not: {', '.join(wrong)}")
    if not items:
        raise InvalidInputError(
            "supported_os is empty: ASR listed no operating system for InMageRcm; pass None to "
            "skip the live check"
        )
    return items


def assess(
    machines: Iterable[SourceMachine],
    *,
    acknowledge_instance_store: Iterable[str] = (),
    supported_os: Iterable[SupportedOs] | None = None,
    matrix: SupportMatrix | None = None,
    churn: Mapping[str, float] | None = None,
) -> ReadinessReport:
    """Check every machine against ASR's requirements for the modernized (InMageRcm) stack.

    Pure: no network, no clock; the same input gives the same report.

    Args:
        machines: Machines from :meth:`ec2asr.Ec2Discovery.discover` (any iterable).
        acknowledge_instance_store: Instance ids whose owner accepts that instance-store data is
            NOT copied; their ``INSTANCE_STORE_DATA`` blocker becomes a visible warning.
        supported_os: ASR's live ``replicationSupportedOperatingSystems?instanceType=InMageRcm``
            answer as :class:`SupportedOs` items (see :func:`supported_os_from_response`); an OS
            the packaged matrix supports but this list lacks is then NOT_READY.
        matrix: The support matrix to use; the packaged one when None.
        churn: Instance id -> observed peak write churn in MB/s, checked against ASR's churn
            limits.

    Returns:
        One :class:`MachineReadiness` per machine, in input order.

    Raises:
        InvalidInputError: A machine is not a :class:`~ec2asr.SourceMachine` or is listed twice;
            an id in ``acknowledge_instance_store`` or ``churn`` is not among ``machines``; a
            churn value is not a finite non-negative number; ``supported_os`` is empty or holds
            something else than :class:`SupportedOs`; ``matrix`` is not a
            :class:`SupportMatrix`.
    """
    items = _machines(machines)
    known = {m.instance_id for m in items}
    if matrix is not None and not isinstance(matrix, SupportMatrix):
        raise InvalidInputError(
            f"matrix takes a SupportMatrix (e.g. SupportMatrix.from_file(path)), got "
            f"{type(matrix).__name__}"
        )
    context = AssessmentContext(
        matrix=matrix if matrix is not None else load_support_matrix(),
        live_os=None if supported_os is None else _supported_os(supported_os),
        acknowledged_instance_store=_ids(
            acknowledge_instance_store, "acknowledge_instance_store", known
        ),
        churn=_churn(churn, known) if churn is not None else {},
    )
    results = []
    for machine in items:
        findings = [finding for rule in RULES for finding in rule(machine, context)]
        results.append(MachineReadiness.from_findings(machine, findings))
    report = ReadinessReport(
        machines=tuple(results),
        matrix_version=context.matrix.version,
        live_os_list=context.live_os is not None,
    )
    logger.info("readiness: %s", report.summary())
    return report
