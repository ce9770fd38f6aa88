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
from datetime import datetime
from typing import Any

from ec2asr.testing.emulator import asr_errors
from ec2asr.testing.emulator.arm import SENTINEL_TIME, format_time, stable_guid
from ec2asr.testing.emulator.models import Reachability
from ec2asr.testing.emulator.replication import RecoveryPointTime, Replication
from ec2asr.testing.emulator.state import (
    AGENT_VERSION,
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
    "cancelling": ("CancelFailoverStatesBegin", "Cancelling failover"),
    "disabling": ("DisablingProtection", "Disabling protection"),
}
TEST_FAILOVER_STATES: dict[str, tuple[str, str]] = {
    "none": ("None", "None"),
    "running": ("TestFailoverInitiated", "Test failover in progress"),
    "done": ("TestFailoverCompleted", "Test failover completed"),
    "failed": ("TestFailoverFailed", "Test failover failed"),
    "cleaning": ("MarkedForDeletion", "Cleaning up test environment"),
}
REPLICATING_PHASES = frozenset({"initial_replication", "protected", "failover_failed"})


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
    def sample(self, now: datetime, oracle: Callable[[ProtectedItem], Reachability]) -> None:
        """Bring replication up to ``now`` (see :mod:`ec2asr.testing.emulator.replication`)."""
        if self.replication is None:
            return
        if self.phase in REPLICATING_PHASES:
            self.connectivity = oracle(self)
        self.replication.sample(now, self.connectivity.open)
        if self.phase == "initial_replication" and self.replication.completed is not None:
            self.phase = "protected"

    def start_replication(
        self, when: datetime, bytes_per_second: float, crash_minutes: int
    ) -> None:
        """Initial replication starts (the enable job finished)."""
        self.replication = Replication(
            total_bytes=sum(d.capacity_bytes for d in self.disks),
            bytes_per_second=bytes_per_second,
            started=when,
            crash_minutes=self.policy.crash_consistent_minutes or crash_minutes,
            app_minutes=self.policy.app_consistent_minutes,
            retention_minutes=self.policy.recovery_point_history_minutes,
        )
        self.phase = "initial_replication"

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
        pending_cleanup = self.test_failover == "done"
        test_op = "TestFailoverCleanup" if pending_cleanup else "TestFailover"
        if self.phase in ("protected", "failover_failed"):
            return ["UnplannedFailover", "DisableProtection", test_op]
        if self.phase == "failed_over":
            return ["Commit", "ChangePit", "CancelFailover", "DisableProtection"]
        if self.phase in ("committed", "enable_failed", "initial_replication"):
            return ["DisableProtection"]
        return []

    # -- rendering ------------------------------------------------------------------------
    def health_errors(self, now: datetime) -> list[dict[str, Any]]:
        """The item's current health errors."""
        errors: list[dict[str, Any]] = []
        appliance = self.fabric.appliance_by_process_server(self.process_server_id)
        created = format_time(now) or ""
        if self.phase in REPLICATING_PHASES and not self.connectivity.open and appliance:
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
        state, description = PHASES[self.phase]
        tfo_state, tfo_description = TEST_FAILOVER_STATES[self.test_failover]
        errors = self.health_errors(now)
        critical = any(e["errorLevel"] == "Error" for e in errors)
        job = self.vault.jobs.get(self.current_job) if self.current_job else None
        running = job is not None and job.state_at(now) in ("InProgress", "Suspended")
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
            "providerSpecificDetails": self._provider_details(now),
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

    def _provider_details(self, now: datetime) -> dict[str, Any]:
        spec = self.machine.spec
        repl = self.replication
        latest = self.latest_point(now)
        in_ir = self.phase == "initial_replication"
        replicating = self.phase in REPLICATING_PHASES
        progress_health = "None"
        if in_ir:
            progress_health = "InProgress" if self.connectivity.open else "NoProgress"
        site = self.machine
        details: dict[str, Any] = {
            "instanceType": "InMageRcm",
            "internalIdentifier": self.internal_id,
            "fabricDiscoveryMachineId": self.settings["fabricDiscoveryMachineId"],
            "multiVmGroupName": self.settings.get("multiVmGroupName"),
            "discoveryType": "PhysicalServer",
            "processServerId": self.process_server_id,
            "processorCoreCount": spec.cpu_cores,
            "allocatedMemoryInMB": float(spec.memory_mb),
            "processServerName": self._appliance_name(),
            "runAsAccountId": self.run_as_account_id,
            "osType": "Windows" if spec.os_type == "windows" else "Linux",
            "firmwareType": spec.firmware,
            "primaryNicIpAddress": spec.private_ips[0] if spec.private_ips else None,
            "targetGeneration": "V2" if spec.firmware == "UEFI" else "V1",
            "licenseType": self.settings.get("licenseType", "NotSpecified"),
            "linuxLicenseType": self.settings.get("linuxLicenseType", "NotSpecified"),
            "storageAccountId": None,
            "targetVmName": self.target_vm_name,
            "targetVmSize": self.settings.get("targetVmSize"),
            "targetResourceGroupId": self.settings["targetResourceGroupId"],
            "targetLocation": self.vault.location,
            "targetAvailabilitySetId": self.settings.get("targetAvailabilitySetId", ""),
            "targetAvailabilityZone": self.settings.get("targetAvailabilityZone", ""),
            "targetProximityPlacementGroupId": self.settings.get(
                "targetProximityPlacementGroupId", ""
            ),
            "targetBootDiagnosticsStorageAccountId": self.settings.get(
                "targetBootDiagnosticsStorageAccountId"
            ),
            "targetNetworkId": self.settings.get("targetNetworkId"),
            "testNetworkId": self.settings.get("testNetworkId"),
            "failoverRecoveryPointId": self.failover_recovery_point,
            "lastRecoveryPointReceived": format_time(latest.time) if latest else None,
            "lastRpoInSeconds": (
                int((now - latest.time).total_seconds()) if latest and replicating else None
            ),
            "lastRpoCalculatedTime": format_time(now) if latest and replicating else None,
            "lastRecoveryPointId": self.point_id(latest.time) if latest else None,
            "initialReplicationProgressPercentage": repl.progress_percentage if repl else None,
            "initialReplicationProcessedBytes": int(repl.transferred) if repl else None,
            "initialReplicationTransferredBytes": int(repl.transferred) if repl else None,
            "initialReplicationProgressHealth": progress_health,
            "resyncProgressPercentage": None,
            "resyncProcessedBytes": None,
            "resyncTransferredBytes": None,
            "resyncProgressHealth": "None",
            "resyncRequired": "false",
            "resyncState": "None",
            "agentUpgradeState": "None",
            "lastAgentUpgradeType": None,
            "agentUpgradeJobId": None,
            "agentUpgradeAttemptToVersion": None,
            "protectedDisks": [self._disk_json(d, now) for d in self.disks],
            "unprotectedDisks": self._unprotected_disks(),
            "isLastUpgradeSuccessful": "false",
            "isAgentRegistrationSuccessfulAfterFailover": None,
            "mobilityAgentDetails": self._agent_details(now),
            "lastAgentUpgradeErrorDetails": [],
            "agentUpgradeBlockingErrorDetails": [],
            "vmNics": [self._nic_json(i, ip) for i, ip in enumerate(spec.private_ips)],
            "discoveredVmDetails": {
                "ipAddresses": list(spec.private_ips),
                "vmFqdn": spec.resolved_fqdn,
                "osName": spec.os_name,
                "powerStatus": "ON",
                "createdTimestamp": format_time(site.discovered_at),
                "updatedTimestamp": format_time(site.updated_at),
                "isDeleted": False,
                "lastDiscoveryTimeInUtc": format_time(site.updated_at),
            },
            "targetVmTags": self.settings.get("targetVmTags") or [],
            "seedManagedDiskTags": self.settings.get("seedManagedDiskTags"),
            "targetManagedDiskTags": self.settings.get("targetManagedDiskTags"),
            "targetNicTags": self.settings.get("targetNicTags"),
            "sqlServerLicenseType": self.settings.get("sqlServerLicenseType", "NotSpecified"),
            "supportedOSVersions": None,
            "osName": spec.os_name,
        }
        if "targetVmSecurityProfile" in self.settings:
            details["targetVmSecurityProfile"] = self.settings["targetVmSecurityProfile"]
        return details

    def _appliance_name(self) -> str | None:
        appliance = self.fabric.appliance_by_process_server(self.process_server_id)
        return appliance.info.name if appliance else None

    def _agent_details(self, now: datetime) -> dict[str, Any]:
        registered = self.machine.agent_registered
        return {
            "version": AGENT_VERSION if registered else None,
            "latestVersion": AGENT_VERSION,
            "driverVersion": AGENT_VERSION if registered else None,
            "lastHeartbeatUtc": format_time(now) if registered else None,
            "reasonsBlockingUpgrade": ["AlreadyOnLatestVersion"] if registered else [],
            "isUpgradeable": "false",
            "osFamilyName": "Windows" if self.machine.spec.os_type == "windows" else "Linux",
        }

    def _disk_json(self, disk: ProtectedDisk, now: datetime) -> dict[str, Any]:
        repl = self.replication
        share = disk.capacity_bytes / max(1, sum(d.capacity_bytes for d in self.disks))
        transferred = int(repl.transferred * share) if repl else 0
        complete = repl is not None and repl.completed is not None
        state = "Protected" if complete else "InitialReplicationPending"
        body: dict[str, Any] = {
            "diskId": disk.disk_id,
            "diskName": disk.name,
            "isOSDisk": "true" if disk.is_os else "false",
            "capacityInBytes": disk.capacity_bytes,
            "diskState": state,
            "logStorageAccountId": disk.log_storage_account_id,
            "diskEncryptionSetId": disk.disk_encryption_set_id,
            "seedManagedDiskId": None,
            "targetManagedDiskId": None,
            "diskType": disk.disk_type,
            "dataPendingInLogDataStoreInMB": 0.0,
            "dataPendingAtSourceAgentInMB": 0.0,
            "isInitialReplicationComplete": "true" if complete else "false",
            "sectorSizeInBytes": 512,
            "diskSizeInGB": disk.capacity_bytes // 1024**3,
        }
        if repl is not None:
            body["irDetails"] = {
                "progressHealth": "None"
                if complete
                else ("InProgress" if self.connectivity.open else "NoProgress"),
                "transferredBytes": transferred,
                "last15MinutesTransferredBytes": 0,
                "lastDataTransferTimeUtc": format_time(repl.last_sample),
                "processedBytes": transferred,
                "startTime": format_time(repl.started),
                "lastRefreshTime": format_time(now),
                "progressPercentage": repl.progress_percentage,
            }
        return body

    def _unprotected_disks(self) -> list[dict[str, Any]]:
        chosen = {d.disk_id for d in self.disks}
        spec = self.machine.spec
        return [
            {
                "diskId": spec.disk_id(d),
                "diskName": d.device_name,
                "capacityInBytes": d.size_gib * 1024**3,
            }
            for d in spec.disks
            if spec.disk_id(d) not in chosen
        ]

    def _nic_json(self, index: int, ip: str) -> dict[str, Any]:
        nics = {n.get("nicId"): n for n in self.settings.get("vmNics") or []}
        nic_id = stable_guid("nic", self.machine.spec.instance_id, str(index))
        chosen = nics.get(nic_id, {})
        return {
            "nicId": nic_id,
            "isPrimaryNic": "true" if index == 0 else "false",
            "isSelectedForFailover": chosen.get("isSelectedForFailover", "true"),
            "sourceIPAddress": ip,
            "sourceIPAddressType": "Dynamic",
            "sourceNetworkId": None,
            "sourceSubnetName": None,
            "targetIPAddress": chosen.get("targetStaticIPAddress"),
            "targetIPAddressType": "Static" if chosen.get("targetStaticIPAddress") else "Dynamic",
            "targetSubnetName": chosen.get(
                "targetSubnetName", self.settings.get("targetSubnetName")
            ),
            "testSubnetName": chosen.get("testSubnetName", self.settings.get("testSubnetName")),
            "testIPAddress": chosen.get("testStaticIPAddress"),
            "testIPAddressType": "Static" if chosen.get("testStaticIPAddress") else "Dynamic",
            "targetNicName": chosen.get("targetNicName"),
        }
