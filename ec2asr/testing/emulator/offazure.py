"""``Microsoft.OffAzure`` server sites: the machines the appliance discovered, and its run-as
accounts.

The fabric's ``physicalSiteId`` names the site. ``{site}/machines`` is an ARM list
(``{value, nextLink}``; the next page is asked for with ``continuationToken``). Every field is
one of the OffAzure 2023-06-06 spec's ``Server``/``ServerProperties``/``ServerDisk``/
``ServerNetworkAdapter`` definitions (Azure/azure-rest-api-specs,
``specification/migrate/resource-manager/Microsoft.OffAzure/stable/2023-06-06/migrate.json``;
``tests/contract/offazure_spec.py`` encodes them and validates every answer).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from ec2asr.testing.emulator.arm import (
    ArmError,
    decode_token,
    encode_token,
    format_time,
    not_found,
    page,
    stable_guid,
)
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import DiscoveredMachine, Fabric, RunAsAccount, VaultState

__all__ = ["ROUTES", "machine_id", "machine_json", "run_as_account_id"]


def _site_prefix(vault: VaultState, fabric: Fabric) -> str:
    return (
        f"/subscriptions/{vault.subscription_id}/resourceGroups/{vault.resource_group}"
        f"/providers/Microsoft.OffAzure/serversites/{fabric.site_name}"
    )


def run_as_account_id(vault: VaultState, fabric: Fabric, account: RunAsAccount) -> str:
    """The ARM id of a run-as account (the ``runAsAccountId`` enable replication takes)."""
    return f"{_site_prefix(vault, fabric)}/runasaccounts/{account.name}"


def machine_id(vault: VaultState, fabric: Fabric, machine: DiscoveredMachine) -> str:
    """The ARM id of a discovered machine (the ``fabricDiscoveryMachineId``)."""
    return f"{_site_prefix(vault, fabric)}/machines/{machine.name}"


def machine_json(vault: VaultState, fabric: Fabric, machine: DiscoveredMachine) -> dict[str, Any]:
    """A discovered machine as OffAzure returns it."""
    spec = machine.spec
    windows = spec.os_type == "windows"
    macs = list(spec.mac_addresses) or [
        ":".join(
            stable_guid("mac", spec.instance_id, ip).replace("-", "")[i : i + 2]
            for i in range(0, 12, 2)
        ).upper()
        for ip in spec.private_ips
    ]
    disks = []
    for index, disk in enumerate(spec.disks):
        path = f"\\\\.\\PHYSICALDRIVE{index}" if windows else disk.device_name
        disks.append(
            {
                "id": path,
                "generatedId": spec.disk_id(disk),
                "name": spec.disk_id(disk),
                "path": path,
                "maxSizeInBytes": disk.size_gib * 1024**3,
                "diskType": "Basic",
                "lun": index,
            }
        )
    run_as = fabric.run_as_accounts.get((machine.run_as_account or "").lower())
    run_as_id = run_as_account_id(vault, fabric, run_as) if run_as else None
    appliance_names = [a.info.name for a in fabric.appliances.values()]
    os_details = {
        "osType": "WindowsGuest" if windows else "LinuxGuest",
        "osName": spec.os_name,
        "osVersion": spec.os_version,
        "osArchitecture": "x64",
    }
    return {
        "id": machine_id(vault, fabric, machine),
        "name": machine.name,
        "type": "Microsoft.OffAzure/serversites/machines",
        "properties": {
            "displayName": spec.hostname,
            "fqdn": spec.resolved_fqdn,
            "hydratedFqdn": spec.resolved_fqdn,
            "biosGuid": spec.resolved_bios_guid,
            "biosSerialNumber": None,
            "firmware": spec.firmware,
            "numberOfProcessorCore": spec.cpu_cores,
            "allocatedMemoryInMb": float(spec.memory_mb),
            "operatingSystemDetails": os_details,
            "guestOsDetails": dict(os_details),
            "disks": disks,
            "networkAdapters": [
                {
                    "nicId": f"eth{index}" if not windows else f"Ethernet {index}",
                    "macAddress": macs[index] if index < len(macs) else None,
                    "ipAddressList": [ip],
                    "networkName": f"eth{index}" if not windows else f"Ethernet {index}",
                    "ipAddressType": "Dynamic",
                }
                for index, ip in enumerate(spec.private_ips)
            ],
            "applianceNames": appliance_names,
            "runAsAccountId": run_as_id,
            "provisioningState": "Succeeded",
            "errors": [],
            "isDeleted": False,
            "isGuestDetailsDiscoveryInProgress": False,
            "createdTimestamp": format_time(machine.discovered_at),
            "updatedTimestamp": format_time(machine.updated_at),
            "tags": {},
        },
    }


def _run_as_json(vault: VaultState, fabric: Fabric, account: RunAsAccount) -> dict[str, Any]:
    return {
        "id": run_as_account_id(vault, fabric, account),
        "name": account.name,
        "type": "Microsoft.OffAzure/serversites/runasaccounts",
        "properties": {
            "displayName": account.display_name,
            "credentialType": account.credential_type,
            "createdTimestamp": format_time(account.created),
            "updatedTimestamp": format_time(account.created),
            "applianceName": account.appliance_name,
            "provisioningState": "Succeeded",
        },
    }


def _site(ctx: Context) -> tuple[VaultState, Fabric]:
    found = ctx.emulator.store.find_site(
        ctx.params["subscriptionId"], ctx.params["resourceGroupName"], ctx.params["siteName"]
    )
    if found is None:
        raise ArmError(
            404,
            "ResourceNotFound",
            (
                f"The Resource 'Microsoft.OffAzure/ServerSites/{ctx.params['siteName']}' under "
                f"resource group '{ctx.params['resourceGroupName']}' was not found."
            ),
        )
    return found


def get_site(ctx: Context) -> Response:
    """GET the server site."""
    vault, fabric = _site(ctx)
    return Response(
        200,
        {
            "id": (
                f"/subscriptions/{vault.subscription_id}/resourceGroups/{vault.resource_group}"
                f"/providers/Microsoft.OffAzure/ServerSites/{fabric.site_name}"
            ),
            "name": fabric.site_name,
            "type": "Microsoft.OffAzure/ServerSites",
            "location": vault.location,
            "properties": {
                "applianceName": ", ".join(a.info.name for a in fabric.appliances.values()),
                "discoverySolutionId": stable_guid("discovery-solution", fabric.internal_id),
                "provisioningState": "Succeeded",
            },
        },
    )


def list_machines(ctx: Context) -> Response:
    """GET ``{site}/machines`` (paged with ``continuationToken``)."""
    vault, fabric = _site(ctx)
    machines = list(fabric.machines.values())
    token = ctx.request.query.get("continuationToken")
    offset = decode_token(token) if token else 0
    size = ctx.emulator.page_size
    rendered = [machine_json(vault, fabric, m) for m in machines[offset : offset + size]]
    next_url = None
    if offset + size < len(machines):
        api = ctx.request.query.get("api-version", "2023-06-06")
        query = urllib.parse.urlencode(
            {"api-version": api, "continuationToken": encode_token(offset + size)}
        )
        next_url = f"{ctx.base_url}{_site_prefix(vault, fabric)}/machines?{query}"
    return Response(200, page(rendered, offset=0, size=size, next_url=next_url))


def get_machine(ctx: Context) -> Response:
    """GET one machine."""
    vault, fabric = _site(ctx)
    machine = fabric.machines.get(ctx.params["machineName"].lower())
    if machine is None:
        raise not_found("machine", ctx.params["machineName"])
    return Response(200, machine_json(vault, fabric, machine))


def list_run_as_accounts(ctx: Context) -> Response:
    """GET the site's run-as accounts."""
    vault, fabric = _site(ctx)
    return Response(
        200, {"value": [_run_as_json(vault, fabric, a) for a in fabric.run_as_accounts.values()]}
    )


def get_run_as_account(ctx: Context) -> Response:
    """GET one run-as account."""
    vault, fabric = _site(ctx)
    account = fabric.run_as_accounts.get(ctx.params["accountName"].lower())
    if account is None:
        raise not_found("run-as account", ctx.params["accountName"])
    return Response(200, _run_as_json(vault, fabric, account))


ROUTES = [
    Route("GET", "SITE", "ServerSitesController_Get", get_site, "offazure"),
    Route(
        "GET",
        "SITE/machines",
        "ServersController_ListByServerSiteResource",
        list_machines,
        "offazure",
    ),
    Route(
        "GET",
        "SITE/machines/{machineName}",
        "ServersController_GetMachine",
        get_machine,
        "offazure",
    ),
    Route(
        "GET",
        "SITE/runAsAccounts",
        "ServerRunAsAccountsController_ListByServerSiteResource",
        list_run_as_accounts,
        "offazure",
    ),
    Route(
        "GET",
        "SITE/runAsAccounts/{accountName}",
        "ServerRunAsAccountsController_Get",
        get_run_as_account,
        "offazure",
    ),
]
