"""Replication protected items (InMageRcm): state machine and rendering.

States use ASR's values. Values seen in real ASR answers: ``EnablingProtection`` ("Enabling
protection"), ``Protected``, ``UnplannedFailoverCommitPendingStatesBegin`` ("Failover
completed"), ``UnplannedFailoverCommitted`` ("Failover committed"), ``UnplannedFailoverFailed``
("Failover failed"); test-failover ``MarkedForDeletion`` ("Cleaning up test environment"). The
transitional ones in between follow the same enumeration (docs/sandbox.md lists them all).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ec2asr.testing.emulator import asr_errors
from ec2asr.testing.emulator.arm import SENTINEL_TIME, format_time, stable_guid
from ec2asr.testing.emulator.models import Reachability, Timings
from ec2asr.testing.emulator.replication import RecoveryPointTime, Replication
from ec2asr.testing.emulator.state import (
    Container,
    DiscoveredMachine,
    Fabric,
    Policy,
    VaultState,
)

__all__ = ["PHASES", "ProtectedDisk", "ProtectedItem"]

PHASES: dict[str, tuple[str, str]] = {
    "enabling": ("EnablingProtection", "Enabling protection"),
    "enable_failed": ("EnablingFailed", "Enabling protection failed"),
    "initial_replication": ("InitialReplicationInProgress", "Initial replication in progress"),
    "protected": ("Protected", "Protected"),
    "failing_over": ("UnplannedFailoverTransitionStatesBegin", "Failover in progress"),
    "failed_over": ("UnplannedFailoverCommitPendingStatesBegin", "Failover completed"),
    "failover_failed": ("UnplannedFailoverFailed", "Failover failed"),
    "committing": ("CommitFailoverStatesBegin", "Committing failover"),
    "committed": ("UnplannedFailoverCommitted", "Failover committed"),
    "disabling": ("DisablingProtection", "Disabling protection"),
}
TEST_FAILOVER_STATES: dict[str, tuple[str, str]] = {
    "none": ("None", "None"),
    "running": ("TestFailoverInitiated", "Test failover in progress"),
    "done": ("WaitingForCompletion", "Waiting for user input"),
    "failed": ("TestFailoverFailed", "Test failover failed"),
    "cleaning": ("MarkedForDeletion", "Cleaning up test environment"),
}
REPLICATING_PHASES = frozenset({"initial_replication", "protected"})
"""Phases in which data flows. A failover ends replication, whether it succeeds or fails:
replication does not resume (a failed failover is retried, or protection disabled)."""


@dataclass
class ProtectedDisk:
    """A disk selected for replication."""

    disk_id: str
    name: str
    is_os: bool
    capacity_bytes: int
    disk_type: str
    log_storage_account_id: str
    disk_encryption_set_id: str | None = None


@dataclass
class ProtectedItem:
    """One replication protected item of the InMageRcm provider."""

    name: str
    vault: VaultState
    fabric: Fabric
    container: Container
    machine: DiscoveredMachine
    policy: Policy
    process_server_id: str
    settings: dict[str, Any]
    disks: list[ProtectedDisk]
    created: datetime
    run_as_account_id: str | None = None
    phase: str = "enabling"
    test_failover: str = "none"
    active_location: str = "Primary"
    current_job: str | None = None
    replication: Replication | None = None
    last_failover: datetime | None = None
    last_test_failover: datetime | None = None
    failover_recovery_point: str | None = None
    test_failover_job: str | None = None
    connectivity: Reachability = field(default_factory=lambda: Reachability(True))
    rp_names: dict[str, datetime] = field(default_factory=dict)
    internal_id: str = ""

    def __post_init__(self) -> None:
        self.internal_id = stable_guid("item", self.arm_id)

    # -- identity -------------------------------------------------------------------------
    @property
    def arm_id(self) -> str:
        """The item's ASR id."""
        return (
            f"{self.vault.asr_id}/replicationFabrics/{self.fabric.name}"
            f"/replicationProtectionContainers/{self.container.name}"
            f"/replicationProtectedItems/{self.name}"
        )

    @property
    def friendly_name(self) -> str:
        """The machine's display name."""
        return self.machine.spec.hostname

    @property
    def target_vm_name(self) -> str:
        """The Azure VM name (defaults to the host name)."""
        return str(self.settings.get("targetVmName") or self.machine.spec.hostname)

    # -- replication ----------------------------------------------------------------------
    def sample(
        self,
        now: datetime,
        oracle: Callable[[ProtectedItem], Reachability],
        power: Callable[[ProtectedItem], bool] = lambda _: True,
    ) -> None:
        """Bring replication up to ``now`` (see :mod:`ec2asr.testing.emulator.replication`).

        ``oracle`` says whether the source reaches the appliance, ``power`` whether the source
        runs; both are asked only while the item replicates.
        """
        if self.replication is None:
            return
        running = self.replication.source_running
        if self.phase in REPLICATING_PHASES:
            self.connectivity = oracle(self)
            running = power(self)
        self.replication.sample(now, self.connectivity.open, running)
        if self.phase == "initial_replication" and self.replication.completed is not None:
            self.phase = "protected"

    def start_replication(self, when: datetime, timings: Timings) -> None:
        """Initial replication starts (the enable job finished)."""
        self.replication = Replication(
            total_bytes=sum(d.capacity_bytes for d in self.disks),
            bytes_per_second=timings.bandwidth_mbps * 1_000_000 / 8,
            started=when,
            crash_minutes=self.policy.crash_consistent_minutes or timings.crash_consistent_minutes,
            app_minutes=self.policy.app_consistent_minutes,
            retention_minutes=self.policy.recovery_point_history_minutes,
            heartbeat_timeout=timings.heartbeat_timeout,
            churn_bytes_per_second=timings.churn_mbps * 1_000_000 / 8,
            agent_lag=timings.agent_lag,
            processing_lag=timings.processing_lag,
        )
        self.phase = "initial_replication"

    @property
    def source_running(self) -> bool:
        """The source's power state when replication last observed it (True before that)."""
        return self.replication.source_running if self.replication else True

    @property
    def source_down_since(self) -> datetime | None:
        """When replication first found the source down (its shutdown), while it is down."""
        return self.replication.down_since if self.replication else None

    @property
    def data_flowing(self) -> bool:
        """True when the source runs and reaches the appliance (as last observed)."""
        return self.connectivity.open and self.source_running

    def latest_point(self, now: datetime) -> RecoveryPointTime | None:
        """The newest recovery point, if replication produced one."""
        return self.replication.latest_point(now) if self.replication else None

    def point_name(self, when: datetime) -> str:
        """The stable name of the recovery point taken at ``when``."""
        name = stable_guid("recovery-point", self.arm_id, format_time(when) or "")
        self.rp_names[name] = when
        return name

    def point_id(self, when: datetime) -> str:
        """The ARM id of the recovery point taken at ``when``."""
        return f"{self.arm_id}/recoveryPoints/{self.point_name(when)}"

    # -- operations -----------------------------------------------------------------------
    def job_running(self, now: datetime) -> bool:
        """True while a job started on this item has not ended."""
        if self.current_job is None:
            return False
        job = self.vault.jobs.get(self.current_job)
        return job is not None and job.state_at(now) in ("InProgress", "Suspended")

    def allowed_operations(self, now: datetime) -> list[str]:
        """``allowedOperations`` for the current state."""
        if self.job_running(now):
            return []
        if self.test_failover == "done":
            # Official example ReplicationProtectedItems_TestFailover.json: only the cleanup.
            return ["TestFailoverCleanup"]
        if self.phase == "protected":
            return ["UnplannedFailover", "DisableProtection", "TestFailover"]
        if self.phase == "failover_failed":
            return ["UnplannedFailover", "DisableProtection"]
        if self.phase == "failed_over":
            # ReplicationProtectedItems_UnplannedFailover.json; no CancelFailover: a forward
            # failover cannot be cancelled in the modernized stack.
            return ["CompleteMigration", "Commit", "DisableProtection", "ChangePit"]
        if self.phase == "committed":
            return ["CompleteMigration", "DisableProtection"]
        if self.phase in ("enable_failed", "initial_replication"):
            return ["DisableProtection"]
        return []

    # -- rendering ------------------------------------------------------------------------
    def health_errors(self, now: datetime) -> list[dict[str, Any]]:
        """The item's current health errors."""
        errors: list[dict[str, Any]] = []
        appliance = self.fabric.appliance_by_process_server(self.process_server_id)
        created = format_time(now) or ""
        repl = self.replication if self.phase in REPLICATING_PHASES else None
        if repl is not None and repl.down_since is not None:
            # The agent of a stopped source sends nothing; ASR says so once its timeout passed.
            reported = repl.down_since + timedelta(seconds=repl.heartbeat_timeout)
            if now >= reported:
                errors.append(
                    asr_errors.no_heartbeat_health_error(
                        self.friendly_name,
                        format_time(repl.down_since) or "",
                        format_time(reported) or created,
                        self.internal_id,
                    )
                )
        elif repl is not None and not self.connectivity.open and appliance:
            errors.append(
                asr_errors.replication_unreachable_health_error(
                    self.friendly_name,
                    appliance.info.private_ip,
                    self.connectivity.missing,
                    created,
                    self.internal_id,
                )
            )
        if self.phase == "protected" and self.last_test_failover is None:
            errors.append(
                asr_errors.no_test_failover_health_error(
                    self.target_vm_name,
                    format_time(self.replication_completed) or created,
                    self.internal_id,
                )
            )
        return errors

    @property
    def replication_completed(self) -> datetime | None:
        """When initial replication finished."""
        return self.replication.completed if self.replication else None

    def to_json(self, now: datetime) -> dict[str, Any]:
        """The item as ASR returns it."""
        # item_details imports this module; importing here keeps the import graph acyclic.
        from ec2asr.testing.emulator.item_details import provider_details

        state, description = PHASES[self.phase]
        tfo_state, tfo_description = TEST_FAILOVER_STATES[self.test_failover]
        errors = self.health_errors(now)
        critical = any(e["errorLevel"] == "Error" for e in errors)
        job = self.vault.jobs.get(self.current_job) if self.current_job else None
        running = job is not None and job.state_at(now) in ("InProgress", "Suspended")
        if not running and self.test_failover == "done" and self.test_failover_job:
            # The test failover's scenario stays current until its cleanup (official example
            # ReplicationProtectedItems_TestFailover.json).
            job = self.vault.jobs.get(self.test_failover_job)
            running = job is not None
        job_name = job.name if running and job else "None"
        scenario = {
            "scenarioName": job.scenario_name if running and job else "None",
            "jobId": f"{self.vault.asr_id}/replicationJobs/{job_name}",
            "startTime": format_time(job.start) if running and job else SENTINEL_TIME,
        }
        properties: dict[str, Any] = {
            "friendlyName": self.friendly_name,
            "protectedItemType": "",
            "protectableItemId": None,
            "recoveryServicesProviderId": (
                f"{self.vault.asr_id}/replicationFabrics/{self.fabric.name}"
                f"/replicationRecoveryServicesProviders/{self.process_server_id}"
            ),
            "primaryFabricFriendlyName": self.fabric.name,
            "primaryFabricProvider": "InMageRcmFabric",
            "recoveryFabricFriendlyName": "Microsoft Azure",
            "recoveryFabricId": "Microsoft Azure",
            "primaryProtectionContainerFriendlyName": self.container.name,
            "recoveryProtectionContainerFriendlyName": "Microsoft Azure",
            "protectionState": state,
            "protectionStateDescription": description,
            "activeLocation": self.active_location,
            "testFailoverState": tfo_state,
            "testFailoverStateDescription": tfo_description,
            "switchProviderState": "None",
            "switchProviderStateDescription": None,
            "allowedOperations": self.allowed_operations(now),
            "replicationHealth": "Critical" if critical else "Normal",
            "failoverHealth": "Warning" if errors else "Normal",
            "healthErrors": errors,
            "policyId": f"{self.vault.asr_id}/replicationPolicies/{self.policy.name}",
            "policyFriendlyName": self.policy.name,
            "currentScenario": scenario,
            "failoverRecoveryPointId": self.failover_recovery_point,
            "providerSpecificDetails": provider_details(self, now),
            "recoveryContainerId": (
                f"{self.vault.asr_id}/replicationFabrics/"
                f"{stable_guid('azure-fabric', self.vault.name)}/replicationProtectionContainers/"
                f"{stable_guid('azure-container', self.vault.name)}"
            ),
            "eventCorrelationId": stable_guid("events", self.arm_id),
        }
        if self.last_failover is not None:
            properties["lastSuccessfulFailoverTime"] = format_time(self.last_failover)
        if self.last_test_failover is not None:
            properties["lastSuccessfulTestFailoverTime"] = format_time(self.last_test_failover)
        return {
            "name": self.name,
            "type": (
                "Microsoft.RecoveryServices/vaults/replicationFabrics/"
                "replicationProtectionContainers/replicationProtectedItems"
            ),
            "id": self.arm_id,
            "properties": properties,
        }
