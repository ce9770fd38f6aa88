"""The protected-item state machine on the simulated clock, driven by the real SDK client."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ec2asr.testing.emulator import AsrEmulator
from tests.asr_helpers import asr_code, enable_input, finish, items_api, linux_spec, protect

UFO = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "providerSpecificDetails": {"instanceType": "InMageRcm", "performShutdown": "false"},
    }
}
TFO = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "providerSpecificDetails": {"instanceType": "InMageRcm"},
    }
}


def _get(emulator: AsrEmulator, client: Any, name: str) -> Any:
    items, args = items_api(emulator, client)
    return items.get(*args, name)


def test_initial_replication_follows_disk_sizes_and_bandwidth(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec(disks=(30, 100))
    ir_seconds = 130 * 1024**3 * 8 / 100e6  # 130 GiB at the default 100 Mbps
    machine_id = emulator.register_machine(spec)
    items, args = items_api(emulator, client)
    poller = items.begin_create(
        *args, spec.instance_id, enable_input(emulator, policy_id, machine_id)
    )
    item = _get(emulator, client, spec.instance_id)
    assert item.properties.protection_state == "EnablingProtection"
    assert item.properties.protection_state_description == "Enabling protection"
    assert item.properties.allowed_operations == []
    assert item.properties.current_scenario.scenario_name == "EnableDr"
    emulator.advance(240)  # the enable job
    assert poller.result().properties.protection_state == "InitialReplicationInProgress"
    emulator.advance(ir_seconds / 2 + 1)
    details = _get(emulator, client, spec.instance_id).properties.provider_specific_details
    assert details.initial_replication_progress_percentage == 50
    assert details.initial_replication_progress_health == "InProgress"
    assert details.last_recovery_point_id is None
    assert {d.disk_state for d in details.protected_disks} == {"InitialReplicationPending"}
    emulator.advance(ir_seconds / 2)
    item = _get(emulator, client, spec.instance_id)
    assert item.properties.protection_state == "Protected"
    assert item.properties.allowed_operations == [
        "UnplannedFailover",
        "DisableProtection",
        "TestFailover",
    ]
    details = item.properties.provider_specific_details
    assert details.initial_replication_progress_percentage == 100
    # The first point is listed once its data was received (30 s) and processed (120 s).
    assert details.last_recovery_point_id is None
    emulator.advance(150)
    item = _get(emulator, client, spec.instance_id)
    details = item.properties.provider_specific_details
    assert details.last_recovery_point_id is not None
    assert {d.disk_state for d in details.protected_disks} == {"Protected"}
    # No test failover yet: ASR's 161011 warning.
    assert [e.error_code for e in item.properties.health_errors] == ["161011"]
    assert item.properties.replication_health == "Normal"


def test_recovery_points_every_five_minutes_and_app_consistent_per_policy(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec(disks=(10,))
    protect(
        emulator, client, spec, policy_id
    )  # policy: 60-minute app-consistent points, 1 day kept
    items, args = items_api(emulator, client)
    points = list(
        client.recovery_points.list_by_replication_protected_items(*args, spec.instance_id)
    )
    times = [p.properties.recovery_point_time for p in points]
    assert times == sorted(times, reverse=True)
    gaps = {(a - b).total_seconds() for a, b in itertools.pairwise(times)}
    assert gaps == {300.0}
    kinds = [p.properties.recovery_point_type for p in points]
    assert kinds.count("ApplicationConsistent") == len(
        [t for t in times if (t - times[-1]).total_seconds() % 3600 == 0]
    )
    assert "CrashConsistent" in kinds
    emulator.advance(3 * 24 * 3600)
    points = list(
        client.recovery_points.list_by_replication_protected_items(*args, spec.instance_id)
    )
    span = (
        points[0].properties.recovery_point_time - points[-1].properties.recovery_point_time
    ).total_seconds()
    assert span <= 24 * 3600  # retention of the policy
    details = items.get(*args, spec.instance_id).properties.provider_specific_details
    assert 150 <= details.last_rpo_in_seconds < 300 + 150  # the grid, behind by the lags
    assert details.last_recovery_point_id.endswith(points[0].name)
    single = client.recovery_points.get(*args, spec.instance_id, points[3].name)
    assert single.properties.recovery_point_time == points[3].properties.recovery_point_time


def test_test_failover_cleanup_failover_commit_complete_migration(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec()
    protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    name = spec.instance_id
    poller = items.begin_test_failover(*args, name, TFO)
    assert _get(emulator, client, name).properties.test_failover_state == "TestFailoverInitiated"
    item = finish(emulator, poller)
    # As in the official example ReplicationProtectedItems_TestFailover.json: only the cleanup,
    # and the test failover stays the current scenario until then.
    assert item.properties.test_failover_state == "WaitingForCompletion"
    assert item.properties.test_failover_state_description == "Waiting for user input"
    assert item.properties.allowed_operations == ["TestFailoverCleanup"]
    assert item.properties.current_scenario.scenario_name == "TestFailover"
    with pytest.raises(HttpResponseError) as refused:
        items.begin_unplanned_failover(*args, name, UFO)
    assert refused.value.status_code == 400
    assert item.properties.last_successful_test_failover_time is not None
    assert item.properties.health_errors == []
    poller = items.begin_test_failover_cleanup(*args, name, {"properties": {"comments": "ok"}})
    mid = _get(emulator, client, name)
    assert (mid.properties.test_failover_state, mid.properties.test_failover_state_description) == (
        "MarkedForDeletion",
        "Cleaning up test environment",
    )
    assert finish(emulator, poller).properties.test_failover_state == "None"

    points = list(client.recovery_points.list_by_replication_protected_items(*args, name))
    chosen = points[2]
    body = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "providerSpecificDetails": {
                "instanceType": "InMageRcm",
                "recoveryPointId": chosen.id,
                "performShutdown": "false",
            },
        }
    }
    poller = items.begin_unplanned_failover(*args, name, body)
    assert (
        _get(emulator, client, name).properties.protection_state
        == "UnplannedFailoverTransitionStatesBegin"
    )
    item = finish(emulator, poller)
    assert item.properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    assert item.properties.protection_state_description == "Failover completed"
    assert item.properties.active_location == "Recovery"
    assert item.properties.failover_recovery_point_id == chosen.id
    # ReplicationProtectedItems_UnplannedFailover.json: no CancelFailover after a failover.
    assert item.properties.allowed_operations == [
        "CompleteMigration",
        "Commit",
        "DisableProtection",
        "ChangePit",
    ]

    # A second failover of a failed-over item is refused.
    with pytest.raises(HttpResponseError) as info:
        items.begin_unplanned_failover(*args, name, UFO)
    assert info.value.status_code == 400
    assert asr_code(info.value) == "OperationNotAllowed"

    item = finish(emulator, items.begin_failover_commit(*args, name))
    assert (item.properties.protection_state, item.properties.protection_state_description) == (
        "UnplannedFailoverCommitted",
        "Failover committed",
    )
    with pytest.raises(HttpResponseError) as info:
        items.begin_unplanned_failover(*args, name, UFO)
    assert asr_code(info.value) == "OperationNotAllowed"
    poller = items.begin_delete(
        *args, name, {"properties": {"disableProtectionReason": "MigrationComplete"}}
    )
    assert _get(emulator, client, name).properties.protection_state == "DisablingProtection"
    assert finish(emulator, poller) is None
    with pytest.raises(ResourceNotFoundError):
        _get(emulator, client, name)
    # The discovered machine stays in the site, its agent registered.
    assert emulator.machine_id(spec.instance_id)


def test_failover_cancel_is_refused_after_a_forward_failover(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec()
    protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    finish(emulator, items.begin_unplanned_failover(*args, spec.instance_id, UFO))
    with pytest.raises(HttpResponseError) as refused:
        items.begin_failover_cancel(*args, spec.instance_id)
    assert refused.value.status_code == 400
    item = _get(emulator, client, spec.instance_id)
    assert item.properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    assert item.properties.active_location == "Recovery"


@pytest.mark.contract_refused_requests("a provider input of another provider")
def test_remove_checks_the_provider_input(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec()
    protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    bad = {
        "properties": {
            "disableProtectionReason": "NotSpecified",
            "replicationProviderInput": {"instanceType": "HyperVReplicaAzure"},
        }
    }
    with pytest.raises(HttpResponseError) as refused:
        items.begin_delete(*args, spec.instance_id, bad)
    assert refused.value.status_code == 400
    good = {
        "properties": {
            "disableProtectionReason": "NotSpecified",
            "replicationProviderInput": {"instanceType": "DisableProtectionProviderSpecificInput"},
        }
    }
    assert finish(emulator, items.begin_delete(*args, spec.instance_id, good)) is None


def test_change_recovery_point_after_failover(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec()
    protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    finish(emulator, items.begin_unplanned_failover(*args, spec.instance_id, UFO))
    points = list(
        client.recovery_points.list_by_replication_protected_items(*args, spec.instance_id)
    )
    body = {
        "properties": {
            "providerSpecificDetails": {
                "instanceType": "InMageRcm",
                "recoveryPointId": points[5].id,
            }
        }
    }
    item = finish(emulator, items.begin_apply_recovery_point(*args, spec.instance_id, body))
    assert item.properties.failover_recovery_point_id == points[5].id


@pytest.mark.contract_refused_requests(
    "a planned failover with InMageRcm input, which the spec has no subtype for"
)
def test_operations_refused_during_initial_replication_and_while_a_job_runs(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec(disks=(500,))
    machine_id = emulator.register_machine(spec)
    items, args = items_api(emulator, client)
    items.begin_create(
        *args, spec.instance_id, enable_input(emulator, policy_id, machine_id), polling=False
    )
    with pytest.raises(HttpResponseError) as info:
        items.begin_test_failover(*args, spec.instance_id, TFO)
    assert info.value.status_code == 409
    assert asr_code(info.value) == "AnotherOperationInProgress"
    emulator.advance(600)
    with pytest.raises(HttpResponseError) as info:
        items.begin_test_failover(*args, spec.instance_id, TFO)
    assert info.value.status_code == 400
    assert "InitialReplicationInProgress" in info.value.error.message
    with pytest.raises(HttpResponseError) as info:
        items.begin_planned_failover(*args, spec.instance_id, UFO)
    assert asr_code(info.value) == "OperationNotAllowed"


def test_unknown_recovery_point_is_refused(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec()
    protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    body = {
        "properties": {
            "providerSpecificDetails": {
                "instanceType": "InMageRcm",
                "performShutdown": "false",
                "recoveryPointId": "nope",
            }
        }
    }
    with pytest.raises(HttpResponseError) as info:
        items.begin_unplanned_failover(*args, spec.instance_id, body)
    assert asr_code(info.value) == "RecoveryPointNotFound"


def test_update_applies_after_the_job(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    spec = linux_spec()
    protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    body = {
        "properties": {
            "providerSpecificDetails": {
                "instanceType": "InMageRcm",
                "targetVmSize": "Standard_D4s_v3",
                "targetVmName": "web-new",
            }
        }
    }
    poller = items.begin_update(*args, spec.instance_id, body)
    assert (
        _get(emulator, client, spec.instance_id).properties.provider_specific_details.target_vm_size
        is None
    )
    item = finish(emulator, poller)
    assert item.properties.provider_specific_details.target_vm_size == "Standard_D4s_v3"
    assert item.properties.provider_specific_details.target_vm_name == "web-new"
    bad = {
        "properties": {
            "providerSpecificDetails": {"instanceType": "InMageRcm", "targetVmName": "bad_name"}
        }
    }
    with pytest.raises(HttpResponseError) as info:
        items.begin_update(*args, spec.instance_id, bad)
    assert asr_code(info.value) == "InvalidTargetVmName"


def test_purge_removes_the_item_in_any_state(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec()
    machine_id = emulator.register_machine(spec)
    items, args = items_api(emulator, client)
    items.begin_create(
        *args, spec.instance_id, enable_input(emulator, policy_id, machine_id), polling=False
    )
    finish(emulator, items.begin_purge(*args, spec.instance_id), seconds=30)
    with pytest.raises(ResourceNotFoundError):
        items.get(*args, spec.instance_id)


def test_target_compute_sizes_flag_sizes_the_machine_does_not_fit(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec(disks=(30, 10, 10, 10, 10, 10))
    protect(emulator, client, spec, policy_id)
    _items, args = items_api(emulator, client)
    sizes = {
        s.name: s
        for s in client.target_compute_sizes.list_by_replication_protected_items(
            *args, spec.instance_id
        )
    }
    assert sizes["Standard_D2s_v3"].properties.errors[0].severity == "Error"
    assert sizes["Standard_D4s_v3"].properties.errors is None
    assert sizes["Standard_D4s_v3"].properties.max_data_disk_count == 8


def test_list_items_pages_and_vault_wide_list(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    emulator.page_size = 2
    items, args = items_api(emulator, client)
    for index in range(1, 6):
        spec = linux_spec(index, disks=(10,))
        machine_id = emulator.register_machine(spec)
        items.begin_create(
            *args,
            spec.instance_id,
            enable_input(emulator, policy_id, machine_id, targetVmName=f"vm{index}"),
            polling=False,
        )
    pages = list(items.list_by_replication_protection_containers(*args).by_page())
    assert [len(list(p)) for p in pages] == [2, 2, 1]
    names = {i.name for i in items.list(emulator.resource_group, emulator.vault)}
    assert names == {linux_spec(i).instance_id for i in range(1, 6)}
