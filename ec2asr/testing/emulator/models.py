"""Value types of the emulator's public API: machines, appliances, errors, audit records."""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from ec2asr.models import SourceMachine

__all__ = [
    "NEVER_FINISHES",
    "AllowAllConnectivity",
    "ApplianceInfo",
    "ConnectivityOracle",
    "DiskSpec",
    "FailoverRecord",
    "JobError",
    "MachineSpec",
    "Reachability",
    "RegistrationEvent",
    "SourcePowerOracle",
    "Timings",
    "WriteRecord",
    "ec2_bios_guid",
]


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _disk_tuple(values: Iterable[DiskSpec]) -> tuple[DiskSpec, ...]:
    return tuple(values)


def _lower(value: str) -> str:
    return str(value).lower()


def ec2_bios_guid(instance_id: str) -> str:
    """The SMBIOS UUID an EC2 Xen instance reports, derived deterministically from its id.

    Xen-based EC2 instances expose a system UUID whose first three hex digits read ``EC2``
    (``ec2`` on some kernels); Nitro instances start with ``ec2`` too. The rest is derived from
    the instance id so a test always sees the same GUID for the same instance.
    """
    digest = uuid.UUID(hashlib.md5(instance_id.encode(), usedforsecurity=False).hexdigest())
    text = str(digest).upper()
    return "EC2" + text[3:]


@attrs.frozen
class DiskSpec:
    """A disk of a source machine.

    Attributes:
        size_gib: Size in GiB.
        device_name: The device as the guest names it (``/dev/xvda``, ``\\\\.\\PHYSICALDRIVE0``).
        is_os: True for the boot disk.
        disk_id: A stable id; derived from the device name and machine when omitted.
    """

    size_gib: int
    device_name: str
    is_os: bool = False
    disk_id: str | None = None


@attrs.frozen
class MachineSpec:
    """A source machine as the appliance discovers it.

    Attributes:
        instance_id: The EC2 instance id (the sandbox's key for the machine).
        hostname: The guest host name (shown as ``displayName``).
        private_ips: Private IPv4 addresses, primary first.
        os_type: ``"windows"`` or ``"linux"``.
        os_name: e.g. ``"Windows Server 2019 Datacenter"``, ``"Ubuntu 20.04 LTS"``.
        os_version: e.g. ``"10.0.17763"``, ``"20.04"``.
        disks: Every disk, the OS disk marked ``is_os``.
        fqdn: Fully qualified name; defaults to ``hostname``.
        bios_guid: SMBIOS UUID; defaults to :func:`ec2_bios_guid` of the instance id.
        cpu_cores: vCPUs.
        memory_mb: Memory in MiB.
        firmware: ``"BIOS"`` or ``"UEFI"``.
        mac_addresses: One MAC per private IP; derived when omitted.
    """

    instance_id: str
    hostname: str
    private_ips: tuple[str, ...] = attrs.field(converter=_str_tuple)
    os_type: str = attrs.field(converter=_lower)
    os_name: str = ""
    os_version: str = ""
    disks: tuple[DiskSpec, ...] = attrs.field(default=(), converter=_disk_tuple)
    fqdn: str | None = None
    bios_guid: str | None = None
    cpu_cores: int = 2
    memory_mb: int = 4096
    firmware: str = "BIOS"
    mac_addresses: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    @os_type.validator
    def _check_os_type(self, _attribute: object, value: str) -> None:
        if value not in ("windows", "linux"):
            raise ValueError("os_type must be 'windows' or 'linux'")

    @property
    def resolved_fqdn(self) -> str:
        """``fqdn`` or the host name."""
        return self.fqdn or self.hostname

    @property
    def resolved_bios_guid(self) -> str:
        """``bios_guid`` or the EC2-style GUID derived from the instance id."""
        return self.bios_guid or ec2_bios_guid(self.instance_id)

    @property
    def total_bytes(self) -> int:
        """The size of every disk, in bytes."""
        return sum(d.size_gib for d in self.disks) * 1024**3

    def disk_id(self, disk: DiskSpec) -> str:
        """The stable id of one of this machine's disks."""
        if disk.disk_id:
            return disk.disk_id
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.instance_id}/{disk.device_name}"))

    @classmethod
    def from_source_machine(cls, machine: SourceMachine) -> MachineSpec:
        """Build from ec2asr's :class:`~ec2asr.SourceMachine` (no I/O)."""
        disks = tuple(
            DiskSpec(size_gib=v.size_gib, device_name=v.device_name, is_os=v.is_root)
            for v in machine.volumes
        )
        family = machine.os.family.value
        return cls(
            instance_id=machine.instance_id,
            hostname=machine.name or machine.instance_id,
            private_ips=machine.private_ips,
            os_type="windows" if family == "windows" else "linux",
            os_name=machine.os.name or "",
            os_version=machine.os.version or "",
            disks=disks,
            cpu_cores=machine.instance_type.vcpus or 2,
            memory_mb=machine.instance_type.memory_mib or 4096,
            firmware="UEFI" if (machine.boot_mode or "").startswith("uefi") else "BIOS",
        )


@attrs.frozen
class ApplianceInfo:
    """The replication appliance registered with the vault.

    Attributes:
        name: Appliance (host) name.
        private_ip: The address sources reach it on (443/9443) and it pushes from.
        appliance_id: The process-server id ASR reports (a GUID).
        instance_id: The EC2 instance hosting it, when the sandbox seeded one.
        security_group_ids: Its security groups (the connectivity oracle may use them).
    """

    name: str
    private_ip: str
    appliance_id: str
    instance_id: str | None = None
    security_group_ids: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)


@attrs.frozen
class Reachability:
    """The verdict of a connectivity oracle for one network path.

    Attributes:
        open: True when every port the path needs is allowed.
        missing: Human descriptions of what is missing (``"tcp/445 appliance->i-0abc ingress"``).
    """

    open: bool
    missing: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)


class ConnectivityOracle(Protocol):
    """Decides whether the network lets replication and push installation through.

    The sandbox evaluates AWS security groups; a test can pass any object with these methods.
    """

    def push_path(self, machine: MachineSpec, appliance: ApplianceInfo) -> Reachability:
        """Appliance -> source: TCP 445 + 135 + 49152-65535 (Windows) or TCP 22 (Linux)."""
        ...

    def replication_path(self, machine: MachineSpec, appliance: ApplianceInfo) -> Reachability:
        """Source -> appliance: TCP 443 and 9443."""
        ...


@runtime_checkable
class SourcePowerOracle(Protocol):
    """Says whether a source machine runs; a connectivity oracle may implement it too.

    The emulator asks it whenever it samples a replicating item. An oracle without this method
    means every source always runs.
    """

    def source_running(self, machine: MachineSpec) -> bool:
        """True while the machine runs (a stopped, stopping or pending machine does not)."""
        ...


class AllowAllConnectivity:
    """A connectivity oracle under which every path is open and every source runs."""

    def push_path(self, machine: MachineSpec, appliance: ApplianceInfo) -> Reachability:
        """Always open."""
        return Reachability(True)

    def replication_path(self, machine: MachineSpec, appliance: ApplianceInfo) -> Reachability:
        """Always open."""
        return Reachability(True)

    def source_running(self, machine: MachineSpec) -> bool:
        """Always running."""
        return True


@attrs.frozen
class JobError:
    """An error an ASR job fails with.

    Attributes:
        code: ASR's error code (``"95117"``).
        message: The error message.
        possible_causes: ASR's possible causes.
        recommended_action: ASR's recommended action.
        provider_error: True when ASR reports it as a provider error (push installation,
            agent); False for a service error.
    """

    code: str
    message: str
    possible_causes: str = ""
    recommended_action: str = ""
    provider_error: bool = False


class _Never(enum.Enum):
    NEVER_FINISHES = "never-finishes"


NEVER_FINISHES = _Never.NEVER_FINISHES
"""Pass as ``job_error=`` to :meth:`AsrEmulator.inject_fault` for a job that never finishes."""


@attrs.frozen
class WriteRecord:
    """One mutating request the emulator accepted (the audit trail in ``emulator.writes``).

    Attributes:
        method: HTTP method.
        path: Request path (no query string).
        time: Simulated time of the request.
        operation: The REST operation id (``"ReplicationProtectedItems_UnplannedFailover"``).
        status: The HTTP status answered (200, 201, 202 or 204).
        job_name: The ASR job the request created, if any.
    """

    method: str
    path: str
    time: datetime
    operation: str
    status: int
    job_name: str | None = None


@attrs.frozen
class FailoverRecord:
    """One failover the emulator accepted (the audit trail in ``emulator.failovers``).

    Attributes:
        item: The protected item's name (ec2asr names it after the EC2 instance id).
        instance_id: The source machine's EC2 instance id.
        kind: ``"test"`` (test failover), ``"unplanned"`` (unplanned failover: the cutover) or
            ``"change-point"`` (``applyRecoveryPoint`` on a failed-over item).
        time: Simulated time of the request.
        recovery_point_id: The ARM id of the recovery point used.
        recovery_point_time: That point's own time (for "Latest": the newest guest write the
            appliance had received).
        source_running: Whether the source ran, as replication last observed it.
        source_stopped_at: When replication first found the source stopped, while it stays
            down; ``None`` when it runs.
        data_loss: For ``unplanned`` and ``change-point``: the source still ran, or writes it
            made after the point are missing (``data_loss_seconds > 0``). Always False for
            ``test`` (a test failover leaves the source untouched).
        recovery_plan: The recovery plan's name when the item failed over through a plan.
        job_name: The ASR job carrying it out (it may still fail; check the job).
        data_loss_seconds: Seconds of the source's writes after the point (up to its last
            write when stopped, up to the request when running).
        pending_at_source_mb: Data still at the source agent when the failover was requested.
        latest: The failover asked for "Latest" (no recovery point named).
    """

    item: str
    instance_id: str
    kind: str
    time: datetime
    recovery_point_id: str
    recovery_point_time: datetime
    source_running: bool
    source_stopped_at: datetime | None
    data_loss: bool
    recovery_plan: str | None = None
    job_name: str | None = None
    data_loss_seconds: float = 0.0
    pending_at_source_mb: float = 0.0
    latest: bool = False


@attrs.frozen
class RegistrationEvent:
    """What happened when a source machine's Mobility agent tried to register.

    Attributes:
        instance_id: The source machine.
        method: ``"manual"`` (SSM / installer run in the guest) or ``"push"``.
        registered: True when the machine registered with the appliance.
        reason: Why not, or what happened.
        time: Simulated time.
        command_id: The SSM command, for manual installs driven through SSM.
    """

    instance_id: str
    method: str
    registered: bool
    reason: str
    time: datetime
    command_id: str | None = None


def _seconds(value: Any) -> float:
    return float(value)


@attrs.frozen
class Timings:
    """Simulated durations (seconds) of the emulator's long-running work.

    The defaults follow what the ASR portal typically shows for one machine; tests may shrink or
    stretch them. ``bandwidth_mbps`` is the upload bandwidth each replicating machine gets, so
    initial replication of a machine takes ``total disk bytes * 8 / (bandwidth_mbps * 10^6)``.
    ``heartbeat_timeout`` is how long a stopped source stays silent before its item reports
    ASR's health error 78174 (no heartbeat from the source machine). After initial replication,
    each running source writes ``churn_mbps``; the agent holds ``agent_lag`` seconds of writes
    and the log data store applies what it received ``processing_lag`` seconds later (see
    :mod:`ec2asr.testing.emulator.agent_data`).
    """

    bandwidth_mbps: float = attrs.field(default=100.0, converter=_seconds)
    enable_protection: float = attrs.field(default=240.0, converter=_seconds)
    push_install: float = attrs.field(default=300.0, converter=_seconds)
    test_failover: float = attrs.field(default=480.0, converter=_seconds)
    test_failover_cleanup: float = attrs.field(default=180.0, converter=_seconds)
    unplanned_failover: float = attrs.field(default=600.0, converter=_seconds)
    failover_commit: float = attrs.field(default=120.0, converter=_seconds)
    disable_protection: float = attrs.field(default=120.0, converter=_seconds)
    update_item: float = attrs.field(default=30.0, converter=_seconds)
    policy: float = attrs.field(default=30.0, converter=_seconds)
    mapping: float = attrs.field(default=60.0, converter=_seconds)
    recovery_plan: float = attrs.field(default=10.0, converter=_seconds)
    heartbeat_timeout: float = attrs.field(default=900.0, converter=_seconds)
    crash_consistent_minutes: int = 5
    churn_mbps: float = attrs.field(default=8.0, converter=_seconds)
    agent_lag: float = attrs.field(default=30.0, converter=_seconds)
    processing_lag: float = attrs.field(default=120.0, converter=_seconds)
    vm_operation: float = attrs.field(default=60.0, converter=_seconds)

    def with_overrides(self, overrides: Mapping[str, float]) -> Timings:
        """A copy with some durations replaced."""
        return attrs.evolve(self, **overrides)  # type: ignore[arg-type]
