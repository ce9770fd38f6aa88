"""The readiness rules, in the order :func:`ec2asr.assess` runs them.

Each rule is a small :class:`Rule`: a name, the finding codes it can emit, and a pure function
``check(machine, context)`` yielding :class:`~ec2asr.assessment.Finding` objects. Codes are stable
strings; ``docs/readiness.md`` documents every one. Severity per code:

=============================  ========  ===================================================
code                           severity  meaning
=============================  ========  ===================================================
ARCH_UNSUPPORTED               BLOCKER   arm64 (Graviton), i386 or Mac instance
ARCH_UNKNOWN                   WARNING   EC2 reported no architecture
VIRTUALIZATION_PARAVIRTUAL     BLOCKER   PV instance; ASR needs HVM
VIRTUALIZATION_UNKNOWN         WARNING   EC2 reported no virtualization type
INSTANCE_NOT_RUNNING           WARNING   stopped/stopping/pending: replication needs it running
INSTANCE_TERMINATED            BLOCKER   shutting-down or terminated
AMAZON_LINUX_UNSUPPORTED       BLOCKER   Amazon Linux
OS_DISTRIBUTION_UNSUPPORTED    BLOCKER   another distribution the data file marks unsupported
OS_UNKNOWN                     WARNING   OS or distribution unknown
OS_VERSION_UNCONFIRMED         WARNING   version missing or less precise than the matrix
OS_VERSION_UNSUPPORTED         BLOCKER   version not in the matrix (nor in the live list)
OS_NOT_IN_LIVE_LIST            BLOCKER   matrix lists it, ASR's live answer does not
OS_ONLY_IN_LIVE_LIST           WARNING   live answer lists it, packaged matrix does not
OS_SUPPORT_NOTE                INFO/WRN  the matching matrix entry's advisory
NON_STOCK_KERNEL               WARNING   ``-aws`` (or Amazon) kernel
KERNEL_PROBABLY_AWS            WARNING   kernel unknown, Canonical EC2 AMI (linux-aws)
KERNEL_UNKNOWN                 INFO      Linux kernel release unknown
WIN2008_REDHAT_PV_DRIVERS      BLOCKER   Windows 2008 / 2008 R2 with Red Hat PV drivers
WIN2008_PV_DRIVERS_UNKNOWN     WARNING   Windows 2008 / 2008 R2, PV drivers unknown
WIN2008_PV_DRIVERS_OK          INFO      Citrix or AWS PV drivers
UEFI_UNSUPPORTED_OS            BLOCKER   Windows 2008 / 2008 R2 booting UEFI
SECURE_BOOT_ENABLED            BLOCKER   UEFI with Secure Boot on
SECURE_BOOT_UNKNOWN            WARNING   UEFI, Secure Boot state unknown
UEFI_GENERATION_2              INFO      UEFI with Secure Boot off: Generation 2 VM
OS_DISK_MISSING                BLOCKER   no EBS root volume
OS_DISK_TOO_LARGE              BLOCKER   OS disk over 2,048 GiB (BIOS) / 4,095 GiB (UEFI)
OS_DISK_BOOT_MODE_UNCERTAIN    WARNING   OS disk between the limits, boot mode unsure
TOO_MANY_DATA_DISKS            BLOCKER   more than 64 data disks
DISK_TOO_SMALL                 BLOCKER   disk under 1 GB
DISK_AT_MINIMUM_SIZE           WARNING   disk of exactly 1 GiB
DISK_TOO_LARGE                 BLOCKER   disk over 32,767 GiB
INSTANCE_STORE_DATA            BLOCKER   instance-store volumes, not acknowledged
INSTANCE_STORE_ACKNOWLEDGED    WARNING   instance-store volumes, data loss acknowledged
CHURN_ABOVE_VM_LIMIT           WARNING   peak churn over 54 MB/s per machine
CHURN_ABOVE_DISK_LIMIT         WARNING   churn per disk over 20 MB/s even when spread evenly
=============================  ========  ===================================================
"""

from __future__ import annotations

from collections.abc import Iterator

from ec2asr.assessment._base import AssessmentContext, Rule, ec2
from ec2asr.assessment.disk_rules import check_data_disk_count, check_disk_sizes, check_os_disk
from ec2asr.assessment.guest_rules import (
    check_kernel,
    check_uefi_secure_boot,
    check_windows_2008_pv_drivers,
)
from ec2asr.assessment.os_rules import check_os_support, check_unsupported_distribution
from ec2asr.assessment.report import Finding, Severity
from ec2asr.models import Evidence, EvidenceSource, InstanceStoreVolume, SourceMachine

__all__ = ["RULES", "AssessmentContext", "Rule", "rule_codes"]

_ARCH_TEXT = {
    "arm64": "arm64 (AWS Graviton)",
    "i386": "32-bit x86 (i386)",
    "x86_64_mac": "x86_64 Mac (macOS)",
    "arm64_mac": "arm64 Mac (macOS)",
}


def check_architecture(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """Only 64-bit x86 machines can be replicated.

    The matrix (*Azure VM requirements*): "Guest operating system architecture: 64-bit";
    (*For Linux*): "Only 64-bit system is supported. 32-bit system isn't supported". The Mobility
    agent exists for x86_64 only, so Graviton (arm64) instances cannot be replicated either.

    Codes: ``ARCH_UNSUPPORTED`` (BLOCKER), ``ARCH_UNKNOWN`` (WARNING).
    """
    arch = (machine.architecture or "").lower()
    if arch == "x86_64":
        return
    evidence: list[Evidence] = [ec2(f"architecture {machine.architecture!r}", "architecture")]
    if machine.instance_type.architectures:
        evidence.append(
            ec2(
                f"instance type {machine.instance_type.name} supports "
                f"{', '.join(machine.instance_type.architectures)}",
                "architecture",
            )
        )
    if not arch:
        yield Finding(
            code="ARCH_UNKNOWN",
            severity=Severity.WARNING,
            message="EC2 reported no architecture; ASR replicates only 64-bit x86 machines",
            evidence=tuple(evidence),
            remediation="Check `uname -m` (Linux) or the system type in `msinfo32` (Windows); "
            "it must be x86_64 / x64.",
        )
        return
    yield Finding(
        code="ARCH_UNSUPPORTED",
        severity=Severity.BLOCKER,
        message=f"{_ARCH_TEXT.get(arch, arch)} instance; ASR replicates only 64-bit x86 machines",
        evidence=tuple(evidence),
        remediation=(
            "Redeploy the workload on an x86_64 instance type from an x86_64 AMI (for example "
            "m6g -> m6i) and migrate that instance, or rebuild it directly on Azure."
        ),
    )


def check_virtualization(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """Only HVM instances can be replicated; paravirtual (PV) ones cannot.

    The 2017 *Migrate AWS VMs to Azure* tutorial supports Linux "HVM virtualized instances only";
    the matrix (*Linux file systems/guest storage*): "Devices exported by paravirtualized drivers
    aren't supported ... Supported only for VMware and not for AWS (Physical)". A PV guest's
    ``/dev/xvd*`` devices are exactly such devices.

    Codes: ``VIRTUALIZATION_PARAVIRTUAL`` (BLOCKER), ``VIRTUALIZATION_UNKNOWN`` (WARNING).
    """
    virt = (machine.virtualization_type or "").lower()
    if virt == "hvm":
        return
    evidence = (ec2(f"virtualization type {machine.virtualization_type!r}", "virtualization"),)
    if virt == "paravirtual":
        yield Finding(
            code="VIRTUALIZATION_PARAVIRTUAL",
            severity=Severity.BLOCKER,
            message="paravirtual (PV) instance; ASR supports HVM instances only",
            evidence=evidence,
            remediation=(
                "Rebuild the workload on an HVM AMI and instance type, or convert the root "
                "volume to HVM (copy it onto the root volume of an HVM instance of the same "
                "distribution with a bootloader), then assess again."
            ),
        )
        return
    yield Finding(
        code="VIRTUALIZATION_UNKNOWN",
        severity=Severity.WARNING,
        message="EC2 reported no virtualization type; ASR supports HVM instances only",
        evidence=evidence,
        remediation="Check with `aws ec2 describe-instances --query "
        "'Reservations[].Instances[].VirtualizationType'`; it must be `hvm`.",
    )


def check_instance_state(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """The instance must be running while it replicates (the Mobility agent runs in the guest).

    Codes: ``INSTANCE_NOT_RUNNING`` (WARNING for pending/stopping/stopped),
    ``INSTANCE_TERMINATED`` (BLOCKER for shutting-down/terminated).
    """
    state = (machine.state or "").lower()
    if state == "running":
        return
    evidence = (ec2(f"instance state {machine.state!r}", "state"),)
    if state in ("shutting-down", "terminated"):
        yield Finding(
            code="INSTANCE_TERMINATED",
            severity=Severity.BLOCKER,
            message=f"instance is {state}; there is nothing left to replicate",
            evidence=evidence,
            remediation="Remove it from the migration.",
        )
        return
    yield Finding(
        code="INSTANCE_NOT_RUNNING",
        severity=Severity.WARNING,
        message=f"instance is {state or 'in an unknown state'}; replication needs it running "
        "(the Mobility agent replicates from inside the guest)",
        evidence=evidence,
        remediation=(
            f"Start it before enabling replication (`aws ec2 start-instances --instance-ids "
            f"{machine.instance_id}`). Instance-store data does not survive a stop."
        ),
    )


def _instance_store(machine: SourceMachine) -> tuple[tuple[InstanceStoreVolume, ...], str]:
    if machine.instance_store:
        return machine.instance_store, "block-device mapping"
    itype = machine.instance_type
    derived = tuple(
        InstanceStoreVolume(size_gb=d.size_gb, disk_type=d.disk_type)
        for d in itype.instance_storage
        for _ in range(d.count)
    )
    if not derived and itype.instance_storage_gb:
        derived = (InstanceStoreVolume(size_gb=itype.instance_storage_gb),)
    return derived, f"instance type {itype.name} (DescribeInstanceTypes InstanceStorageInfo)"


def check_instance_store(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """Instance-store volumes hold data that will NOT be copied to Azure.

    Instance-store disks are ephemeral: EC2 erases them whenever the instance stops (ec2asr stops
    it at cutover), and after a stop they come back as new, blank disks, which breaks replication
    of those disks (the matrix: "Any change to disk identity isn't supported"). ec2asr therefore
    treats their contents as not migrated: NOT_READY until the owner acknowledges it with
    ``assess(..., acknowledge_instance_store=[instance_id])``, after which a WARNING stays visible.

    Codes: ``INSTANCE_STORE_DATA`` (BLOCKER), ``INSTANCE_STORE_ACKNOWLEDGED`` (WARNING).
    """
    volumes, where = _instance_store(machine)
    if not volumes:
        return
    total = sum(v.size_gb for v in volumes)
    names = ", ".join(
        f"{v.device_name or 'unmapped'} {v.size_gb} GB {v.disk_type}" for v in volumes[:4]
    )
    evidence = (
        ec2(
            f"{len(volumes)} instance-store volume(s), {total} GB in total ({names}"
            f"{', ...' if len(volumes) > 4 else ''}) from {where}",
            "instance_store",
        ),
    )
    if machine.instance_id in context.acknowledged_instance_store:
        yield Finding(
            code="INSTANCE_STORE_ACKNOWLEDGED",
            severity=Severity.WARNING,
            message=f"{total} GB of instance-store data will NOT be migrated (acknowledged by "
            "the caller)",
            evidence=(
                *evidence,
                Evidence(
                    EvidenceSource.OVERRIDE,
                    "instance id passed in acknowledge_instance_store",
                    "instance_store",
                ),
            ),
            remediation="Recreate whatever the application keeps there after cutover (an "
            "Azure size with a local temporary disk, such as Ddsv5 or Lsv3, is the nearest "
            "equivalent).",
        )
        return
    yield Finding(
        code="INSTANCE_STORE_DATA",
        severity=Severity.BLOCKER,
        message=f"{total} GB of instance-store (ephemeral) disks: their data will NOT be copied "
        "to Azure",
        evidence=evidence,
        remediation=(
            "Move anything that must survive onto EBS volumes, then confirm that the "
            "instance-store contents may be left behind by passing "
            f"`acknowledge_instance_store=['{machine.instance_id}']` to assess()."
        ),
    )


def check_churn(machine: SourceMachine, context: AssessmentContext) -> Iterator[Finding]:
    """Observed peak write churn against ASR's churn limits for the VMware/physical stack.

    The matrix (*Churn limits*, revision 2025-08-29): "Peak data churn across all disks on a VM:
    54 MB/s"; per disk, 20 MB/s for Premium P20-P50 target disks at 16 KB+ I/O (2 MB/s for Standard
    storage); "Maximum data churn per day supported by a Process Server: 2 TB". Microsoft states
    these are tested figures, not hard refusals ("Site Recovery is capable of handling higher
    throughput based on overlap ratio, larger write sizes..."), so exceeding them is a WARNING:
    replication may fall behind and RPO grow.

    Codes: ``CHURN_ABOVE_VM_LIMIT`` (WARNING), ``CHURN_ABOVE_DISK_LIMIT`` (WARNING: even spread
    evenly over the machine's EBS disks, each disk would exceed the per-disk figure).
    """
    if machine.instance_id not in context.churn:
        return
    churn = float(context.churn[machine.instance_id])
    limits = context.matrix.limits
    disks = max(len(machine.volumes), 1)
    evidence = (
        Evidence(
            EvidenceSource.OVERRIDE,
            f"peak write churn {churn:g} MB/s supplied by the caller (churn=)",
            "churn",
        ),
        ec2(f"{len(machine.volumes)} EBS volume(s)", "disk"),
    )
    if churn > limits.churn_vm_peak_mb_per_s:
        yield Finding(
            code="CHURN_ABOVE_VM_LIMIT",
            severity=Severity.WARNING,
            message=(
                f"peak churn {churn:g} MB/s exceeds ASR's tested "
                f"{limits.churn_vm_peak_mb_per_s:g} MB/s per machine; replication may fall behind"
            ),
            evidence=evidence,
            remediation=(
                "Replicate at a quieter time, move write-heavy temporary data (tempdb, caches, "
                "scratch) to a volume excluded from the move, and use Premium SSD target disks; "
                "test-migrate and watch RPO before cutover."
            ),
        )
    elif churn / disks > limits.churn_disk_premium_mb_per_s:
        yield Finding(
            code="CHURN_ABOVE_DISK_LIMIT",
            severity=Severity.WARNING,
            message=(
                f"peak churn {churn:g} MB/s over {disks} disk(s) is more than ASR's tested "
                f"{limits.churn_disk_premium_mb_per_s:g} MB/s per Premium disk"
            ),
            evidence=evidence,
            remediation="Use Premium SSD target disks of P20 (512 GiB) or larger, and spread "
            "write-heavy data over several disks.",
        )


RULES: tuple[Rule, ...] = (
    Rule("architecture", ("ARCH_UNSUPPORTED", "ARCH_UNKNOWN"), check_architecture),
    Rule(
        "virtualization",
        ("VIRTUALIZATION_PARAVIRTUAL", "VIRTUALIZATION_UNKNOWN"),
        check_virtualization,
    ),
    Rule("instance_state", ("INSTANCE_NOT_RUNNING", "INSTANCE_TERMINATED"), check_instance_state),
    Rule(
        "unsupported_distribution",
        ("AMAZON_LINUX_UNSUPPORTED", "OS_DISTRIBUTION_UNSUPPORTED"),
        check_unsupported_distribution,
    ),
    Rule(
        "os_support",
        (
            "OS_UNKNOWN",
            "OS_VERSION_UNCONFIRMED",
            "OS_VERSION_UNSUPPORTED",
            "OS_NOT_IN_LIVE_LIST",
            "OS_ONLY_IN_LIVE_LIST",
            "OS_SUPPORT_NOTE",
        ),
        check_os_support,
    ),
    Rule("kernel", ("NON_STOCK_KERNEL", "KERNEL_PROBABLY_AWS", "KERNEL_UNKNOWN"), check_kernel),
    Rule(
        "windows_2008_pv_drivers",
        ("WIN2008_REDHAT_PV_DRIVERS", "WIN2008_PV_DRIVERS_UNKNOWN", "WIN2008_PV_DRIVERS_OK"),
        check_windows_2008_pv_drivers,
    ),
    Rule(
        "uefi_secure_boot",
        ("UEFI_UNSUPPORTED_OS", "SECURE_BOOT_ENABLED", "SECURE_BOOT_UNKNOWN", "UEFI_GENERATION_2"),
        check_uefi_secure_boot,
    ),
    Rule(
        "os_disk",
        ("OS_DISK_MISSING", "OS_DISK_TOO_LARGE", "OS_DISK_BOOT_MODE_UNCERTAIN"),
        check_os_disk,
    ),
    Rule("data_disk_count", ("TOO_MANY_DATA_DISKS",), check_data_disk_count),
    Rule(
        "disk_sizes", ("DISK_TOO_SMALL", "DISK_AT_MINIMUM_SIZE", "DISK_TOO_LARGE"), check_disk_sizes
    ),
    Rule(
        "instance_store",
        ("INSTANCE_STORE_DATA", "INSTANCE_STORE_ACKNOWLEDGED"),
        check_instance_store,
    ),
    Rule("churn", ("CHURN_ABOVE_VM_LIMIT", "CHURN_ABOVE_DISK_LIMIT"), check_churn),
)
"""Every rule, in run order."""


def rule_codes() -> tuple[str, ...]:
    """Every finding code any rule can emit."""
    return tuple(code for rule in RULES for code in rule.codes)
