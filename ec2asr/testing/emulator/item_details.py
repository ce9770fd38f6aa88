"""A protected item's InMageRcm ``providerSpecificDetails`` (``InMageRcmReplicationDetails``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ec2asr.testing.emulator.arm import format_time, stable_guid
from ec2asr.testing.emulator.protected_items import REPLICATING_PHASES, ProtectedDisk, ProtectedItem
from ec2asr.testing.emulator.state import AGENT_VERSION

__all__ = ["provider_details"]


def provider_details(item: ProtectedItem, now: datetime) -> dict[str, Any]:
    """``InMageRcmReplicationDetails`` of the item at ``now``."""
    spec = item.machine.spec
    repl = item.replication
    latest = item.latest_point(now)
    in_ir = item.phase == "initial_replication"
    replicating = item.phase in REPLICATING_PHASES
    progress_health = "None"
    if in_ir:
        progress_health = "InProgress" if item.data_flowing else "NoProgress"
    site = item.machine
    details: dict[str, Any] = {
        "instanceType": "InMageRcm",
        "internalIdentifier": item.internal_id,
        "fabricDiscoveryMachineId": item.settings["fabricDiscoveryMachineId"],
        "multiVmGroupName": item.settings.get("multiVmGroupName"),
        "discoveryType": "PhysicalServer",
        "processServerId": item.process_server_id,
        "processorCoreCount": spec.cpu_cores,
        "allocatedMemoryInMB": float(spec.memory_mb),
        "processServerName": _appliance_name(item),
        "runAsAccountId": item.run_as_account_id,
        "osType": "Windows" if spec.os_type == "windows" else "Linux",
        "firmwareType": spec.firmware,
        "primaryNicIpAddress": spec.private_ips[0] if spec.private_ips else None,
        "targetGeneration": "V2" if spec.firmware == "UEFI" else "V1",
        "licenseType": item.settings.get("licenseType", "NotSpecified"),
        "linuxLicenseType": item.settings.get("linuxLicenseType", "NotSpecified"),
        "storageAccountId": None,
        "targetVmName": item.target_vm_name,
        "targetVmSize": item.settings.get("targetVmSize"),
        "targetResourceGroupId": item.settings["targetResourceGroupId"],
        "targetLocation": item.vault.location,
        "targetAvailabilitySetId": item.settings.get("targetAvailabilitySetId", ""),
        "targetAvailabilityZone": item.settings.get("targetAvailabilityZone", ""),
        "targetProximityPlacementGroupId": item.settings.get("targetProximityPlacementGroupId", ""),
        "targetBootDiagnosticsStorageAccountId": item.settings.get(
            "targetBootDiagnosticsStorageAccountId"
        ),
        "targetNetworkId": item.settings.get("targetNetworkId"),
        "testNetworkId": item.settings.get("testNetworkId"),
        "failoverRecoveryPointId": item.failover_recovery_point,
        "lastRecoveryPointReceived": format_time(_received(item, latest.time, now))
        if latest
        else None,
        "lastRpoInSeconds": (
            int((now - latest.time).total_seconds()) if latest and replicating else None
        ),
        "lastRpoCalculatedTime": format_time(now) if latest and replicating else None,
        "lastRecoveryPointId": item.point_id(latest.time) if latest else None,
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
        "protectedDisks": [_disk_json(item, d, now) for d in item.disks],
        "unprotectedDisks": _unprotected_disks(item),
        "isLastUpgradeSuccessful": "false",
        "isAgentRegistrationSuccessfulAfterFailover": None,
        "mobilityAgentDetails": _agent_details(item, now),
        "lastAgentUpgradeErrorDetails": [],
        "agentUpgradeBlockingErrorDetails": [],
        "vmNics": [_nic_json(item, i, ip) for i, ip in enumerate(spec.private_ips)],
        "discoveredVmDetails": {
            "ipAddresses": list(spec.private_ips),
            "vmFqdn": spec.resolved_fqdn,
            "osName": spec.os_name,
            "powerStatus": "ON" if item.source_running else "OFF",
            "createdTimestamp": format_time(site.discovered_at),
            "updatedTimestamp": format_time(site.updated_at),
            "isDeleted": False,
            "lastDiscoveryTimeInUtc": format_time(site.updated_at),
        },
        "targetVmTags": item.settings.get("targetVmTags") or [],
        "seedManagedDiskTags": item.settings.get("seedManagedDiskTags"),
        "targetManagedDiskTags": item.settings.get("targetManagedDiskTags"),
        "targetNicTags": item.settings.get("targetNicTags"),
        "sqlServerLicenseType": item.settings.get("sqlServerLicenseType", "NotSpecified"),
        "supportedOSVersions": None,
        "osName": spec.os_name,
    }
    if "targetVmSecurityProfile" in item.settings:
        details["targetVmSecurityProfile"] = item.settings["targetVmSecurityProfile"]
    return details


def _mb(value: float) -> float:
    return round(value / 1024**2, 2)


def _received(item: ProtectedItem, point: datetime, now: datetime) -> datetime:
    """When the newest point's data reached the appliance and was processed (not the point's own
    time: that is ``recoveryPointTime`` in the recoveryPoints list)."""
    repl = item.replication
    if repl is None:
        return point
    lag = repl.processing_lag + (repl.agent_lag if repl.source_running else 0.0)
    return min(now, point + timedelta(seconds=lag))


def _heartbeat(item: ProtectedItem, now: datetime) -> datetime | None:
    """The agent's last heartbeat: while it runs and reaches the appliance, now; then the last
    time it did (a stopped source's agent heartbeats until its last upload)."""
    repl = item.replication
    if repl is None:
        return now
    return repl.last_heartbeat(now) or repl.started


def _appliance_name(item: ProtectedItem) -> str | None:
    appliance = item.fabric.appliance_by_process_server(item.process_server_id)
    return appliance.info.name if appliance else None


def _agent_details(item: ProtectedItem, now: datetime) -> dict[str, Any]:
    registered = item.machine.agent_registered
    return {
        "version": AGENT_VERSION if registered else None,
        "latestVersion": AGENT_VERSION,
        "driverVersion": AGENT_VERSION if registered else None,
        "lastHeartbeatUtc": format_time(_heartbeat(item, now)) if registered else None,
        "reasonsBlockingUpgrade": ["AlreadyOnLatestVersion"] if registered else [],
        "isUpgradeable": "false",
        "osFamilyName": "Windows" if item.machine.spec.os_type == "windows" else "Linux",
    }


def _disk_json(item: ProtectedItem, disk: ProtectedDisk, now: datetime) -> dict[str, Any]:
    repl = item.replication
    share = disk.capacity_bytes / max(1, sum(d.capacity_bytes for d in item.disks))
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
        "dataPendingInLogDataStoreInMB": _mb(repl.pending_in_log_store(now) * share)
        if repl
        else 0.0,
        "dataPendingAtSourceAgentInMB": _mb(repl.pending_at_source(now) * share) if repl else 0.0,
        "isInitialReplicationComplete": "true" if complete else "false",
        "sectorSizeInBytes": 512,
        "diskSizeInGB": disk.capacity_bytes // 1024**3,
    }
    if repl is not None:
        body["irDetails"] = {
            "progressHealth": "None"
            if complete
            else ("InProgress" if item.data_flowing else "NoProgress"),
            "transferredBytes": transferred,
            "last15MinutesTransferredBytes": 0,
            "lastDataTransferTimeUtc": format_time(repl.last_sample),
            "processedBytes": transferred,
            "startTime": format_time(repl.started),
            "lastRefreshTime": format_time(now),
            "progressPercentage": repl.progress_percentage,
        }
    return body


def _unprotected_disks(item: ProtectedItem) -> list[dict[str, Any]]:
    chosen = {d.disk_id for d in item.disks}
    spec = item.machine.spec
    return [
        {
            "diskId": spec.disk_id(d),
            "diskName": d.device_name,
            "capacityInBytes": d.size_gib * 1024**3,
        }
        for d in spec.disks
        if spec.disk_id(d) not in chosen
    ]


def _nic_json(item: ProtectedItem, index: int, ip: str) -> dict[str, Any]:
    nics = {n.get("nicId"): n for n in item.settings.get("vmNics") or []}
    nic_id = stable_guid("nic", item.machine.spec.instance_id, str(index))
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
        "targetSubnetName": chosen.get("targetSubnetName", item.settings.get("targetSubnetName")),
        "testSubnetName": chosen.get("testSubnetName", item.settings.get("testSubnetName")),
        "testIPAddress": chosen.get("testStaticIPAddress"),
        "testIPAddressType": "Static" if chosen.get("testStaticIPAddress") else "Dynamic",
        "targetNicName": chosen.get("targetNicName"),
    }
