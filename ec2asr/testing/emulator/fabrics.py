"""The InMageRcm fabric of a registered appliance: fabrics, appliances and protection containers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ec2asr.testing.emulator.arm import format_time, not_found, stable_guid
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import (
    APPLIANCE_VERSIONS,
    Appliance,
    Container,
    Fabric,
    VaultState,
)

__all__ = ["ROUTES", "container_json", "fabric_json", "process_server"]

_FABRIC_TYPE = "Microsoft.RecoveryServices/vaults/replicationFabrics"
_CONTAINER_TYPE = (
    "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers"
)


def site_id(vault: VaultState, fabric: Fabric) -> str:
    """The fabric's Microsoft.OffAzure server-site id (``physicalSiteId``)."""
    return (
        f"/subscriptions/{vault.subscription_id}/resourceGroups/{vault.resource_group}"
        f"/providers/Microsoft.OffAzure/ServerSites/{fabric.site_name}"
    )


def vmware_site_id(vault: VaultState, fabric: Fabric) -> str:
    """The fabric's ``vmwareSiteId``: the appliance's Microsoft.OffAzure VMware site.

    ``InMageRcmFabricSpecificDetails`` carries both ``vmwareSiteId`` and ``physicalSiteId``
    (service.json 2025-08-01); ec2asr reads machines from the physical (server) site only. The
    VMware site's name is an assumption (docs/sandbox.md).
    """
    return (
        f"/subscriptions/{vault.subscription_id}/resourceGroups/{vault.resource_group}"
        f"/providers/Microsoft.OffAzure/VMwareSites/{fabric.site_name}-vmware"
    )


def _component(appliance: Appliance, key: str, now: datetime, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": stable_guid(key, appliance.info.appliance_id)
        if key != "processServer"
        else appliance.info.appliance_id,
        "name": appliance.info.name,
        "biosId": appliance.bios_id,
        "fabricObjectId": None,
        "fqdn": appliance.fqdn,
        "version": APPLIANCE_VERSIONS[key],
        "lastHeartbeatUtc": format_time(now),
        "health": "Normal",
        "healthErrors": [],
    }
    body.update(extra)
    if key == "dra":
        body.pop("fqdn")
        body.pop("fabricObjectId")
    return body


def process_server(appliance: Appliance, fabric: Fabric, now: datetime) -> dict[str, Any]:
    items = sum(
        1
        for c in fabric.containers.values()
        for i in c.items.values()
        if i.process_server_id.lower() == appliance.info.appliance_id.lower()
    )
    total_mem, used_mem = 39727841280, 25533083591
    total_space, used_space = 665717829632, 5313754112
    return _component(
        appliance,
        "processServer",
        now,
        ipAddresses=[appliance.info.private_ip],
        totalMemoryInBytes=total_mem,
        availableMemoryInBytes=total_mem - used_mem,
        usedMemoryInBytes=used_mem,
        memoryUsagePercentage=round(used_mem * 100 / total_mem, 2),
        totalSpaceInBytes=total_space,
        availableSpaceInBytes=total_space - used_space,
        usedSpaceInBytes=used_space,
        freeSpacePercentage=round((total_space - used_space) * 100 / total_space, 2),
        throughputUploadPendingDataInBytes=0,
        throughputInBytes=0,
        processorUsagePercentage=0.0,
        throughputStatus="Healthy",
        systemLoad=0,
        systemLoadStatus="Healthy",
        diskUsageStatus="Healthy",
        memoryUsageStatus="Healthy",
        processorUsageStatus="Healthy",
        protectedItemCount=items,
        historicHealth="Normal",
    )


def _agent_details(fabric: Fabric) -> list[dict[str, Any]]:
    agents = []
    for machine in fabric.machines.values():
        if not machine.agent_registered:
            continue
        spec = machine.spec
        agents.append(
            {
                "agentId": stable_guid("agent", spec.instance_id),
                "machineId": machine.name,
                "biosId": spec.resolved_bios_guid,
                "fqdn": spec.resolved_fqdn,
                "disks": [
                    {
                        "diskId": spec.disk_id(d),
                        "diskName": d.device_name,
                        "isOSDisk": "true" if d.is_os else "false",
                        "capacityInBytes": d.size_gib * 1024**3,
                        "lunId": index,
                    }
                    for index, d in enumerate(spec.disks)
                ],
            }
        )
    return agents


def fabric_json(vault: VaultState, fabric: Fabric, now: datetime) -> dict[str, Any]:
    """The InMageRcm fabric as ASR returns it."""
    appliances = list(fabric.appliances.values())
    region = vault.location
    stamp = f"https://{region}-rcm.hypervrecoverymanager.windowsazure.com"
    details = {
        "instanceType": "InMageRcm",
        "vmwareSiteId": vmware_site_id(vault, fabric),
        "physicalSiteId": site_id(vault, fabric),
        "serviceEndpoint": stamp,
        "serviceResourceId": stable_guid("service-resource", fabric.internal_id),
        "serviceContainerId": stable_guid("service-container", fabric.internal_id),
        "dataPlaneUri": f"https://{region}-rcm.backup.windowsazure.com",
        "controlPlaneUri": stamp,
        "sourceAgentIdentityDetails": {
            "tenantId": stable_guid("tenant", vault.subscription_id),
            "applicationId": stable_guid("source-agent-app", fabric.internal_id),
            "objectId": stable_guid("source-agent-object", fabric.internal_id),
            "audience": stable_guid("source-agent-audience", fabric.internal_id),
            "aadAuthority": (
                f"https://login.microsoftonline.com/{stable_guid('tenant', vault.subscription_id)}"
            ),
        },
        "processServers": [process_server(a, fabric, now) for a in appliances],
        "rcmProxies": [
            _component(a, "rcmProxy", now, clientAuthenticationType="Certificate")
            for a in appliances
        ],
        "pushInstallers": [_component(a, "pushInstaller", now) for a in appliances],
        "replicationAgents": [_component(a, "replicationAgent", now) for a in appliances],
        "reprotectAgents": [
            _component(a, "reprotectAgent", now, accessibleDatastores=[], vcenterId=None)
            for a in appliances
        ],
        "marsAgents": [_component(a, "marsAgent", now) for a in appliances],
        "dras": [_component(a, "dra", now) for a in appliances],
        "agentDetails": _agent_details(fabric),
    }
    return {
        "name": fabric.name,
        "type": _FABRIC_TYPE,
        "id": f"{vault.asr_id}/replicationFabrics/{fabric.name}",
        "properties": {
            "friendlyName": fabric.name,
            "encryptionDetails": {"kekState": "None"},
            "rolloverEncryptionDetails": {"kekState": "None"},
            "internalIdentifier": fabric.internal_id,
            "bcdrState": "Valid",
            "customDetails": details,
            "healthErrorDetails": [],
            "health": "Normal",
        },
    }


def container_json(
    vault: VaultState, container: Container, *, short_type: bool = False
) -> dict[str, Any]:
    """A protection container (``short_type`` for the vault-wide list, as ASR does)."""
    return {
        "name": container.name,
        "type": (
            "Microsoft.RecoveryServices/vaults/replicationProtectionContainers"
            if short_type
            else _CONTAINER_TYPE
        ),
        "id": f"{vault.asr_id}/replicationFabrics/{container.fabric_name}"
        f"/replicationProtectionContainers/{container.name}",
        "properties": {
            "fabricFriendlyName": container.fabric_name,
            "friendlyName": container.name,
            "fabricType": "InMageRcm",
            "protectedItemCount": len(container.items),
            "pairingStatus": "Paired" if container.mappings else "NotPaired",
            "role": "Primary",
            "fabricSpecificDetails": {"instanceType": "InMageRcm"},
        },
    }


def get_fabric_of(ctx: Context) -> tuple[VaultState, Fabric]:
    """The vault and the fabric named in the path.

    Raises:
        ArmError: 404 when either is missing.
    """
    vault = ctx.vault()
    fabric = vault.fabrics.get(ctx.params["fabricName"].lower())
    if fabric is None:
        raise not_found("fabric", ctx.params["fabricName"])
    return vault, fabric


def get_container_of(ctx: Context) -> tuple[VaultState, Fabric, Container]:
    """The vault, fabric and protection container named in the path.

    Raises:
        ArmError: 404 when one is missing.
    """
    vault, fabric = get_fabric_of(ctx)
    container = fabric.containers.get(ctx.params["protectionContainerName"].lower())
    if container is None:
        raise not_found("protection container", ctx.params["protectionContainerName"])
    return vault, fabric, container


def get_fabric(ctx: Context) -> Response:
    """GET a fabric (ReplicationFabrics_Get)."""
    vault, fabric = get_fabric_of(ctx)
    return Response(200, fabric_json(vault, fabric, ctx.now))


def list_fabrics(ctx: Context) -> Response:
    """GET the vault's fabrics (ReplicationFabrics_List)."""
    vault = ctx.vault()
    return Response(
        200, {"value": [fabric_json(vault, f, ctx.now) for f in vault.fabrics.values()]}
    )


def list_appliances(ctx: Context) -> Response:
    """GET ``replicationAppliances``: one entry per InMageRcm fabric, listing its appliances."""
    vault = ctx.vault()
    values = []
    for fabric in vault.fabrics.values():
        fabric_id = f"{vault.asr_id}/replicationFabrics/{fabric.name}"
        appliances = []
        for appliance in fabric.appliances.values():
            now = ctx.now
            appliances.append(
                {
                    "id": appliance.info.appliance_id,
                    "name": appliance.info.name,
                    "fabricArmId": fabric_id,
                    "processServer": process_server(appliance, fabric, now),
                    "rcmProxy": _component(
                        appliance, "rcmProxy", now, clientAuthenticationType="Certificate"
                    ),
                    "pushInstaller": _component(appliance, "pushInstaller", now),
                    "replicationAgent": _component(appliance, "replicationAgent", now),
                    "reprotectAgent": _component(
                        appliance, "reprotectAgent", now, accessibleDatastores=[], vcenterId=None
                    ),
                    "marsAgent": _component(appliance, "marsAgent", now),
                    "dra": _component(appliance, "dra", now),
                    "switchProviderBlockingErrorDetails": [],
                }
            )
        values.append(
            {
                "properties": {
                    "providerSpecificDetails": {
                        "instanceType": "InMageRcm",
                        "appliances": appliances,
                    }
                }
            }
        )
    return Response(200, {"value": values})


def get_container(ctx: Context) -> Response:
    """GET a protection container."""
    vault, _, container = get_container_of(ctx)
    return Response(200, container_json(vault, container))


def list_containers_by_fabric(ctx: Context) -> Response:
    """GET the containers of a fabric."""
    vault, fabric = get_fabric_of(ctx)
    return Response(200, {"value": [container_json(vault, c) for c in fabric.containers.values()]})


def list_containers(ctx: Context) -> Response:
    """GET every container of the vault (short resource type, as ASR answers)."""
    vault = ctx.vault()
    values = [
        container_json(vault, c, short_type=True)
        for f in vault.fabrics.values()
        for c in f.containers.values()
    ]
    return Response(200, {"value": values})


ROUTES = [
    Route("GET", "VAULT/replicationFabrics", "ReplicationFabrics_List", list_fabrics),
    Route("GET", "VAULT/replicationFabrics/{fabricName}", "ReplicationFabrics_Get", get_fabric),
    Route("GET", "VAULT/replicationAppliances", "ReplicationAppliances_List", list_appliances),
    Route(
        "GET",
        "VAULT/replicationFabrics/{fabricName}/replicationProtectionContainers",
        "ReplicationProtectionContainers_ListByReplicationFabrics",
        list_containers_by_fabric,
    ),
    Route(
        "GET",
        "VAULT/replicationFabrics/{fabricName}/replicationProtectionContainers/{protectionContainerName}",
        "ReplicationProtectionContainers_Get",
        get_container,
    ),
    Route(
        "GET",
        "VAULT/replicationProtectionContainers",
        "ReplicationProtectionContainers_List",
        list_containers,
    ),
]
