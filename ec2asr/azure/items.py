"""Frozen ec2asr models of protected items, jobs, recovery points and recovery plans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ec2asr.azure.models import arm_name
from ec2asr.azure.models import attr_path as _get
from ec2asr.errors import AsrJobError

__all__ = [
    "AsrJob",
    "DiskReplication",
    "HealthIssue",
    "JobError",
    "ProtectedItem",
    "RecoveryPlan",
    "RecoveryPoint",
]


@attrs.frozen
class HealthIssue:
    """A health error ASR reports on a protected item."""

    code: str | None
    message: str
    possible_causes: str | None = None
    recommended_action: str | None = None
    severity: str | None = None

    @classmethod
    def from_azure(cls, err: Any) -> HealthIssue:
        """Build from ``models.HealthError``."""
        return cls(
            code=err.error_code,
            message=str(err.error_message or err.summary_message or err.error_code or ""),
            possible_causes=err.possible_causes,
            recommended_action=err.recommended_action,
            severity=err.error_level,
        )


@attrs.frozen
class DiskReplication:
    """One protected disk's replication figures (InMageRcm ``protectedDisks[]``).

    Attributes:
        disk_id: The source disk's id.
        name: Its name.
        pending_at_source_mb: Data written on the source that has not reached the appliance
            (``dataPendingAtSourceAgentInMB``).
        pending_in_log_store_mb: Data received and not yet processed into the replica
            (``dataPendingInLogDataStoreInMB``).
    """

    disk_id: str | None
    name: str | None
    pending_at_source_mb: float | None
    pending_in_log_store_mb: float | None

    @classmethod
    def from_azure(cls, disk: Any) -> DiskReplication:
        """Build from ``models.InMageRcmProtectedDiskDetails``."""
        return cls(
            disk_id=_get(disk, "disk_id"),
            name=_get(disk, "disk_name"),
            pending_at_source_mb=_float(_get(disk, "data_pending_at_source_agent_in_mb")),
            pending_in_log_store_mb=_float(_get(disk, "data_pending_in_log_data_store_in_mb")),
        )

    @property
    def drained(self) -> bool:
        """Both figures are known and 0 (an unknown figure is not taken for 0)."""
        return self.pending_at_source_mb == 0 and self.pending_in_log_store_mb == 0

    def describe(self) -> str:
        """``disk0: 12.5 MB at the source agent, 3 MB in the log data store``."""

        def mb(value: float | None) -> str:
            return "unknown" if value is None else f"{value:g} MB"

        return (
            f"{self.name or self.disk_id or 'disk'}: {mb(self.pending_at_source_mb)} at the "
            f"source agent, {mb(self.pending_in_log_store_mb)} in the log data store"
        )


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _vm_id(resource_group_id: str | None, vm_name: str | None) -> str | None:
    if not resource_group_id or not vm_name:
        return None
    return f"{resource_group_id}/providers/Microsoft.Compute/virtualMachines/{vm_name}"


@attrs.frozen
class ProtectedItem:
    """A replication-protected item (one replicating machine), InMageRcm provider.

    Attributes:
        name: The item's name (ec2asr uses the EC2 instance id).
        fabric_name: Its fabric.
        container_name: Its protection container.
        protection_state: ASR's ``protectionState`` (``Protected``, ``FailoverCompleted``...).
        replication_health: ``Normal``, ``Warning`` or ``Critical``.
        allowed_operations: What ASR accepts now (``TestFailover``, ``UnplannedFailover``...).
        test_failover_state: ``None``, ``MarkedForDeletion``, ``Completed``...
        initial_replication_percent: Initial replication progress, 0 to 100.
        last_rpo_seconds: The last RPO ASR computed.
        last_recovery_point_id: The newest recovery point's id.
        last_recovery_point_received: When ASR *received* the newest point
            (``lastRecoveryPointReceived``); not the point's own time, which only the
            recoveryPoints list gives.
        disks: Per protected disk, the data still pending (see :class:`DiskReplication`).
        agent_last_heartbeat: The Mobility agent's last heartbeat (``lastHeartbeatUtc``).
        azure_vm_id: The Azure VM's ARM id (known from target settings).
    """

    id: str
    name: str
    fabric_name: str | None
    container_name: str | None
    friendly_name: str | None
    protection_state: str | None
    replication_health: str | None
    allowed_operations: tuple[str, ...]
    test_failover_state: str | None
    current_scenario: str | None
    policy_id: str | None
    initial_replication_percent: int | None
    last_rpo_seconds: int | None
    last_recovery_point_id: str | None
    last_recovery_point_received: datetime | None
    failover_recovery_point_id: str | None
    target_vm_name: str | None
    target_resource_group_id: str | None
    fabric_discovery_machine_id: str | None
    health_errors: tuple[HealthIssue, ...] = ()
    last_successful_failover_time: datetime | None = None
    internal_id: str | None = None
    disks: tuple[DiskReplication, ...] = ()
    agent_last_heartbeat: datetime | None = None

    @classmethod
    def from_azure(cls, item: Any) -> ProtectedItem:
        """Build from ``models.ReplicationProtectedItem`` (InMageRcm details)."""
        props = item.properties
        d = _get(props, "provider_specific_details")
        parts = str(item.id).split("/")
        lower = [p.lower() for p in parts]

        def after(segment: str) -> str | None:
            try:
                return parts[lower.index(segment) + 1]
            except (ValueError, IndexError):
                return None

        scenario = _get(props, "current_scenario", "scenario_name")
        return cls(
            id=str(item.id),
            name=str(item.name),
            fabric_name=after("replicationfabrics"),
            container_name=after("replicationprotectioncontainers"),
            friendly_name=_get(props, "friendly_name"),
            protection_state=_get(props, "protection_state"),
            replication_health=_get(props, "replication_health"),
            allowed_operations=tuple(_get(props, "allowed_operations") or ()),
            test_failover_state=_get(props, "test_failover_state"),
            current_scenario=scenario,
            policy_id=_get(props, "policy_id"),
            initial_replication_percent=_get(d, "initial_replication_progress_percentage"),
            last_rpo_seconds=_get(d, "last_rpo_in_seconds"),
            last_recovery_point_id=_get(d, "last_recovery_point_id"),
            last_recovery_point_received=_get(d, "last_recovery_point_received"),
            failover_recovery_point_id=_get(props, "failover_recovery_point_id")
            or _get(d, "failover_recovery_point_id"),
            target_vm_name=_get(d, "target_vm_name"),
            target_resource_group_id=_get(d, "target_resource_group_id"),
            fabric_discovery_machine_id=_get(d, "fabric_discovery_machine_id"),
            health_errors=tuple(
                HealthIssue.from_azure(e) for e in (_get(props, "health_errors") or ())
            ),
            last_successful_failover_time=_get(props, "last_successful_failover_time"),
            internal_id=_get(d, "internal_identifier"),
            disks=tuple(
                DiskReplication.from_azure(disk) for disk in (_get(d, "protected_disks") or ())
            ),
            agent_last_heartbeat=_get(d, "mobility_agent_details", "last_heartbeat_utc"),
        )

    @property
    def aliases(self) -> frozenset[str]:
        """Every identifier ASR jobs may use for this item (name, friendly name, internal id)."""
        return frozenset(a for a in (self.name, self.friendly_name, self.internal_id) if a)

    @property
    def azure_vm_id(self) -> str | None:
        """The ARM id of the Azure VM a failover creates (or created)."""
        return _vm_id(self.target_resource_group_id, self.target_vm_name)

    def allows(self, operation: str) -> bool:
        """True when ASR currently accepts ``operation`` (case-insensitive)."""
        return operation.lower() in (o.lower() for o in self.allowed_operations)

    @property
    def data_pending_mb(self) -> float | None:
        """Data pending on every disk, at the source agent and in the log data store (None
        when ASR did not say for some disk)."""
        total = 0.0
        for disk in self.disks:
            if disk.pending_at_source_mb is None or disk.pending_in_log_store_mb is None:
                return None
            total += disk.pending_at_source_mb + disk.pending_in_log_store_mb
        return total

    def drained_since(self, moment: datetime) -> tuple[bool, tuple[str, ...]]:
        """Whether nothing written before ``moment`` (the source's stop) can be missing from
        Azure: every disk shows no data pending and the agent heartbeated after ``moment``.

        Returns:
            ``(True, ())``, or ``(False, reasons)``: what is still pending, in words.
        """
        reasons = [d.describe() for d in self.disks if not d.drained]
        if not self.disks:
            reasons.append("ASR reports no protected disks")
        beat = self.agent_last_heartbeat
        if beat is None or beat <= moment:
            seen = "never" if beat is None else beat.isoformat()
            reasons.append(
                f"the Mobility agent's last heartbeat ({seen}) is not after the stop "
                f"({moment.isoformat()})"
            )
        return (not reasons, tuple(reasons))

    @property
    def is_protected(self) -> bool:
        """Initial replication finished and the item is protected."""
        return (self.protection_state or "").lower() == "protected"

    @property
    def is_failed_over(self) -> bool:
        """A failover completed (committed or not): ASR allows Commit, or it was committed."""
        state = (self.protection_state or "").lower()
        return self.allows("Commit") or "commitpending" in state or state.endswith("committed")

    @property
    def failover_failed(self) -> bool:
        """The last failover failed (``UnplannedFailoverFailed``): replication does not resume;
        the failover may be retried, or protection disabled."""
        return (self.protection_state or "").lower().endswith("failoverfailed")


@attrs.frozen
class RecoveryPoint:
    """A recovery point of a protected item."""

    id: str
    name: str
    time: datetime | None
    type: str | None

    @classmethod
    def from_azure(cls, point: Any) -> RecoveryPoint:
        """Build from ``models.RecoveryPoint``."""
        return cls(
            id=str(point.id),
            name=str(point.name),
            time=_get(point, "properties", "recovery_point_time"),
            type=_get(point, "properties", "recovery_point_type"),
        )


@attrs.frozen
class JobError:
    """One error of an ASR job."""

    code: str | None
    message: str
    possible_causes: str | None = None
    recommended_action: str | None = None

    @classmethod
    def from_azure(cls, err: Any) -> JobError:
        """Build from ``models.JobErrorDetails`` (service or provider error)."""
        service = err.service_error_details
        if service is not None and (service.code or service.message):
            return cls(
                code=service.code,
                message=str(service.message or ""),
                possible_causes=service.possible_causes,
                recommended_action=service.recommended_action,
            )
        provider = err.provider_error_details
        if provider is not None:
            return cls(
                code=None if provider.error_code is None else str(provider.error_code),
                message=str(provider.error_message or ""),
                possible_causes=provider.possible_causes,
                recommended_action=provider.recommended_action,
            )
        return cls(code=None, message="unknown error")


TERMINAL_JOB_STATES = frozenset(
    {"Succeeded", "Failed", "Cancelled", "Suspended", "CompletedWithInformation"}
)


@attrs.frozen
class AsrJob:
    """An ASR job (every long-running ASR operation creates one).

    Attributes:
        state: ``NotStarted``, ``InProgress``, ``Succeeded``, ``Failed``, ``Cancelled``...
        scenario_name: What it does (``EnableDr``, ``UnplannedFailover``, ``Commit``...).
        target_object_name: The item it acts on (the protected item's name).
    """

    id: str
    name: str
    state: str | None
    scenario_name: str | None
    friendly_name: str | None
    target_object_id: str | None
    target_object_name: str | None
    start_time: datetime | None
    end_time: datetime | None
    errors: tuple[JobError, ...] = ()

    @classmethod
    def from_azure(cls, job: Any) -> AsrJob:
        """Build from ``models.Job``."""
        p = job.properties
        return cls(
            id=str(job.id),
            name=str(job.name),
            state=_get(p, "state"),
            scenario_name=_get(p, "scenario_name"),
            friendly_name=_get(p, "friendly_name"),
            target_object_id=_get(p, "target_object_id"),
            target_object_name=_get(p, "target_object_name"),
            start_time=_get(p, "start_time"),
            end_time=_get(p, "end_time"),
            errors=tuple(JobError.from_azure(e) for e in (_get(p, "errors") or ())),
        )

    @property
    def is_terminal(self) -> bool:
        """True when the job will not change any more."""
        return self.state in TERMINAL_JOB_STATES

    @property
    def succeeded(self) -> bool:
        """True when the job succeeded."""
        return self.state in ("Succeeded", "CompletedWithInformation")

    def to_error(self) -> AsrJobError:
        """The ec2asr error for a failed job (its first error's code, causes and action)."""
        first = self.errors[0] if self.errors else JobError(code=None, message="")
        what = self.friendly_name or self.scenario_name or "ASR job"
        target = f" for {self.target_object_name}" if self.target_object_name else ""
        message = f"{what}{target} ended {self.state}"
        if first.message:
            message += f": {first.message}"
        return AsrJobError(
            message,
            job_name=self.name,
            error_code=first.code,
            possible_causes=first.possible_causes,
            recommended_action=first.recommended_action,
        )


@attrs.frozen
class RecoveryPlan:
    """A recovery plan: boot groups of protected items that fail over together."""

    id: str
    name: str
    groups: tuple[tuple[str, ...], ...]
    allowed_operations: tuple[str, ...]
    current_scenario: str | None = None
    current_scenario_status: str | None = None

    @classmethod
    def from_azure(cls, plan: Any) -> RecoveryPlan:
        """Build from ``models.RecoveryPlan``; each group lists its items' names."""
        p = plan.properties
        groups = []
        for g in _get(p, "groups") or ():
            if _get(g, "group_type") != "Boot":
                continue
            groups.append(
                tuple(str(arm_name(i.id) or i.id) for i in (g.replication_protected_items or ()))
            )
        return cls(
            id=str(plan.id),
            name=str(plan.name),
            groups=tuple(groups),
            allowed_operations=tuple(_get(p, "allowed_operations") or ()),
            current_scenario=_get(p, "current_scenario", "scenario_name"),
            current_scenario_status=_get(p, "current_scenario_status"),
        )

    @property
    def item_names(self) -> tuple[str, ...]:
        """Every item in the plan, group by group."""
        return tuple(n for g in self.groups for n in g)
