"""Recovery services providers (the appliance's DRA) and the vault health summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ec2asr.testing.emulator.arm import format_time, not_found, stable_guid
from ec2asr.testing.emulator.fabrics import get_fabric_of
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import APPLIANCE_VERSIONS, Appliance, Fabric, VaultState

__all__ = ["ROUTES"]

_FABRIC_TYPE = "Microsoft.RecoveryServices/vaults/replicationFabrics"


def _provider_json(
    vault: VaultState, fabric: Fabric, appliance: Appliance, now: datetime
) -> dict[str, Any]:
    items = sum(
        1
        for c in fabric.containers.values()
        for i in c.items.values()
        if i.process_server_id.lower() == appliance.info.appliance_id.lower()
    )
    name = appliance.info.appliance_id
    return {
        "name": name,
        "type": f"{_FABRIC_TYPE}/replicationRecoveryServicesProviders",
        "id": (
            f"{vault.asr_id}/replicationFabrics/{fabric.name}"
            f"/replicationRecoveryServicesProviders/{name}"
        ),
        "properties": {
            "fabricType": "InMageRcm",
            "friendlyName": appliance.info.name,
            "providerVersion": APPLIANCE_VERSIONS["dra"],
            "serverVersion": APPLIANCE_VERSIONS["processServer"],
            "providerVersionState": "Latest",
            "fabricFriendlyName": fabric.name,
            "lastHeartBeat": format_time(now),
            "connectionStatus": "Connected",
            "protectedItemCount": items,
            "allowedScenarios": ["Refresh"],
            "healthErrorDetails": [],
            "draIdentifier": stable_guid("dra", appliance.info.appliance_id),
            "machineId": appliance.info.appliance_id,
            "machineName": appliance.info.name,
            "biosId": appliance.bios_id,
            "providerVersionDetails": {"version": APPLIANCE_VERSIONS["dra"], "status": "Supported"},
        },
    }


def get_provider(ctx: Context) -> Response:
    """GET a recovery services provider (the appliance's DRA)."""
    vault, fabric = get_fabric_of(ctx)
    appliance = fabric.appliance_by_process_server(ctx.params["providerName"])
    if appliance is None:
        raise not_found("recovery services provider", ctx.params["providerName"])
    return Response(200, _provider_json(vault, fabric, appliance, ctx.now))


def list_providers_by_fabric(ctx: Context) -> Response:
    """GET the providers of a fabric."""
    vault, fabric = get_fabric_of(ctx)
    values = [_provider_json(vault, fabric, a, ctx.now) for a in fabric.appliances.values()]
    return Response(200, {"value": values})


def list_providers(ctx: Context) -> Response:
    """GET every provider of the vault."""
    vault = ctx.vault()
    values = [
        _provider_json(vault, f, a, ctx.now)
        for f in vault.fabrics.values()
        for a in f.appliances.values()
    ]
    return Response(200, {"value": values})


def get_vault_health(ctx: Context) -> Response:
    """GET ``replicationVaultHealth``: counts and issues of fabrics, items and containers."""
    vault = ctx.vault()
    emulator = ctx.emulator
    items = vault.items()
    issues: dict[str, list[str]] = {}
    for item in items:
        emulator.sample_item(item, ctx.now)
        for error in item.health_errors(ctx.now):
            if error["errorLevel"] == "Error":
                issues.setdefault(error["errorCode"], []).append(item.internal_id)
    item_issues = [
        {
            "summaryCode": code,
            "category": "Replication",
            "severity": "Error",
            "summaryMessage": "Process server not reachable from the source machine",
            "affectedResourceType": "replicationProtectedItems",
            "affectedResourceSubtype": "",
            "affectedResourceCorrelationIds": ids,
        }
        for code, ids in issues.items()
    ]
    containers = [c for f in vault.fabrics.values() for c in f.containers.values()]
    return Response(
        200,
        {
            "name": "Default",
            "type": "Microsoft.RecoveryServices/vaults/replicationVaultHealth",
            "id": f"{vault.asr_id}/replicationVaultHealth/Default",
            "properties": {
                "vaultErrors": [],
                "protectedItemsHealth": {"resourceCount": len(items), "issues": item_issues},
                "fabricsHealth": {"resourceCount": len(vault.fabrics), "issues": []},
                "containersHealth": {"resourceCount": len(containers), "issues": []},
            },
        },
    )


ROUTES = [
    Route(
        "GET",
        "VAULT/replicationFabrics/{fabricName}/replicationRecoveryServicesProviders",
        "ReplicationRecoveryServicesProviders_ListByReplicationFabrics",
        list_providers_by_fabric,
    ),
    Route(
        "GET",
        "VAULT/replicationFabrics/{fabricName}/replicationRecoveryServicesProviders/{providerName}",
        "ReplicationRecoveryServicesProviders_Get",
        get_provider,
    ),
    Route(
        "GET",
        "VAULT/replicationRecoveryServicesProviders",
        "ReplicationRecoveryServicesProviders_List",
        list_providers,
    ),
    Route("GET", "VAULT/replicationVaultHealth", "ReplicationVaultHealth_Get", get_vault_health),
]
