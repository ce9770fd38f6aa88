"""Recovery plans: CRUD and plan operations acting on items group by group."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ec2asr.testing.emulator import AsrEmulator
from tests.asr_helpers import asr_code, finish, items_api, linux_spec, protect

PLAN = "wave1"


def _plan_body(
    emulator: AsrEmulator, groups: list[list[Any]], actions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    fabric_id = (
        f"/Subscriptions/{emulator.subscription_id}/resourceGroups/{emulator.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{emulator.vault}"
        f"/replicationFabrics/{emulator.fabric_name}"
    )
    return {
        "properties": {
            "primaryFabricId": fabric_id,
            "recoveryFabricId": "Microsoft Azure",
            "failoverDeploymentModel": "ResourceManager",
            "groups": [
                {
                    "groupType": "Boot",
                    "replicationProtectedItems": [
                        {"id": i.id, "virtualMachineId": i.name} for i in group
                    ],
                    "startGroupActions": actions if index == 1 and actions else [],
                    "endGroupActions": [],
                }
                for index, group in enumerate(groups)
            ],
        }
    }


@pytest.fixture
def protected(emulator: AsrEmulator, client: Any, policy_id: str) -> list[Any]:
    return [protect(emulator, client, linux_spec(i, disks=(10,)), policy_id) for i in (1, 2, 3)]


def test_create_get_list_update_delete(
    emulator: AsrEmulator, client: Any, protected: list[Any]
) -> None:
    plans = client.replication_recovery_plans
    rg, vault = emulator.resource_group, emulator.vault
    plan = finish(
        emulator,
        plans.begin_create(rg, vault, PLAN, _plan_body(emulator, [protected[:2], protected[2:]])),
        seconds=60,
    )
    assert [g.group_type for g in plan.properties.groups] == [
        "Shutdown",
        "Failover",
        "Boot",
        "Boot",
    ]
    assert [len(g.replication_protected_items) for g in plan.properties.groups] == [0, 0, 2, 1]
    assert plan.properties.replication_providers == ["InMageRcm"]
    assert set(plan.properties.allowed_operations) == {"TestFailover", "UnplannedFailover"}
    assert [p.name for p in plans.list(rg, vault)] == [PLAN]
    update = {"properties": {"groups": _plan_body(emulator, [protected])["properties"]["groups"]}}
    plan = finish(emulator, plans.begin_update(rg, vault, PLAN, update), seconds=60)
    assert [len(g.replication_protected_items) for g in plan.properties.groups] == [0, 0, 3]
    finish(emulator, plans.begin_delete(rg, vault, PLAN), seconds=60)
    with pytest.raises(ResourceNotFoundError):
        plans.get(rg, vault, PLAN)


def test_plan_refuses_unknown_items(
    emulator: AsrEmulator, client: Any, protected: list[Any]
) -> None:
    body = _plan_body(emulator, [protected])
    body["properties"]["groups"][0]["replicationProtectedItems"].append(
        {"id": protected[0].id + "x"}
    )
    with pytest.raises(HttpResponseError) as info:
        client.replication_recovery_plans.begin_create(
            emulator.resource_group, emulator.vault, PLAN, body
        )
    assert "does not exist" in info.value.error.message


def test_test_failover_runs_group_by_group_then_cleanup(
    emulator: AsrEmulator, client: Any, protected: list[Any]
) -> None:
    plans = client.replication_recovery_plans
    rg, vault = emulator.resource_group, emulator.vault
    finish(
        emulator,
        plans.begin_create(rg, vault, PLAN, _plan_body(emulator, [protected[:2], protected[2:]])),
        seconds=60,
    )
    items, args = items_api(emulator, client)
    poller = plans.begin_test_failover(
        rg,
        vault,
        PLAN,
        {
            "properties": {
                "failoverDirection": "PrimaryToRecovery",
                "networkType": "VmNetworkAsInput",
            }
        },
    )
    emulator.advance(emulator.timings.test_failover + 1)  # the first group is done, the second runs
    states = [items.get(*args, i.name).properties.test_failover_state for i in protected]
    assert states == ["WaitingForCompletion", "WaitingForCompletion", "TestFailoverInitiated"]
    plan = plans.get(rg, vault, PLAN)
    assert plan.properties.current_scenario.scenario_name == "TestFailover"
    assert plan.properties.current_scenario_status == "InProgress"
    plan = finish(emulator, poller)
    # Official example ReplicationRecoveryPlans_TestFailover.json: only the cleanup.
    assert plan.properties.allowed_operations == ["TestFailoverCleanup"]
    assert plan.properties.last_test_failover_time is not None
    finish(
        emulator,
        plans.begin_test_failover_cleanup(rg, vault, PLAN, {"properties": {"comments": "done"}}),
    )
    assert {items.get(*args, i.name).properties.test_failover_state for i in protected} == {"None"}


def test_unplanned_failover_and_commit(
    emulator: AsrEmulator, client: Any, protected: list[Any]
) -> None:
    plans = client.replication_recovery_plans
    rg, vault = emulator.resource_group, emulator.vault
    finish(
        emulator, plans.begin_create(rg, vault, PLAN, _plan_body(emulator, [protected])), seconds=60
    )
    body = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "sourceSiteOperations": "NotRequired",
            "providerSpecificDetails": [
                {"instanceType": "InMageRcm", "recoveryPointType": "Latest"}
            ],
        }
    }
    plan = finish(emulator, plans.begin_unplanned_failover(rg, vault, PLAN, body))
    assert plan.properties.allowed_operations == ["Commit"]
    items, args = items_api(emulator, client)
    assert {items.get(*args, i.name).properties.protection_state for i in protected} == {
        "UnplannedFailoverCommitPendingStatesBegin"
    }
    with pytest.raises(HttpResponseError) as info:
        plans.begin_unplanned_failover(rg, vault, PLAN, body)
    assert asr_code(info.value) == "OperationNotAllowed"
    finish(emulator, plans.begin_failover_commit(rg, vault, PLAN))
    assert {items.get(*args, i.name).properties.protection_state for i in protected} == {
        "UnplannedFailoverCommitted"
    }


def test_manual_action_suspends_until_resume(
    emulator: AsrEmulator, client: Any, protected: list[Any]
) -> None:
    plans = client.replication_recovery_plans
    rg, vault = emulator.resource_group, emulator.vault
    action = {
        "actionName": "check-dns",
        "failoverTypes": ["TestFailover"],
        "failoverDirections": ["PrimaryToRecovery"],
        "customDetails": {"instanceType": "ManualActionDetails", "description": "Check DNS"},
    }
    finish(
        emulator,
        plans.begin_create(
            rg, vault, PLAN, _plan_body(emulator, [protected[:1], protected[1:]], [action])
        ),
        seconds=60,
    )
    plans.begin_test_failover(
        rg,
        vault,
        PLAN,
        {
            "properties": {
                "failoverDirection": "PrimaryToRecovery",
                "networkType": "VmNetworkAsInput",
            }
        },
        polling=False,
    )
    emulator.advance(3600)
    plan = plans.get(rg, vault, PLAN)
    assert plan.properties.current_scenario_status == "Suspended"
    job_name = plan.properties.current_scenario.job_id.rsplit("/", 1)[1]
    job = client.replication_jobs.get(rg, vault, job_name)
    assert job.properties.state == "Suspended"
    assert job.properties.allowed_actions == ["Cancel", "Resume"]
    assert job.properties.tasks[1].custom_details.instance_type == "ManualActionTaskDetails"
    items, args = items_api(emulator, client)
    assert [items.get(*args, i.name).properties.test_failover_state for i in protected] == [
        "WaitingForCompletion",
        "TestFailoverInitiated",
        "TestFailoverInitiated",
    ]
    finish(
        emulator,
        client.replication_jobs.begin_resume(
            rg, vault, job_name, {"properties": {"comments": "DNS ok"}}
        ),
    )
    assert client.replication_jobs.get(rg, vault, job_name).properties.state == "Succeeded"
    assert {items.get(*args, i.name).properties.test_failover_state for i in protected} == {
        "WaitingForCompletion"
    }


def test_failover_cancel_on_a_plan_is_refused(
    emulator: AsrEmulator, client: Any, protected: list[Any]
) -> None:
    plans = client.replication_recovery_plans
    rg, vault = emulator.resource_group, emulator.vault
    finish(
        emulator, plans.begin_create(rg, vault, PLAN, _plan_body(emulator, [protected])), seconds=60
    )
    body = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "sourceSiteOperations": "NotRequired",
        }
    }
    plan = finish(emulator, plans.begin_unplanned_failover(rg, vault, PLAN, body))
    assert plan.properties.allowed_operations == ["Commit"]
    with pytest.raises(HttpResponseError) as refused:
        plans.begin_failover_cancel(rg, vault, PLAN)
    assert refused.value.status_code == 400
    items, args = items_api(emulator, client)
    assert {items.get(*args, i.name).properties.protection_state for i in protected} == {
        "UnplannedFailoverCommitPendingStatesBegin"
    }
