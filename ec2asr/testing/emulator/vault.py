"""Recovery Services vaults (``Microsoft.RecoveryServices/vaults``): what
azure-mgmt-recoveryservices needs to create, read and list one.

PUT answers ``201`` with the vault the first time and ``200`` afterwards, both with
``provisioningState: Succeeded`` (the SDK's poller then finishes at once). ``sku.name``
``Standard`` is answered as ``{"name": "RS0", "tier": "Standard"}`` and the location is
normalised (``West US`` -> ``westus``), as the Recovery Services RP does.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from ec2asr.testing.emulator.arm import ArmError, arm_vault_id, format_time, stable_guid
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import VaultState

__all__ = ["ROUTES", "new_vault"]

VAULT_PATH = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.RecoveryServices/vaults/{vaultName}"
)


def _normalise_location(location: str) -> str:
    return location.replace(" ", "").lower()


def new_vault(
    subscription_id: str,
    resource_group: str,
    name: str,
    *,
    location: str,
    created: datetime,
    request: dict[str, Any] | None = None,
) -> VaultState:
    """A vault as the RP would create it from a PUT body (``request``)."""
    request = request or {"location": location, "sku": {"name": "Standard"}}
    vault = VaultState(
        subscription_id=subscription_id,
        resource_group=resource_group,
        name=name,
        location=_normalise_location(location),
        body={},
        created=created,
    )
    vault.body = _vault_body(vault, request, created)
    return vault


def _vault_body(vault: VaultState, request: dict[str, Any], now: datetime) -> dict[str, Any]:
    properties = dict(request.get("properties") or {})
    properties.setdefault("publicNetworkAccess", "Enabled")
    properties.setdefault(
        "monitoringSettings",
        {
            "azureMonitorAlertSettings": {
                "alertsForAllFailoverIssues": "Disabled",
                "alertsForAllJobFailures": "Enabled",
                "alertsForAllReplicationIssues": "Enabled",
            },
            "classicAlertSettings": {
                "alertsForCriticalOperations": "Disabled",
                "emailNotificationsForSiteRecovery": "Enabled",
            },
        },
    )
    properties.setdefault(
        "redundancySettings",
        {"crossRegionRestore": "Disabled", "standardTierStorageRedundancy": "GeoRedundant"},
    )
    properties.setdefault(
        "securitySettings",
        {
            "immutabilitySettings": {"state": "Disabled"},
            "multiUserAuthorization": "Disabled",
            "sourceScanConfiguration": {
                "sourceScanIdentity": {"operationIdentityType": "SystemAssigned"},
                "state": "Disabled",
            },
            "softDeleteSettings": {
                "enhancedSecurityState": "Enabled",
                "softDeleteRetentionPeriodInDays": 14,
                "softDeleteState": "Enabled",
            },
        },
    )
    properties.setdefault("privateEndpointConnections", [])
    properties.update(
        {
            "provisioningState": "Succeeded",
            "privateEndpointStateForBackup": "None",
            "privateEndpointStateForSiteRecovery": "None",
            "moveState": "Unknown",
            "backupStorageVersion": "Unassigned",
            "secureScore": "None",
            "bcdrSecurityLevel": "Poor",
        }
    )
    sku = dict(request.get("sku") or {})
    if sku.get("name", "").lower() in ("standard", "rs0"):
        sku = {"name": "RS0", "tier": "Standard"}
    body: dict[str, Any] = {
        "name": vault.name,
        "type": "Microsoft.RecoveryServices/vaults",
        "etag": f"W/\"datetime'{format_time(now)}'\"",
        "id": arm_vault_id(vault.subscription_id, vault.resource_group, vault.name),
        "location": vault.location,
        "properties": properties,
        "sku": sku,
        "tags": dict(request.get("tags") or {}),
        "systemData": {
            "createdBy": "ec2asr-emulator",
            "createdByType": "User",
            "createdAt": format_time(vault.created),
            "lastModifiedBy": "ec2asr-emulator",
            "lastModifiedByType": "User",
            "lastModifiedAt": format_time(now),
        },
    }
    identity = request.get("identity")
    if isinstance(identity, dict) and identity.get("type"):
        body["identity"] = {
            "type": identity["type"],
            "principalId": stable_guid("principal", body["id"]),
            "tenantId": stable_guid("tenant", vault.subscription_id),
        }
    return body


def put_vault(ctx: Context) -> Response:
    """PUT a vault (Vaults_CreateOrUpdate)."""
    body = ctx.body
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise ArmError(
            400, "LocationRequired", "The location property is required for this definition."
        )
    sku = body.get("sku")
    if not isinstance(sku, dict) or not sku.get("name"):
        raise ArmError(400, "InvalidParameter", "The sku.name property is required.")
    if str(sku["name"]).lower() not in ("standard", "rs0"):
        raise ArmError(400, "InvalidSkuName", f"The SKU '{sku['name']}' is not valid for a vault.")
    store = ctx.emulator.store
    sub, rg, name = (
        ctx.params["subscriptionId"],
        ctx.params["resourceGroupName"],
        ctx.params["vaultName"],
    )
    existing = store.find_vault(sub, rg, name)
    if existing is None:
        vault = new_vault(sub, rg, name, location=location, created=ctx.now, request=body)
        store.put_vault(vault)
        return Response(201, copy.deepcopy(vault.body))
    if _normalise_location(location) != existing.location:
        raise ArmError(
            400,
            "LocationNotAvailableForResourceGroup",
            "The location of an existing vault cannot be changed.",
        )
    existing.body = _vault_body(existing, body, ctx.now)
    return Response(200, copy.deepcopy(existing.body))


def get_vault(ctx: Context) -> Response:
    """GET a vault (Vaults_Get)."""
    vault = ctx.vault()
    return Response(200, copy.deepcopy(vault.body))


def list_vaults_rg(ctx: Context) -> Response:
    """GET the vaults of a resource group."""
    sub, rg = ctx.params["subscriptionId"].lower(), ctx.params["resourceGroupName"].lower()
    items = [
        copy.deepcopy(v.body)
        for v in ctx.emulator.store.vaults()
        if v.subscription_id.lower() == sub and v.resource_group.lower() == rg
    ]
    return Response(200, {"value": items})


def list_vaults_sub(ctx: Context) -> Response:
    """GET the vaults of a subscription."""
    sub = ctx.params["subscriptionId"].lower()
    items = [
        copy.deepcopy(v.body)
        for v in ctx.emulator.store.vaults()
        if v.subscription_id.lower() == sub
    ]
    return Response(200, {"value": items})


ROUTES = [
    Route("PUT", VAULT_PATH, "Vaults_CreateOrUpdate", put_vault, "vault", write=True),
    Route("GET", VAULT_PATH, "Vaults_Get", get_vault, "vault"),
    Route(
        "GET",
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
        "/providers/Microsoft.RecoveryServices/vaults",
        "Vaults_ListByResourceGroup",
        list_vaults_rg,
        "vault",
    ),
    Route(
        "GET",
        "/subscriptions/{subscriptionId}/providers/Microsoft.RecoveryServices/vaults",
        "Vaults_ListBySubscriptionId",
        list_vaults_sub,
        "vault",
    ),
]
