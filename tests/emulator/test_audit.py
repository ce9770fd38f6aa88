"""The audit trails: ``emulator.writes`` holds exactly the accepted writes (a refused request is
not in it), ``emulator.failovers`` the failovers of recovery plans too."""

from __future__ import annotations

import collections
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from ec2asr.testing.emulator import AllowAllConnectivity, AsrEmulator, MachineSpec
from tests.asr_helpers import asr_code, enable_input, finish, items_api, linux_spec, protect
from tests.emulator.test_recovery_plans import _plan_body


class Power(AllowAllConnectivity):
    def __init__(self) -> None:
        self.stopped: set[str] = set()

    def source_running(self, machine: MachineSpec) -> bool:
        return machine.instance_id not in self.stopped


def _writes(emulator: AsrEmulator) -> collections.Counter[str]:
    return collections.Counter(w.operation for w in emulator.writes)


def test_a_second_put_of_an_item_is_refused_and_not_audited(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec(disks=(10,))
    machine_id = emulator.register_machine(spec)
    items, args = items_api(emulator, client)
    body = enable_input(emulator, policy_id, machine_id)
    items.begin_create(*args, spec.instance_id, body, polling=False)
    for _ in range(2):  # while the enable job runs, and once the item is protected
        with pytest.raises(HttpResponseError) as info:
            items.begin_create(*args, spec.instance_id, body, polling=False)
        assert (info.value.status_code, asr_code(info.value)) == (409, "ProtectionAlreadyEnabled")
        emulator.advance(6 * 3600)
    # The same machine under another name is refused too.
    with pytest.raises(HttpResponseError) as info:
        items.begin_create(*args, "another-name", body, polling=False)
    assert asr_code(info.value) == "ProtectionAlreadyEnabled"
    assert [i.name for i in items.list(emulator.resource_group, emulator.vault)] == [
        spec.instance_id
    ]
    assert _writes(emulator)["ReplicationProtectedItems_Create"] == 1
    assert emulator.request_counts()["writes"]["ReplicationProtectedItems_Create"] == 4
    [enable] = [w for w in emulator.writes if w.operation == "ReplicationProtectedItems_Create"]
    assert enable.path.endswith(f"/replicationProtectedItems/{spec.instance_id}")


def test_writes_hold_one_enable_failover_and_commit_per_machine(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    power = Power()
    emulator.set_connectivity_oracle(power)
    specs = [linux_spec(i, disks=(10,)) for i in (1, 2)]
    for spec in specs:
        protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    ufo = {
        "properties": {
            "providerSpecificDetails": {"instanceType": "InMageRcm", "performShutdown": "false"}
        }
    }
    for spec in specs:
        power.stopped.add(spec.instance_id)
        items.get(*args, spec.instance_id)  # seen stopped
        emulator.advance(300)  # its agent's last data is sent and processed
        finish(emulator, items.begin_unplanned_failover(*args, spec.instance_id, ufo))
        with pytest.raises(HttpResponseError):  # a second failover is refused
            items.begin_unplanned_failover(*args, spec.instance_id, ufo)
        finish(emulator, items.begin_failover_commit(*args, spec.instance_id))
        with pytest.raises(HttpResponseError):  # so is a second commit
            items.begin_failover_commit(*args, spec.instance_id)
    emulator.inject_fault("POST */failoverCommit", status=503)
    with pytest.raises(HttpResponseError):
        items.begin_failover_commit(*args, specs[0].instance_id)
    per_machine: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for write in emulator.writes:
        if "/replicationProtectedItems/" in write.path:
            name = write.path.split("/replicationProtectedItems/")[1].split("/")[0]
            per_machine[name][write.operation.split("_", 1)[1]] += 1
    assert dict(per_machine) == {
        s.instance_id: {"Create": 1, "UnplannedFailover": 1, "FailoverCommit": 1} for s in specs
    }
    assert all(w.status in (200, 201, 202, 204) for w in emulator.writes)
    assert [(f.item, f.kind, f.data_loss) for f in emulator.failovers] == [
        (s.instance_id, "unplanned", False) for s in specs
    ]


@pytest.fixture
def plan(emulator: AsrEmulator, client: Any, policy_id: str) -> tuple[Power, list[Any]]:
    power = Power()
    emulator.set_connectivity_oracle(power)
    protected = [protect(emulator, client, linux_spec(i, disks=(10,)), policy_id) for i in (1, 2)]
    finish(
        emulator,
        client.replication_recovery_plans.begin_create(
            emulator.resource_group,
            emulator.vault,
            "wave1",
            _plan_body(emulator, [protected[:1], protected[1:]]),
        ),
        seconds=60,
    )
    return power, protected


def _plan_failover(emulator: AsrEmulator, client: Any, point_type: str | None) -> Any:
    provider: dict[str, Any] = {"instanceType": "InMageRcm"}
    if point_type:
        provider["recoveryPointType"] = point_type
    body = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "sourceSiteOperations": "NotRequired",
            "providerSpecificDetails": [provider],
        }
    }
    return client.replication_recovery_plans.begin_unplanned_failover(
        emulator.resource_group, emulator.vault, "wave1", body
    )


def test_a_plan_cutover_after_stopping_every_source_loses_nothing(
    emulator: AsrEmulator, client: Any, plan: tuple[Power, list[Any]]
) -> None:
    power, protected = plan
    items, args = items_api(emulator, client)
    stopped = {}
    for item in protected:
        emulator.advance(97)
        power.stopped.add(item.name)
        items.get(*args, item.name)
        stopped[item.name] = emulator.now()
    emulator.advance(300)  # every agent sent its last data; the appliance processed it
    finish(emulator, _plan_failover(emulator, client, "Latest"))
    records = emulator.failovers
    assert [(r.item, r.kind, r.recovery_plan) for r in records] == [
        (i.name, "unplanned", "wave1") for i in protected
    ]
    for record in records:
        assert record.latest
        assert record.recovery_point_time == stopped[record.item]
        assert record.source_stopped_at == stopped[record.item]
        assert record.data_loss is False
    [write] = [w for w in emulator.writes if w.operation.endswith("Plans_UnplannedFailover")]
    assert {r.job_name for r in records} == {write.job_name}
    for item in protected:
        got = items.get(*args, item.name)
        assert got.properties.failover_recovery_point_id.endswith(
            records[protected.index(item)].recovery_point_id.rsplit("/", 1)[1]
        )


@pytest.mark.contract_refused_requests("an unknown recoveryPointType")
def test_a_plan_failover_honours_the_recovery_point_type(
    emulator: AsrEmulator, client: Any, plan: tuple[Power, list[Any]]
) -> None:
    power, protected = plan
    items, args = items_api(emulator, client)
    for item in protected:
        power.stopped.add(item.name)
        items.get(*args, item.name)
    with pytest.raises(HttpResponseError) as info:
        _plan_failover(emulator, client, "Newest")
    assert info.value.status_code == 400
    assert emulator.failovers == []
    finish(emulator, _plan_failover(emulator, client, "LatestApplicationConsistent"))
    for record in emulator.failovers:
        [point] = [
            p
            for p in client.recovery_points.list_by_replication_protected_items(*args, record.item)
            if p.id == record.recovery_point_id
        ]
        assert point.properties.recovery_point_type == "ApplicationConsistent"
        assert record.recovery_point_time < record.source_stopped_at  # type: ignore[operator]
        assert record.data_loss is True


def test_latest_processed_right_after_the_stops_loses_what_was_in_flight(
    emulator: AsrEmulator, client: Any, plan: tuple[Power, list[Any]]
) -> None:
    power, protected = plan
    items, args = items_api(emulator, client)
    for item in protected:
        power.stopped.add(item.name)
        items.get(*args, item.name)
    finish(emulator, _plan_failover(emulator, client, "LatestProcessed"))
    for record in emulator.failovers:
        assert not record.latest
        assert record.recovery_point_time < record.source_stopped_at  # type: ignore[operator]
        assert record.data_loss is True
        assert record.data_loss_seconds > 0


def test_a_plan_test_failover_is_audited_without_loss(
    emulator: AsrEmulator, client: Any, plan: tuple[Power, list[Any]]
) -> None:
    _, protected = plan
    body = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "networkType": "VmNetworkAsInput",
            "providerSpecificDetails": [
                {"instanceType": "InMageRcm", "recoveryPointType": "LatestProcessed"}
            ],
        }
    }
    finish(
        emulator,
        client.replication_recovery_plans.begin_test_failover(
            emulator.resource_group, emulator.vault, "wave1", body
        ),
    )
    assert [(r.item, r.kind, r.data_loss, r.source_running) for r in emulator.failovers] == [
        (i.name, "test", False, True) for i in protected
    ]
