"""Frozen ec2asr models of protected items, jobs, recovery points and recovery plans.

The job models live in :mod:`ec2asr.azure._job_models` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ec2asr.azure import _json as j
from ec2asr.azure._job_models import TERMINAL_JOB_STATES, AsrJob, JobError
from ec2asr.azure.models import arm_name
from ec2asr.azure.models import attr_path as _get

__all__ = [
    "TERMINAL_JOB_STATES",
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

    @classmethod
    def from_json(cls, err: Any) -> HealthIssue:
        """Build from a ``HealthError`` JSON object (equal to :meth:`from_azure`'s value)."""
        code = j.json_str(j.get(err, "errorCode"))
        text = j.get(err, "errorMessage") or j.get(err, "summaryMessage") or code
        return cls(
            code=code,
            message=str(text or ""),
            possible_causes=j.json_str(j.get(err, "possibleCauses")),
            recommended_action=j.json_str(j.get(err, "recommendedAction")),
            severity=j.json_str(j.get(err, "errorLevel")),
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

    @classmethod
    def from_json(cls, disk: Any) -> DiskReplication:
        """Build from an ``InMageRcmProtectedDiskDetails`` JSON object."""
        return cls(
            disk_id=j.json_str(j.get(disk, "diskId")),
            name=j.json_str(j.get(disk, "diskName")),
            pending_at_source_mb=j.json_float(j.get(disk, "dataPendingAtSourceAgentInMB")),
            pending_in_log_store_mb=j.json_float(j.get(disk, "dataPendingInLogDataStoreInMB")),
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


def _segment_after(resource_id: str, segment: str) -> str | None:
    """The id's segment after ``segment`` (case-insensitive): a fabric or container name."""
    parts = resource_id.split("/")
    lower = [p.lower() for p in parts]
    try:
        return parts[lower.index(segment) + 1]
    except (ValueError, IndexError):
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
        scenario = _get(props, "current_scenario", "scenario_name")
        return cls(
            id=str(item.id),
            name=str(item.name),
            fabric_name=_segment_after(str(item.id), "replicationfabrics"),
            container_name=_segment_after(str(item.id), "replicationprotectioncontainers"),
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

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> ProtectedItem:
        """Build from a ``ReplicationProtectedItem`` JSON object (a GET's body or a list
        page's member), equal to :meth:`from_azure` on the SDK model of the same JSON."""
        props = j.get(item, "properties")
        d = j.get(props, "providerSpecificDetails")
        item_id = str(item.get("id"))
        return cls(
            id=item_id,
            name=str(item.get("name")),
            fabric_name=_segment_after(item_id, "replicationfabrics"),
            container_name=_segment_after(item_id, "replicationprotectioncontainers"),
            friendly_name=j.json_str(j.get(props, "friendlyName")),
            protection_state=j.json_str(j.get(props, "protectionState")),
            replication_health=j.json_str(j.get(props, "replicationHealth")),
            allowed_operations=tuple(
                str(o) for o in j.json_list(j.get(props, "allowedOperations"))
            ),
            test_failover_state=j.json_str(j.get(props, "testFailoverState")),
            current_scenario=j.json_str(j.get(props, "currentScenario", "scenarioName")),
            policy_id=j.json_str(j.get(props, "policyId")),
            initial_replication_percent=j.json_int(
                j.get(d, "initialReplicationProgressPercentage")
            ),
            last_rpo_seconds=j.json_int(j.get(d, "lastRpoInSeconds")),
            last_recovery_point_id=j.json_str(j.get(d, "lastRecoveryPointId")),
            last_recovery_point_received=j.json_time(j.get(d, "lastRecoveryPointReceived")),
            failover_recovery_point_id=j.json_str(j.get(props, "failoverRecoveryPointId"))
            or j.json_str(j.get(d, "failoverRecoveryPointId")),
            target_vm_name=j.json_str(j.get(d, "targetVmName")),
            target_resource_group_id=j.json_str(j.get(d, "targetResourceGroupId")),
            fabric_discovery_machine_id=j.json_str(j.get(d, "fabricDiscoveryMachineId")),
            health_errors=tuple(
                HealthIssue.from_json(e) for e in j.json_list(j.get(props, "healthErrors"))
            ),
            last_successful_failover_time=j.json_time(j.get(props, "lastSuccessfulFailoverTime")),
            internal_id=j.json_str(j.get(d, "internalIdentifier")),
            disks=tuple(
                DiskReplication.from_json(disk) for disk in j.json_list(j.get(d, "protectedDisks"))
            ),
            agent_last_heartbeat=j.json_time(j.get(d, "mobilityAgentDetails", "lastHeartbeatUtc")),
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
