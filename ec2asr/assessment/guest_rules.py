"""Readiness rules about the guest's kernel, Windows PV drivers, and UEFI / Secure Boot.

Sources (cited per rule): Microsoft's *Support matrix for disaster recovery of VMware VMs and
physical servers to Azure* (the InMageRcm matrix, revision dated 2025-08-29), the 2017 *Migrate AWS
VMs to Azure* tutorial, and AWS's *Upgrade PV drivers on Windows instances* page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ec2asr.assessment._base import (
    TAG_KERNEL,
    TAG_PV_DRIVER,
    TAG_SECURE_BOOT,
    AssessmentContext,
    image_evidence,
    os_evidence,
    tag_bool,
    tag_evidence,
)
from ec2asr.assessment.os_rules import os_text
from ec2asr.assessment.report import Finding, Severity
from ec2asr.models import Evidence, EvidenceSource, OsFamily, SourceMachine

_NON_STOCK_KERNEL = re.compile(r"-aws(?![a-z0-9])|\.amzn\d", re.IGNORECASE)
_CANONICAL_OWNER = "099720109477"


def _is_canonical_ami(machine: SourceMachine) -> bool:
    image = machine.image
    name = (image.name or "").lower()
    return image.owner_id == _CANONICAL_OWNER or name.startswith("ubuntu/images/")


def check_kernel(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """Only the stock kernels of a distribution are supported; ``-aws`` kernels are flagged.

    The matrix: "On Linux distributions, only the stock kernels that are part of the distribution
    minor version release/update are supported" and "Azure Site Recovery doesn't support customized
    OS images". Ubuntu's ``linux-aws`` flavour (``5.15.0-1019-aws``) is not in ASR's Ubuntu kernel
    tables (which list ``-generic`` and ``-azure``); Canonical's EC2 AMIs boot it by default.

    Codes: ``NON_STOCK_KERNEL`` (WARNING), ``KERNEL_PROBABLY_AWS`` (WARNING: kernel unknown, but
    the AMI is Canonical's), ``KERNEL_UNKNOWN`` (INFO).
    """
    info = machine.os
    if info.family is not OsFamily.LINUX or info.distribution == "amazon":
        return
    kernel = info.kernel or machine.tags.get(TAG_KERNEL)
    evidence = info.evidence_for("kernel")
    tag = tag_evidence(machine, TAG_KERNEL, "kernel")
    if not evidence and tag is not None:
        evidence = (tag,)
    if not evidence and kernel:
        evidence = (
            Evidence(EvidenceSource.UNKNOWN, f"kernel {kernel!r} from discovery", "kernel"),
        )
    if kernel:
        if not _NON_STOCK_KERNEL.search(kernel):
            return
        if info.distribution == "ubuntu":
            fix = (
                "Install Ubuntu's generic kernel and boot it: `sudo apt-get update && sudo "
                "apt-get install -y linux-generic` (or `linux-image-generic`), make it the "
                "default boot entry (GRUB_DEFAULT, or remove the linux-aws packages and run "
                "`sudo update-grub`), reboot, and check that `uname -r` ends in `-generic`. "
                "Then re-run discovery or tag `ec2asr:kernel` with the new release."
            )
        else:
            fix = (
                "Install the distribution's stock kernel, make it the default boot entry, reboot "
                "and check `uname -r`; then re-run discovery or tag `ec2asr:kernel`."
            )
        yield Finding(
            code="NON_STOCK_KERNEL",
            severity=Severity.WARNING,
            message=(
                f"kernel {kernel} is a cloud-vendor build, not the distribution's stock kernel; "
                "ASR supports only stock kernels (its Mobility agent ships drivers per kernel)"
            ),
            evidence=evidence,
            remediation=fix,
        )
        return
    if info.distribution == "ubuntu" and _is_canonical_ami(machine):
        ami = image_evidence(machine, "kernel")
        owner = (
            (
                Evidence(
                    EvidenceSource.EC2_API, f"AMI owner {_CANONICAL_OWNER} (Canonical)", "kernel"
                ),
            )
            if machine.image.owner_id == _CANONICAL_OWNER
            else ()
        )
        yield Finding(
            code="KERNEL_PROBABLY_AWS",
            severity=Severity.WARNING,
            message=(
                "kernel release unknown, but the instance runs a Canonical EC2 AMI, which boots "
                "the linux-aws kernel; ASR supports only Ubuntu's -generic (and -azure) kernels"
            ),
            evidence=(*ami, *owner),
            remediation=(
                "Run `uname -r` in the guest. If it ends in `-aws`, install `linux-generic`, make "
                "it the default boot entry and reboot. Record the result with the "
                "`ec2asr:kernel` tag (or let SSM inventory report it) and assess again."
            ),
        )
        return
    yield Finding(
        code="KERNEL_UNKNOWN",
        severity=Severity.INFO,
        message="kernel release unknown; ASR supports only the distribution's stock kernels",
        evidence=(Evidence(EvidenceSource.UNKNOWN, "no kernel release recorded", "kernel"),),
        remediation="Check `uname -r` in the guest; tag `ec2asr:kernel` to record it.",
    )


_PV_PATTERNS = (
    ("redhat", re.compile(r"red\s*hat[\s_-]*(pv|paravirt)|\brh[\s_-]?pv\b", re.IGNORECASE)),
    ("citrix", re.compile(r"citrix", re.IGNORECASE)),
    ("aws", re.compile(r"\baws[\s_-]*pv|awspv", re.IGNORECASE)),
)


def _pv_kind_from_tag(value: str) -> str | None:
    lowered = value.strip().lower().replace("-", "").replace(" ", "")
    if lowered in ("redhat", "rh", "rhpv", "redhatpv"):
        return "redhat"
    if lowered in ("citrix", "citrixpv"):
        return "citrix"
    if lowered in ("aws", "awspv", "amazon"):
        return "aws"
    return None


def _pv_driver(machine: SourceMachine) -> tuple[str | None, tuple[Evidence, ...], bool]:
    """(kind, evidence, tag_unrecognised) for a Windows 2008 machine's PV drivers."""
    tag = tag_evidence(machine, TAG_PV_DRIVER, "pv_driver")
    if tag is not None:
        kind = _pv_kind_from_tag(machine.tags[TAG_PV_DRIVER])
        return kind, (tag,), kind is None
    recorded = machine.os.evidence_for("pv_driver")
    for kind, pattern in _PV_PATTERNS:
        for e in recorded:
            if pattern.search(e.detail):
                return kind, (e,), False
        for source, text in (
            (EvidenceSource.AMI_NAME, machine.image.name),
            (EvidenceSource.AMI_DESCRIPTION, machine.image.description),
        ):
            if text and pattern.search(text):
                label = "AMI name" if source is EvidenceSource.AMI_NAME else "AMI description"
                return kind, (Evidence(source, f"{label} {text!r}", "pv_driver"),), False
    return None, recorded, False


def check_windows_2008_pv_drivers(
    machine: SourceMachine, context: AssessmentContext
) -> Iterator[Finding]:
    """Windows Server 2008 / 2008 R2 running Red Hat PV drivers cannot be migrated.

    The 2017 *Migrate AWS VMs to Azure* tutorial: "Windows Server 2008 R2 SP1+ (Citrix PV drivers
    or AWS PV drivers only. Instances running RedHat PV drivers are not supported)". Evidence: the
    ``ec2asr:pv-driver`` tag (redhat / citrix / aws), else the AMI name or description.

    Codes: ``WIN2008_REDHAT_PV_DRIVERS`` (BLOCKER), ``WIN2008_PV_DRIVERS_UNKNOWN`` (WARNING),
    ``WIN2008_PV_DRIVERS_OK`` (INFO).
    """
    info = machine.os
    if info.family is not OsFamily.WINDOWS or not (info.version or "").startswith("2008"):
        return
    kind, evidence, bad_tag = _pv_driver(machine)
    if kind == "redhat":
        yield Finding(
            code="WIN2008_REDHAT_PV_DRIVERS",
            severity=Severity.BLOCKER,
            message=(
                f"{os_text(machine)} runs Red Hat PV drivers; ASR supports Windows Server 2008 "
                "R2 on EC2 only with Citrix PV or AWS PV drivers"
            ),
            evidence=evidence,
            remediation=(
                "Upgrade the drivers following AWS's 'Upgrade Windows Server 2008 and 2008 R2 "
                "instances (Redhat to Citrix PV upgrade)' procedure, then to the AWS PV drivers; "
                "take a snapshot first. Verify (Network Connections shows 'AWS PV Network Device' "
                "or 'Citrix PV Ethernet Adapter'), tag `ec2asr:pv-driver=aws` and assess again."
            ),
        )
    elif kind in ("citrix", "aws"):
        yield Finding(
            code="WIN2008_PV_DRIVERS_OK",
            severity=Severity.INFO,
            message=f"{os_text(machine)} runs {kind.title() if kind == 'citrix' else 'AWS'} PV "
            "drivers, which ASR supports",
            evidence=evidence,
        )
    else:
        what = (
            f"the `{TAG_PV_DRIVER}` tag value {machine.tags[TAG_PV_DRIVER]!r} is not one of "
            "redhat, citrix, aws"
            if bad_tag
            else "nothing says which PV drivers it runs"
        )
        yield Finding(
            code="WIN2008_PV_DRIVERS_UNKNOWN",
            severity=Severity.WARNING,
            message=(
                f"{os_text(machine)}: ASR cannot migrate it if it runs Red Hat PV drivers, and "
                f"{what}"
            ),
            evidence=evidence
            or image_evidence(machine, "pv_driver")
            or (Evidence(EvidenceSource.UNKNOWN, "no PV-driver evidence", "pv_driver"),),
            remediation=(
                "Check the drivers in the guest: Network Connections shows the adapter as 'AWS "
                "PV Network Device', 'Citrix PV Ethernet Adapter' or 'RedHat PV NIC Driver'; or "
                "run `Get-WmiObject Win32_PnPSignedDriver | Where-Object { $_.DeviceName -like "
                "'*Red Hat*' -or $_.DeviceName -like '*RedHat*' }` (or `pnputil -e`). Then tag "
                "the instance `ec2asr:pv-driver` = redhat, citrix or aws and assess again."
            ),
        )


def _secure_boot(machine: SourceMachine) -> tuple[bool | None, tuple[Evidence, ...]]:
    tagged = tag_bool(machine, TAG_SECURE_BOOT)
    tag = tag_evidence(machine, TAG_SECURE_BOOT, "secure_boot")
    if tagged is not None and tag is not None:
        return tagged, (tag,)
    if machine.secure_boot is not None and machine.secure_boot_evidence is not None:
        return machine.secure_boot, (machine.secure_boot_evidence,)
    if machine.secure_boot is not None:
        source = EvidenceSource.SSM_INVENTORY if machine.ssm.managed else EvidenceSource.UNKNOWN
        detail = f"discovery reported Secure Boot {'on' if machine.secure_boot else 'off'}"
        return machine.secure_boot, (Evidence(source, detail, "secure_boot"),)
    return None, ((tag,) if tag is not None else ())


def _boot_mode_evidence(machine: SourceMachine) -> tuple[Evidence, ...]:
    if machine.boot_mode_evidence is not None:
        return (machine.boot_mode_evidence,)
    return (Evidence(EvidenceSource.EC2_API, f"boot mode {machine.boot_mode!r}", "boot_mode"),)


def check_uefi_secure_boot(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """UEFI machines are supported only with Secure Boot off (and never on Windows 2008 / 2008 R2).

    The matrix (*Storage*, "Guest/server EFI/UEFI boot"): "UEFI boot is supported as long as the
    Secure Boot setting is disabled" and "Windows 2008 R2 SP1 & Windows 2008 SP2 servers with UEFI
    isn't supported". EC2 boot mode ``uefi-preferred`` is treated as UEFI.

    Codes: ``SECURE_BOOT_ENABLED`` (BLOCKER), ``UEFI_UNSUPPORTED_OS`` (BLOCKER),
    ``SECURE_BOOT_UNKNOWN`` (WARNING), ``UEFI_GENERATION_2`` (INFO).
    """
    mode = (machine.boot_mode or "").lower()
    secure, sb_evidence = _secure_boot(machine)
    uefi = mode in ("uefi", "uefi-preferred") or secure is True
    if not uefi:
        return
    evidence = (*_boot_mode_evidence(machine), *sb_evidence)
    version = machine.os.version or ""
    if machine.os.family is OsFamily.WINDOWS and version.startswith("2008"):
        yield Finding(
            code="UEFI_UNSUPPORTED_OS",
            severity=Severity.BLOCKER,
            message=f"{os_text(machine)} boots with UEFI; ASR does not support Windows Server "
            "2008 / 2008 R2 with UEFI",
            evidence=(*evidence, *os_evidence(machine, "version")),
            remediation="Rebuild the server on a legacy-BIOS instance or upgrade the OS to "
            "Windows Server 2012 or later.",
        )
    if secure is True:
        yield Finding(
            code="SECURE_BOOT_ENABLED",
            severity=Severity.BLOCKER,
            message="UEFI Secure Boot is on; ASR supports UEFI machines only with Secure Boot "
            "disabled",
            evidence=evidence,
            remediation=(
                "Turn Secure Boot off for the instance (on EC2 its state comes from the UEFI "
                "variable store inherited from the AMI: relaunch from an AMI registered without "
                "Secure Boot keys, or rebuild on a legacy-BIOS AMI). Verify in the guest with "
                "`mokutil --sb-state` (Linux) or `Confirm-SecureBootUEFI` (Windows), then tag "
                "`ec2asr:secure-boot=off` and assess again."
            ),
        )
    elif secure is None:
        yield Finding(
            code="SECURE_BOOT_UNKNOWN",
            severity=Severity.WARNING,
            message="the instance boots with UEFI and its Secure Boot state is unknown; ASR "
            "supports UEFI only with Secure Boot disabled",
            evidence=evidence,
            remediation=(
                "Check in the guest: `mokutil --sb-state` on Linux ('SecureBoot disabled'), or "
                "`Confirm-SecureBootUEFI` in an elevated PowerShell on Windows (False = off). "
                "Record it with the tag `ec2asr:secure-boot=off` (or `on`) and assess again."
            ),
        )
    else:
        yield Finding(
            code="UEFI_GENERATION_2",
            severity=Severity.INFO,
            message="UEFI boot with Secure Boot off: ASR creates a Generation 2 Azure VM",
            evidence=evidence,
        )
