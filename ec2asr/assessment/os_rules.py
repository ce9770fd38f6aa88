"""Readiness rules about the operating system: is it one ASR supports, in the matrix and live?

Sources (cited per rule): Microsoft's *Support matrix for disaster recovery of VMware VMs and
physical servers to Azure* (the InMageRcm matrix; revisions dated 2025-08-29 and 2023-09-28) and
the 2017 *Migrate AWS VMs to Azure* tutorial, see ``data/support_matrix.json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ec2asr.assessment._base import TAG_OS, AssessmentContext, os_evidence, tag_evidence
from ec2asr.assessment.live import LiveMatch, distribution_of_os_name, match_live
from ec2asr.assessment.matrix import MatchStatus
from ec2asr.assessment.report import Finding, Severity
from ec2asr.models import Evidence, EvidenceSource, OsFamily, SourceMachine

_TAG_HINT = (
    "tag the instance `ec2asr:os` with its real OS (for example `RHEL 8.6` or "
    "`Windows Server 2019`) or pass an OS override to discovery"
)


def _versions_summary(versions: tuple[str, ...]) -> str:
    """``5.2-5.11, 6.1-6.10`` for dotted versions; a plain list otherwise."""
    if not all(re.fullmatch(r"\d+\.\d+", v) for v in versions):
        return ", ".join(versions)
    groups: dict[str, list[str]] = {}
    for v in sorted(set(versions), key=lambda v: tuple(int(p) for p in v.split("."))):
        groups.setdefault(v.split(".")[0], []).append(v)
    return ", ".join(g[0] if len(g) == 1 else f"{g[0]}-{g[-1]}" for g in groups.values())


def os_text(machine: SourceMachine) -> str:
    """The machine's OS for messages: its name, with the version when the name lacks it."""
    info = machine.os
    base = info.name or info.distribution or "the OS"
    if info.version and info.version not in base:
        return f"{base} {info.version}"
    return base


def check_unsupported_distribution(
    machine: SourceMachine, context: AssessmentContext
) -> Iterator[Finding]:
    """Distributions ASR does not support at all (Amazon Linux) are NOT_READY.

    Codes: ``AMAZON_LINUX_UNSUPPORTED`` (BLOCKER), ``OS_DISTRIBUTION_UNSUPPORTED`` (BLOCKER) for
    any other distribution the data file lists under ``unsupported``. Amazon Linux is absent from
    every revision of the VMware/physical matrix and runs Amazon's own kernels.
    """
    dist = machine.os.distribution
    if dist is None or dist not in context.matrix.unsupported:
        return
    reason = context.matrix.unsupported[dist]
    if dist == "amazon":
        yield Finding(
            code="AMAZON_LINUX_UNSUPPORTED",
            severity=Severity.BLOCKER,
            message=f"{os_text(machine)}: ASR cannot replicate Amazon Linux. {reason}",
            evidence=os_evidence(machine, "distribution", "name", "family"),
            remediation=(
                "Rebuild the workload on a supported distribution with a stock kernel (for "
                "example RHEL 8/9, Rocky Linux, Ubuntu 22.04 LTS or SLES 15) on an x86_64 HVM "
                "instance and migrate that instance, or redeploy the application directly on Azure."
            ),
        )
        return
    yield Finding(
        code="OS_DISTRIBUTION_UNSUPPORTED",
        severity=Severity.BLOCKER,
        message=f"{os_text(machine)} is not supported by ASR: {reason}",
        evidence=os_evidence(machine, "distribution", "name", "family"),
        remediation="Rebuild the workload on a supported operating system.",
    )


def _live_lists_distribution(machine: SourceMachine, context: AssessmentContext) -> bool:
    family = machine.os.family.value
    return any(
        s.os_type.lower() == family
        and distribution_of_os_name(s.os_name) == machine.os.distribution
        for s in context.live_os or ()
    )


def _not_in_live_list(machine: SourceMachine, evidence: tuple[Evidence, ...]) -> Finding:
    return Finding(
        code="OS_NOT_IN_LIVE_LIST",
        severity=Severity.BLOCKER,
        message=(
            f"{os_text(machine)} is not in ASR's live list of supported operating systems for "
            "InMageRcm (replicationSupportedOperatingSystems), although the packaged matrix "
            "lists it"
        ),
        evidence=(
            *evidence,
            Evidence(
                EvidenceSource.OVERRIDE,
                "ASR's replicationSupportedOperatingSystems answer (supported_os=) has no "
                "matching entry",
                "os",
            ),
        ),
        remediation=(
            "ASR's live answer is authoritative for this vault: upgrade the OS to a version it "
            "lists, or check the vault's region and the Mobility agent version ASR offers. If "
            f"the OS was misdetected, {_TAG_HINT}."
        ),
    )


def check_os_support(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """The OS and version must be in ASR's support matrix (and in the live list when given).

    Codes: ``OS_UNKNOWN`` (WARNING), ``OS_VERSION_UNCONFIRMED`` (WARNING: the version is less
    precise than the matrix), ``OS_VERSION_UNSUPPORTED`` (BLOCKER), ``OS_NOT_IN_LIVE_LIST``
    (BLOCKER: the matrix lists it, ASR's live answer does not), ``OS_ONLY_IN_LIVE_LIST``
    (WARNING: ASR's live answer lists a version the packaged data does not — refresh the data),
    ``OS_SUPPORT_NOTE`` (INFO or WARNING, the matrix entry's advisory).
    """
    info = machine.os
    dist = info.distribution
    if dist is not None and dist in context.matrix.unsupported:
        return  # check_unsupported_distribution speaks for it
    evidence = os_evidence(machine, "distribution", "name", "version", "family")
    if dist is None:
        what = "operating system" if info.family is OsFamily.UNKNOWN else "distribution"
        tag = tag_evidence(machine, TAG_OS, "os")
        note = (
            f"; the `{TAG_OS}` tag {machine.tags[TAG_OS]!r} was not understood"
            if tag is not None
            else ""
        )
        yield Finding(
            code="OS_UNKNOWN",
            severity=Severity.WARNING,
            message=f"the {what} of this instance could not be determined, so ASR support "
            f"cannot be checked{note}",
            evidence=(*evidence, tag) if tag is not None else evidence,
            remediation=f"Confirm the OS in the guest, then {_TAG_HINT}; or enable SSM "
            "inventory so discovery reads it from the guest. Then assess again.",
        )
        return
    match = context.matrix.match(dist, info.version)
    live = None if context.live_os is None else match_live(info, context.live_os)
    matrix_ref = f"the support matrix (data {context.matrix.version})"
    if match.status is MatchStatus.SUPPORTED:
        if live is LiveMatch.NOT_LISTED:
            yield _not_in_live_list(machine, evidence)
        advisory = match.entry.advisory if match.entry else None
        if advisory is not None:
            yield Finding(
                code="OS_SUPPORT_NOTE",
                severity=Severity(advisory.severity),
                message=f"{os_text(machine)}: {advisory.text}",
                evidence=evidence,
                remediation=None,
            )
        return
    if match.status is MatchStatus.AMBIGUOUS:
        spelled = f"version {info.version!r}" if info.version else "an unknown version"
        yield Finding(
            code="OS_VERSION_UNCONFIRMED",
            severity=Severity.WARNING,
            message=(
                f"{dist} with {spelled}: {matrix_ref} supports only specific versions "
                f"({_versions_summary(match.candidates)}), and this one cannot be confirmed"
            ),
            evidence=evidence,
            remediation=(
                "Read the exact version in the guest (`cat /etc/os-release`, or `winver` / "
                f"`Get-ComputerInfo OsName,OsVersion` on Windows), then {_TAG_HINT}."
            ),
        )
        if context.live_os is not None and not _live_lists_distribution(machine, context):
            yield _not_in_live_list(machine, evidence)
        return
    # UNSUPPORTED
    if live is LiveMatch.LISTED:
        yield Finding(
            code="OS_ONLY_IN_LIVE_LIST",
            severity=Severity.WARNING,
            message=(
                f"{os_text(machine)} is not in {matrix_ref}, but ASR's live supported list "
                "includes it: the packaged matrix is probably out of date"
            ),
            evidence=evidence,
            remediation="Check the current ASR support matrix and refresh the data file "
            "(docs/readiness.md explains how); test-migrate this machine before cutover.",
        )
        return
    supported = _versions_summary(match.candidates) if match.candidates else "none"
    live_note = " nor in ASR's live supported list" if live is LiveMatch.NOT_LISTED else ""
    yield Finding(
        code="OS_VERSION_UNSUPPORTED",
        severity=Severity.BLOCKER,
        message=(
            f"{os_text(machine)} is not in {matrix_ref}{live_note}; supported {dist} versions: "
            f"{supported}"
        ),
        evidence=evidence,
        remediation=(
            "Upgrade the OS in place to a supported version before enabling replication, or "
            f"rebuild the workload on a supported OS. If the OS was misdetected, {_TAG_HINT}."
        ),
    )
