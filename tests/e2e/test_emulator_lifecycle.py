"""A whole InMageRcm migration driven by the real SDK clients through the emulator:
vault -> appliance -> policy -> mapping -> discovered machine -> protected item -> test failover
-> cleanup -> unplanned failover -> commit -> complete migration. Every answer is checked against
the SDK models, and ARM's 409 MissingSubscriptionRegistration never appears."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.rest import HttpRequest

from ec2asr.testing.emulator import AsrEmulator, DiskSpec, MachineSpec, SimulatedClock
from tests.contract.models_map import body_problems

pytestmark = pytest.mark.e2e


@pytest.fixture
def emulator() -> Iterator[AsrEmulator]:
    emu = AsrEmulator(create_vault=False, clock=SimulatedClock(speed=3600)).start()
    yield emu
    emu.stop()


def test_whole_inmage_rcm_lifecycle(emulator: AsrEmulator) -> None:
    seen: list[tuple[str, str, int, Any]] = []

    def hook(pipeline_response: Any) -> None:
        response = pipeline_response.http_response
        path = urllib.parse.urlsplit(response.request.url).path
        response.read()  # the initial answers of LROs are streamed; the SDK reads the cache
        text = response.text()
        body = json.loads(text) if text else None
        seen.append((response.request.method, path, response.status_code, body))

    vaults = emulator.recovery_services_client(raw_response_hook=hook)
    asr = emulator.asr_management_client(raw_response_hook=hook)
    rg, name = emulator.resource_group, emulator.vault

    # 1. vault, then the appliance registers with it
    vault = vaults.vaults.begin_create_or_update(
        rg, name, {"location": "eastus", "sku": {"name": "Standard"}}
    ).result()
    assert vault.properties.provisioning_state == "Succeeded"
    appliance = emulator.register_appliance("asr-appliance", "10.0.0.4")
    [fabric] = list(asr.replication_fabrics.list(rg, name))
    details = fabric.properties.custom_details
    assert details.instance_type == "InMageRcm"
    assert details.process_servers[0].ip_addresses == ["10.0.0.4"]
    [container] = list(
        asr.replication_protection_containers.list_by_replication_fabrics(rg, name, fabric.name)
    )

    # 2. policy and mapping
    policy = asr.replication_policies.begin_create(
        rg,
        name,
        "migration-policy",
        {
            "properties": {
                "providerSpecificInput": {
                    "instanceType": "InMageRcm",
                    "recoveryPointHistoryInMinutes": 4320,
                    "crashConsistentFrequencyInMinutes": 5,
                    "appConsistentFrequencyInMinutes": 240,
                    "enableMultiVmSync": "False",
                }
            }
        },
    ).result()
    mapping = asr.replication_protection_container_mappings.begin_create(
        rg,
        name,
        fabric.name,
        container.name,
        "migration-mapping",
        {"properties": {"policyId": policy.id, "targetProtectionContainerId": "Microsoft Azure"}},
    ).result()
    assert mapping.properties.state == "Paired"

    # 3. the Mobility agent registers: the machine appears in the OffAzure site
    spec = MachineSpec(
        "i-0a1b2c3d4e5f60718",
        "app01",
        ["10.0.3.17"],
        "linux",
        os_name="Red Hat Enterprise Linux 8.6",
        os_version="8.6",
        disks=[DiskSpec(40, "/dev/nvme0n1", is_os=True), DiskSpec(200, "/dev/nvme1n1")],
    )
    emulator.register_machine(spec)
    machines = asr.send_request(
        HttpRequest("GET", f"{details.physical_site_id}/machines?api-version=2023-06-06")
    ).json()["value"]
    [machine] = [
        m for m in machines if "10.0.3.17" in m["properties"]["networkAdapters"][0]["ipAddressList"]
    ]

    # 4. enable replication and wait for initial replication
    sub = emulator.subscription_id
    net = f"/subscriptions/{sub}/resourceGroups/net/providers"
    items = asr.replication_protected_items
    args = (rg, name, fabric.name, container.name)
    item = items.begin_create(
        *args,
        spec.instance_id,
        {
            "properties": {
                "policyId": policy.id,
                "providerSpecificDetails": {
                    "instanceType": "InMageRcm",
                    "fabricDiscoveryMachineId": machine["id"],
                    "processServerId": appliance.appliance_id,
                    "targetResourceGroupId": f"/subscriptions/{sub}/resourceGroups/migrated",
                    "targetVmName": "app01",
                    "targetVmSize": "Standard_D4s_v5",
                    "targetNetworkId": f"{net}/Microsoft.Network/virtualNetworks/prod",
                    "testNetworkId": f"{net}/Microsoft.Network/virtualNetworks/isolated",
                    "targetSubnetName": "apps",
                    "licenseType": "NoLicenseType",
                    "disksDefault": {
                        "diskType": "Premium_LRS",
                        "logStorageAccountId": (
                            f"{net}/Microsoft.Storage/storageAccounts/asrcache01"
                        ),
                    },
                },
            }
        },
    ).result()
    assert item.properties.protection_state == "InitialReplicationInProgress"
    emulator.advance(8 * 3600)
    item = items.get(*args, spec.instance_id)
    assert item.properties.protection_state == "Protected"
    assert item.properties.provider_specific_details.initial_replication_progress_percentage == 100

    # 5. test failover into the isolated network, then clean up
    tfo = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "networkType": "VmNetworkAsInput",
            "providerSpecificDetails": {"instanceType": "InMageRcm"},
        }
    }
    assert (
        items.begin_test_failover(*args, spec.instance_id, tfo)
        .result()
        .properties.test_failover_state
        == "WaitingForCompletion"
    )
    assert (
        items.begin_test_failover_cleanup(
            *args, spec.instance_id, {"properties": {"comments": "validated"}}
        )
        .result()
        .properties.test_failover_state
        == "None"
    )

    # 6. cutover: unplanned failover at the latest recovery point, commit
    latest = items.get(
        *args, spec.instance_id
    ).properties.provider_specific_details.last_recovery_point_id
    failed_over = items.begin_unplanned_failover(
        *args,
        spec.instance_id,
        {
            "properties": {
                "failoverDirection": "PrimaryToRecovery",
                "sourceSiteOperations": "NotRequired",
                "providerSpecificDetails": {
                    "instanceType": "InMageRcm",
                    "performShutdown": "false",
                },
            }
        },
    ).result()
    assert failed_over.properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    assert failed_over.properties.failover_recovery_point_id is not None
    assert latest is not None
    committed = items.begin_failover_commit(*args, spec.instance_id).result()
    assert committed.properties.protection_state == "UnplannedFailoverCommitted"

    # 7. complete the migration
    items.begin_delete(
        *args, spec.instance_id, {"properties": {"disableProtectionReason": "MigrationComplete"}}
    ).result()
    assert list(items.list(rg, name)) == []
    scenarios = [j.properties.scenario_name for j in asr.replication_jobs.list(rg, name)]
    assert scenarios == [
        "DisableDr",
        "CommitFailover",
        "UnplannedFailover",
        "TestFailoverCleanup",
        "TestFailover",
        "EnableDr",
        "ConfigureProtection",
        "AddProtectionProfile",
    ]

    # Every answer loads losslessly into the SDK models; no MissingSubscriptionRegistration.
    problems = {}
    for method, path, status, body in seen:
        assert not (
            status == 409
            and isinstance(body, dict)
            and body.get("error", {}).get("code") == "MissingSubscriptionRegistration"
        )
        operation, found = body_problems(emulator, method, path, body)
        if found:
            problems[operation] = found
    assert problems == {}
    checked = {body_problems(emulator, m, p, b)[0] for m, p, _, b in seen}
    assert {
        "ReplicationProtectedItems_Get",
        "ReplicationFabrics_List",
        "OperationResults_Get",
        "ReplicationJobs_List",
    } <= checked
    assert [w.operation for w in emulator.writes] == [
        "Vaults_CreateOrUpdate",
        "ReplicationPolicies_Create",
        "ReplicationProtectionContainerMappings_Create",
        "ReplicationProtectedItems_Create",
        "ReplicationProtectedItems_TestFailover",
        "ReplicationProtectedItems_TestFailoverCleanup",
        "ReplicationProtectedItems_UnplannedFailover",
        "ReplicationProtectedItems_FailoverCommit",
        "ReplicationProtectedItems_Delete",
    ]
