"""Readiness rules about disks: the OS disk, the number of data disks, each disk's size.

The limits come from the support matrix's ``limits`` (see :class:`MatrixLimits`), transcribed from
the *Azure VM requirements* and *Storage* sections of Microsoft's *Support matrix for disaster
recovery of VMware VMs and physical servers to Azure* (revision dated 2025-08-29):

- Operating system disk size: "Up to 2,048 GB for Generation 1 machines. Up to 4,095 GB for
  Generation 2 machines" (Generation 1 = BIOS boot, Generation 2 = UEFI boot);
- Operating system disk count: 1; data disk count: "64 or less";
- Data disk size: "Up to 32 TB when replicating to managed disk", "Minimum disk size requirement -
  at least 1 GB", while *Storage* says "disk must be larger than 1,024 MB" and "Up to 32,767 GB".

EBS reports sizes in GiB; Azure's disk limits are GiB figures too, so sizes are compared as is.
"""

from __future__ import annotations

from collections.abc import Iterator

from ec2asr.assessment._base import AssessmentContext, ec2
from ec2asr.assessment.report import Finding, Severity
from ec2asr.models import EbsVolume, Evidence, SourceMachine


def _volume_evidence(volume: EbsVolume, field: str = "disk") -> Evidence:
    role = "root volume" if volume.is_root else "volume"
    return ec2(
        f"{role} {volume.volume_id} at {volume.device_name}: {volume.size_gib} GiB "
        f"{volume.volume_type}",
        field,
    )


def check_os_disk(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """The OS disk must be an EBS volume of at most 2,048 GiB (BIOS) or 4,095 GiB (UEFI).

    When the boot mode is unknown (or ``uefi-preferred``) and the disk is between the two limits,
    the result depends on how the instance really boots: a WARNING says so.

    Codes: ``OS_DISK_MISSING`` (BLOCKER), ``OS_DISK_TOO_LARGE`` (BLOCKER),
    ``OS_DISK_BOOT_MODE_UNCERTAIN`` (WARNING).
    """
    limits = context.matrix.limits
    root = machine.root_volume
    if root is None:
        on_store = bool(machine.instance_store)
        yield Finding(
            code="OS_DISK_MISSING",
            severity=Severity.BLOCKER,
            message=(
                "no EBS root volume: the OS is on an instance-store (ephemeral) disk, which ASR "
                "cannot use as an OS disk"
                if on_store
                else "no EBS root volume was found; ASR cannot replicate a machine without an OS "
                "disk"
            ),
            evidence=(
                ec2(
                    f"root device {machine.root_device_name!r}; EBS volumes: "
                    f"{', '.join(v.device_name for v in machine.volumes) or 'none'}",
                    "root_device",
                ),
            ),
            remediation=(
                "Rebuild the instance from an EBS-backed AMI (or copy the root file system to an "
                "EBS volume and boot from it), then assess again."
            ),
        )
        return
    mode = (machine.boot_mode or "").lower()
    size = root.size_gib
    bios_max, uefi_max = limits.os_disk_max_gib_bios, limits.os_disk_max_gib_uefi
    boot = (machine.boot_mode_evidence or ec2(f"boot mode {machine.boot_mode!r}", "boot_mode"),)
    fix = (
        "Move data off the system disk so the OS volume fits: EBS volumes cannot shrink, so "
        "create a smaller volume, copy the system onto it (or move data to a data volume) and "
        "make it the root volume; then assess again."
    )
    if size > uefi_max or (size > bios_max and mode == "legacy-bios"):
        limit = uefi_max if size > uefi_max else bios_max
        gen = "any boot mode" if size > uefi_max else "BIOS boot (Generation 1)"
        yield Finding(
            code="OS_DISK_TOO_LARGE",
            severity=Severity.BLOCKER,
            message=f"OS disk is {size} GiB; ASR allows at most {limit} GiB with {gen}",
            evidence=(_volume_evidence(root), *boot),
            remediation=fix,
        )
    elif size > bios_max and mode != "uefi":
        yield Finding(
            code="OS_DISK_BOOT_MODE_UNCERTAIN",
            severity=Severity.WARNING,
            message=(
                f"OS disk is {size} GiB: allowed with UEFI boot (up to {uefi_max} GiB) but not "
                f"with BIOS boot (up to {bios_max} GiB), and the boot mode is "
                f"{machine.boot_mode or 'unknown'}"
            ),
            evidence=(_volume_evidence(root), *boot),
            remediation=(
                "Check how the instance boots (`aws ec2 describe-instances --query "
                "'Reservations[].Instances[].CurrentInstanceBootMode'`, or `ls "
                "/sys/firmware/efi` in a Linux guest); if it boots BIOS, shrink the OS disk. " + fix
            ),
        )


def check_data_disk_count(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """At most 64 data disks (EBS volumes other than the root volume).

    Code: ``TOO_MANY_DATA_DISKS`` (BLOCKER).
    """
    limit = context.matrix.limits.data_disk_max_count
    data = machine.data_volumes
    if len(data) <= limit:
        return
    yield Finding(
        code="TOO_MANY_DATA_DISKS",
        severity=Severity.BLOCKER,
        message=f"{len(data)} data disks; ASR replicates at most {limit} per machine",
        evidence=(
            ec2(
                f"{len(data)} EBS data volumes attached ({', '.join(v.volume_id for v in data[:5])}"
                f"{', ...' if len(data) > 5 else ''})",
                "disk",
            ),
        ),
        remediation=(
            f"Consolidate data onto at most {limit} volumes (for example with LVM or Storage "
            "Spaces onto fewer, larger volumes) or detach volumes that need not move."
        ),
    )


def check_disk_sizes(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """Every disk must be at least 1 GB and at most 32,767 GiB.

    The matrix says both "at least 1 GB" and "must be larger than 1,024 MB": a volume of exactly
    1 GiB is therefore a WARNING, anything smaller a BLOCKER.

    Codes: ``DISK_TOO_SMALL`` (BLOCKER), ``DISK_AT_MINIMUM_SIZE`` (WARNING), ``DISK_TOO_LARGE``
    (BLOCKER).
    """
    limits = context.matrix.limits
    for volume in machine.volumes:
        size = volume.size_gib
        if size < limits.disk_min_gib:
            yield Finding(
                code="DISK_TOO_SMALL",
                severity=Severity.BLOCKER,
                message=f"volume {volume.volume_id} is {size} GiB; ASR needs at least "
                f"{limits.disk_min_gib} GB",
                evidence=(_volume_evidence(volume),),
                remediation=f"Grow the volume (`aws ec2 modify-volume --volume-id "
                f"{volume.volume_id} --size 2`) or detach it if it holds nothing.",
            )
        elif size == limits.disk_min_gib:
            yield Finding(
                code="DISK_AT_MINIMUM_SIZE",
                severity=Severity.WARNING,
                message=(
                    f"volume {volume.volume_id} is exactly {size} GiB: the support matrix says "
                    "'at least 1 GB' in one place and 'larger than 1,024 MB' in another"
                ),
                evidence=(_volume_evidence(volume),),
                remediation=(
                    f"Grow it to 2 GiB to be safe (`aws ec2 modify-volume --volume-id "
                    f"{volume.volume_id} --size 2`, then extend the partition and file system), "
                    "or detach it if it holds nothing."
                ),
            )
        elif size > limits.disk_max_gib:
            yield Finding(
                code="DISK_TOO_LARGE",
                severity=Severity.BLOCKER,
                message=f"volume {volume.volume_id} is {size} GiB; ASR replicates disks up to "
                f"{limits.disk_max_gib} GiB",
                evidence=(_volume_evidence(volume),),
                remediation="Split the data across several volumes of at most "
                f"{limits.disk_max_gib} GiB before enabling replication.",
            )
