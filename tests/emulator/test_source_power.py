"""The source machine's power state through the real SDK: no point at shutdown, pending data and
heartbeat, RPO, health, what a failover leaves, and the failover audit (``emulator.failovers``)
that tells a correct cutover from a lossy one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from ec2asr.testing.emulator import AllowAllConnectivity, AsrEmulator, MachineSpec
from tests.asr_helpers import asr_code, finish, items_api, linux_spec, protect


class Power(AllowAllConnectivity):
    """Every path open; the tests switch sources off and on."""

    def __init__(self) -> None:
        self.stopped: set[str] = set()

    def source_running(self, machine: MachineSpec) -> bool:
        return machine.instance_id not in self.stopped


@pytest.fixture
def power(emulator: AsrEmulator) -> Power:
    oracle = Power()
    emulator.set_connectivity_oracle(oracle)
    return oracle


@pytest.fixture
def spec(emulator: AsrEmulator, client: Any, policy_id: str, power: Power) -> MachineSpec:
    machine = linux_spec(disks=(10,))
    protect(emulator, client, machine, policy_id)
    return machine


def _item(emulator: AsrEmulator, client: Any, spec: MachineSpec) -> Any:
    items, args = items_api(emulator, client)
    return items.get(*args, spec.instance_id)


def _points(emulator: AsrEmulator, client: Any, spec: MachineSpec) -> list[Any]:
    _, args = items_api(emulator, client)
    return list(client.recovery_points.list_by_replication_protected_items(*args, spec.instance_id))


def _stop(emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec) -> datetime:
    """Stop the source off the 5-minute grid; the next observation (a GET) sees it."""
    emulator.advance(123)
    power.stopped.add(spec.instance_id)
    _item(emulator, client, spec)
    return emulator.now()


def _failover(
    emulator: AsrEmulator, client: Any, spec: MachineSpec, point_id: str | None = None
) -> Any:
    items, args = items_api(emulator, client)
    provider: dict[str, Any] = {"instanceType": "InMageRcm", "performShutdown": "false"}
    if point_id is not None:
        provider["recoveryPointId"] = point_id
    body = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "providerSpecificDetails": provider,
        }
    }
    return items.begin_unplanned_failover(*args, spec.instance_id, body)


def _drain(emulator: AsrEmulator, client: Any, spec: MachineSpec) -> Any:
    """Wait until the stopped source's data is processed; returns the item's details."""
    emulator.advance(300)
    details = _item(emulator, client, spec).properties.provider_specific_details
    for disk in details.protected_disks:
        assert disk.data_pending_at_source_agent_in_mb == 0
        assert disk.data_pending_in_log_data_store_in_mb == 0
    return details


def test_no_point_at_shutdown_then_none_rpo_grows_and_78174(
    emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec
) -> None:
    running = _item(emulator, client, spec).properties.provider_specific_details
    assert running.protected_disks[0].data_pending_at_source_agent_in_mb > 0
    assert running.protected_disks[0].data_pending_in_log_data_store_in_mb > 0
    before = _points(emulator, client, spec)
    stopped_at = _stop(emulator, client, power, spec)
    details = _drain(emulator, client, spec)
    points = _points(emulator, client, spec)
    # No recovery point is created by the shutdown: the newest is the grid's, before it.
    assert points[0].properties.recovery_point_time < stopped_at
    assert points[0].properties.recovery_point_type == "CrashConsistent"
    assert {p.name for p in before} <= {p.name for p in points}
    # lastRecoveryPointReceived is when the point arrived, not its own time.
    assert details.last_recovery_point_received > points[0].properties.recovery_point_time
    assert details.last_recovery_point_id.endswith(points[0].name)
    assert details.discovered_vm_details.power_status == "OFF"
    # The agent's last upload and heartbeat came after the stop.
    heartbeat = details.mobility_agent_details.last_heartbeat_utc
    assert stopped_at <= heartbeat < stopped_at + timedelta(minutes=1)

    emulator.advance(9 * 60)  # 14 minutes after the stop
    item = _item(emulator, client, spec)
    assert [e.error_code for e in item.properties.health_errors] == ["161011"]
    emulator.advance(60)
    item = _item(emulator, client, spec)
    [error] = [e for e in item.properties.health_errors if e.error_code == "78174"]
    assert error.error_level == "Error"
    assert error.creation_time_utc == stopped_at + timedelta(minutes=15)
    assert item.properties.replication_health == "Critical"
    assert item.properties.protection_state == "Protected"

    emulator.advance(3 * 3600)
    assert _points(emulator, client, spec)[0].name == points[0].name
    details = _item(emulator, client, spec).properties.provider_specific_details
    rpo = (emulator.now() - points[0].properties.recovery_point_time).total_seconds()
    assert details.last_rpo_in_seconds == int(rpo)
    assert details.mobility_agent_details.last_heartbeat_utc == heartbeat


def test_heartbeat_timeout_follows_timings() -> None:
    from ec2asr.testing.emulator import Timings
    from tests.asr_helpers import new_emulator, setup_policy

    emulator = new_emulator(timings=Timings(heartbeat_timeout=120))
    try:
        power = Power()
        emulator.set_connectivity_oracle(power)
        own_client = emulator.asr_management_client(retry_total=0)
        machine = linux_spec(disks=(10,))
        protect(emulator, own_client, machine, setup_policy(emulator, own_client))
        _stop(emulator, own_client, power, machine)
        emulator.advance(120)
        codes = [
            e.error_code for e in _item(emulator, own_client, machine).properties.health_errors
        ]
        assert "78174" in codes
    finally:
        emulator.stop()


def test_restart_resumes_replication_on_a_fresh_grid(
    emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec
) -> None:
    stopped_at = _stop(emulator, client, power, spec)
    emulator.advance(3600 + 17)
    power.stopped.clear()
    item = _item(emulator, client, spec)
    restarted = emulator.now()
    assert item.properties.provider_specific_details.discovered_vm_details.power_status == "ON"
    emulator.advance(20 * 60 + 150)  # a point is listed once received (30 s), processed (120 s)
    times = [p.properties.recovery_point_time for p in _points(emulator, client, spec)]
    assert times[:4] == [restarted + timedelta(minutes=m) for m in (20, 15, 10, 5)]
    assert stopped_at - timedelta(minutes=5) < times[4] < stopped_at
    item = _item(emulator, client, spec)
    assert [e.error_code for e in item.properties.health_errors] == ["161011"]
    assert item.properties.provider_specific_details.last_rpo_in_seconds == 150


def test_initial_replication_pauses_while_the_source_is_stopped(
    emulator: AsrEmulator, client: Any, policy_id: str, power: Power
) -> None:
    from tests.asr_helpers import enable_input

    machine = linux_spec(disks=(100,))  # 100 GiB at 100 Mbps: about 2 h 23 min
    items, args = items_api(emulator, client)
    poller = items.begin_create(
        *args,
        machine.instance_id,
        enable_input(emulator, policy_id, emulator.register_machine(machine)),
    )
    finish(emulator, poller, seconds=240)
    emulator.advance(3600)
    details = _item(emulator, client, machine).properties.provider_specific_details
    percent = details.initial_replication_progress_percentage
    assert 0 < percent < 100
    power.stopped.add(machine.instance_id)
    emulator.advance(10 * 3600)
    item = _item(emulator, client, machine)
    details = item.properties.provider_specific_details
    assert item.properties.protection_state == "InitialReplicationInProgress"
    assert details.initial_replication_progress_percentage == percent
    assert details.initial_replication_progress_health == "NoProgress"
    assert "78174" in [e.error_code for e in item.properties.health_errors]
    assert _points(emulator, client, machine) == []
    power.stopped.clear()
    emulator.advance(2 * 3600)
    assert _item(emulator, client, machine).properties.protection_state == "Protected"


def test_latest_after_the_drain_fails_over_without_loss(
    emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec
) -> None:
    stopped_at = _stop(emulator, client, power, spec)
    _drain(emulator, client, spec)
    item = finish(emulator, _failover(emulator, client, spec))  # "Latest": no point named
    [record] = emulator.failovers
    assert (record.item, record.instance_id, record.kind, record.latest) == (
        spec.instance_id,
        spec.instance_id,
        "unplanned",
        True,
    )
    # "Latest" processed every write into a point of its own, listed from then on.
    assert record.recovery_point_time == stopped_at
    assert item.properties.failover_recovery_point_id == record.recovery_point_id
    listed = {p.id: p.properties.recovery_point_time for p in _points(emulator, client, spec)}
    assert listed[record.recovery_point_id] == stopped_at
    assert (record.source_running, record.source_stopped_at) == (False, stopped_at)
    assert (record.data_loss, record.data_loss_seconds, record.pending_at_source_mb) == (
        False,
        0.0,
        0.0,
    )
    assert record.recovery_plan is None
    [write] = [w for w in emulator.writes if w.operation.endswith("_UnplannedFailover")]
    assert record.job_name == write.job_name
    assert record.time == write.time


def test_latest_before_the_agent_sent_everything_loses_data(
    emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec
) -> None:
    stopped_at = _stop(emulator, client, power, spec)
    # The agent is still sending what it held (30 s of writes at 1 MB/s, at 100 Mbps).
    pending = _item(emulator, client, spec).properties.provider_specific_details.protected_disks
    assert pending[0].data_pending_at_source_agent_in_mb > 0
    finish(emulator, _failover(emulator, client, spec))
    [record] = emulator.failovers
    assert record.latest
    assert record.data_loss
    assert 0 < record.data_loss_seconds <= 30
    assert record.recovery_point_time < stopped_at


def test_failing_over_a_running_source_loses_data(
    emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec
) -> None:
    finish(emulator, _failover(emulator, client, spec))
    [record] = emulator.failovers
    assert (record.source_running, record.source_stopped_at, record.data_loss) == (
        True,
        None,
        True,
    )


def test_a_point_before_the_shutdown_loses_data(
    emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec
) -> None:
    stopped_at = _stop(emulator, client, power, spec)
    older = _drain(emulator, client, spec) and _points(emulator, client, spec)[0]
    assert older.properties.recovery_point_time < stopped_at
    item = finish(emulator, _failover(emulator, client, spec, older.id))
    assert item.properties.failover_recovery_point_id == older.id
    [record] = emulator.failovers
    assert record.recovery_point_time == older.properties.recovery_point_time
    assert (record.source_running, record.data_loss) == (False, True)


def test_explicit_point_is_used_exactly_and_unknown_ones_are_refused(
    emulator: AsrEmulator, client: Any, policy_id: str, power: Power, spec: MachineSpec
) -> None:
    other = linux_spec(2, disks=(10,))
    protect(emulator, client, other, policy_id)
    foreign = _points(emulator, client, other)[0].id
    for bad in (foreign, "not-a-point", f"{foreign.rsplit('/', 1)[0]}/00000000"):
        with pytest.raises(HttpResponseError) as info:
            _failover(emulator, client, spec, bad)
        assert (info.value.status_code, asr_code(info.value)) == (400, "RecoveryPointNotFound")
    assert emulator.failovers == []
    assert not [w for w in emulator.writes if w.operation.endswith("_UnplannedFailover")]
    chosen = _points(emulator, client, spec)[3]
    poller = _failover(emulator, client, spec, chosen.id)
    [job] = [
        j
        for j in client.replication_jobs.list(emulator.resource_group, emulator.vault)
        if j.properties.scenario_name == "UnplannedFailover"
    ]
    [detail] = job.properties.custom_details.protected_item_details
    assert detail.recovery_point_id == chosen.id
    assert finish(emulator, poller).properties.failover_recovery_point_id == chosen.id
    assert emulator.failovers[0].recovery_point_time == chosen.properties.recovery_point_time


def test_test_failover_and_change_of_point_are_audited(
    emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec
) -> None:
    items, args = items_api(emulator, client)
    body = {"properties": {"providerSpecificDetails": {"instanceType": "InMageRcm"}}}
    finish(emulator, items.begin_test_failover(*args, spec.instance_id, body))
    finish(emulator, items.begin_test_failover_cleanup(*args, spec.instance_id, {"properties": {}}))
    stopped_at = _stop(emulator, client, power, spec)
    _drain(emulator, client, spec)
    finish(emulator, _failover(emulator, client, spec))
    older = _points(emulator, client, spec)[2]
    change = {
        "properties": {
            "providerSpecificDetails": {"instanceType": "InMageRcm", "recoveryPointId": older.id}
        }
    }
    finish(emulator, items.begin_apply_recovery_point(*args, spec.instance_id, change))
    test, unplanned, changed = emulator.failovers
    assert (test.kind, test.source_running, test.data_loss) == ("test", True, False)
    assert (unplanned.kind, unplanned.recovery_point_time, unplanned.data_loss) == (
        "unplanned",
        stopped_at,
        False,
    )
    assert (changed.kind, changed.recovery_point_id, changed.data_loss) == (
        "change-point",
        older.id,
        True,
    )
    assert changed.source_stopped_at == stopped_at


def test_a_forward_failover_cannot_be_cancelled(
    emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec
) -> None:
    _stop(emulator, client, power, spec)
    _drain(emulator, client, spec)
    item = finish(emulator, _failover(emulator, client, spec))
    assert item.properties.allowed_operations == [
        "CompleteMigration",
        "Commit",
        "DisableProtection",
        "ChangePit",
    ]
    items, args = items_api(emulator, client)
    with pytest.raises(HttpResponseError) as info:
        items.begin_failover_cancel(*args, spec.instance_id)
    assert info.value.status_code == 400
    assert "CancelFailover" in str(info.value)


def test_a_failed_failover_does_not_resume_replication_and_may_be_retried(
    emulator: AsrEmulator, client: Any, power: Power, spec: MachineSpec
) -> None:
    stopped_at = _stop(emulator, client, power, spec)
    _drain(emulator, client, spec)
    emulator.inject_fault("POST */unplannedFailover", job_error="28127")
    with pytest.raises(HttpResponseError):
        finish(emulator, _failover(emulator, client, spec))
    item = _item(emulator, client, spec)
    assert item.properties.protection_state == "UnplannedFailoverFailed"
    assert item.properties.allowed_operations == ["UnplannedFailover", "DisableProtection"]
    newest = _points(emulator, client, spec)[0].properties.recovery_point_time
    power.stopped.clear()  # even with the source running again, nothing replicates
    emulator.advance(3600)
    _item(emulator, client, spec)
    emulator.advance(3600)
    assert _points(emulator, client, spec)[0].properties.recovery_point_time == newest
    item = finish(emulator, _failover(emulator, client, spec))
    assert item.properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    retried = emulator.failovers[-1]
    assert retried.recovery_point_time >= stopped_at
