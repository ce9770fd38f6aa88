"""Cutover in the sandbox: the ASR emulator reads each source's power state from moto, so a
cutover that stops the EC2 instance and waits until no data is pending before failing over to
"Latest" is told apart from one that loses data (``emulator.failovers``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ec2asr.testing import FailoverRecord, Sandbox, SeededFleet, SimulatedClock
from ec2asr.testing._azure import SecurityGroupOracle, machine_spec
from tests.asr_helpers import START, enable_input, finish, items_api, setup_policy

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=SimulatedClock(START, speed=0)) as started:
        yield started


@pytest.fixture
def fleet(sandbox: Sandbox) -> SeededFleet:
    return sandbox.seed_fleet(profiles=["rhel79", "win2019", "stopped"])


@pytest.fixture
def client(sandbox: Sandbox, fleet: SeededFleet) -> Any:
    return sandbox.asr_management_client(retry_total=0)


@pytest.fixture
def protected(sandbox: Sandbox, fleet: SeededFleet, client: Any) -> list[str]:
    """rhel79 and win2019 replicate (agents registered by hand); returns their instance ids."""
    emulator = sandbox.emulator
    policy_id = setup_policy(emulator, client)
    ids = [fleet.instance("rhel79").instance_id, fleet.instance("win2019").instance_id]
    items, args = items_api(emulator, client)
    for instance_id, machine_id in zip(ids, sandbox.register_agents(ids), strict=True):
        body = enable_input(emulator, policy_id, machine_id)
        items.begin_create(*args, instance_id, body, polling=False)
    emulator.advance(12 * 3600)
    for instance_id in ids:
        assert items.get(*args, instance_id).properties.protection_state == "Protected"
    return ids


def _failover(sandbox: Sandbox, client: Any, instance_id: str, point_id: str | None) -> Any:
    items, args = items_api(sandbox.emulator, client)
    provider = {"instanceType": "InMageRcm", "performShutdown": "false"}
    if point_id:
        provider["recoveryPointId"] = point_id
    body = {"properties": {"providerSpecificDetails": provider}}
    return finish(sandbox.emulator, items.begin_unplanned_failover(*args, instance_id, body))


def _pending(sandbox: Sandbox, client: Any, instance_id: str) -> tuple[float, Any]:
    """Data pending on every disk (MB) and the agent's last heartbeat."""
    items, args = items_api(sandbox.emulator, client)
    details = items.get(*args, instance_id).properties.provider_specific_details
    pending = sum(
        d.data_pending_at_source_agent_in_mb + d.data_pending_in_log_data_store_in_mb
        for d in details.protected_disks
    )
    return pending, details.mobility_agent_details.last_heartbeat_utc


def test_sandbox_now_is_the_emulators_clock(sandbox: Sandbox) -> None:
    with pytest.raises(RuntimeError):
        Sandbox().now()  # not started
    assert sandbox.now() == START == sandbox.emulator.now()
    sandbox.emulator.advance(90)
    assert (sandbox.now() - START).total_seconds() == 90
    assert sandbox.now().tzinfo is not None


def test_the_oracle_reads_each_instances_power_state_from_moto(
    sandbox: Sandbox, fleet: SeededFleet
) -> None:
    oracle = SecurityGroupOracle(sandbox.ec2_backend)
    ec2 = sandbox.ec2_session.client("ec2")
    running = machine_spec(ec2, fleet.instance("rhel79").instance_id)
    stopped = machine_spec(ec2, fleet.instance("stopped").instance_id)
    assert oracle.source_running(running)
    assert not oracle.source_running(stopped)
    ec2.stop_instances(InstanceIds=[running.instance_id])
    ec2.start_instances(InstanceIds=[stopped.instance_id])
    assert not oracle.source_running(running)
    assert oracle.source_running(stopped)
    ec2.terminate_instances(InstanceIds=[stopped.instance_id])
    assert not oracle.source_running(stopped)


def test_latest_after_the_data_drained_is_lossless_and_before_it_is_not(
    sandbox: Sandbox, client: Any, protected: list[str]
) -> None:
    emulator = sandbox.emulator
    careful, hasty = protected
    ec2 = sandbox.ec2_session.client("ec2")
    emulator.advance(131)  # off the 5-minute grid
    pending, _ = _pending(sandbox, client, careful)
    assert pending > 0  # a running source always has data on its way

    requested = sandbox.now()  # what ec2asr records, on the migration's injected clock
    ec2.stop_instances(InstanceIds=[careful, hasty])
    _pending(sandbox, client, careful)  # the emulator sees both stopped now
    _pending(sandbox, client, hasty)
    _failover(sandbox, client, hasty, None)  # "Latest" at once: the agent is still sending
    emulator.advance(300)
    pending, heartbeat = _pending(sandbox, client, careful)
    assert pending == 0
    assert heartbeat > requested
    _failover(sandbox, client, careful, None)

    lossy, lossless = [f for f in emulator.failovers if f.kind == "unplanned"]
    assert isinstance(lossless, FailoverRecord)
    assert (lossless.item, lossless.latest, lossless.data_loss) == (careful, True, False)
    assert lossless.data_loss_seconds == 0
    assert lossless.recovery_point_time >= requested
    assert (lossy.item, lossy.source_running, lossy.data_loss) == (hasty, False, True)
    assert lossy.data_loss_seconds > 0
    assert lossy.pending_at_source_mb > 0
    # No recovery point was invented at the shutdown: before the failovers, the newest listed
    # point of the careful machine was older than the stop.
    _, args = items_api(emulator, client)
    times = sorted(
        p.properties.recovery_point_time
        for p in client.recovery_points.list_by_replication_protected_items(*args, careful)
    )
    assert times[-1] == lossless.recovery_point_time  # the failover's own point
    assert times[-2] < requested


def test_a_forward_failover_cannot_be_cancelled_and_replication_does_not_resume(
    sandbox: Sandbox, client: Any, protected: list[str]
) -> None:
    from azure.core.exceptions import HttpResponseError

    emulator = sandbox.emulator
    instance_id = protected[0]
    ec2 = sandbox.ec2_session.client("ec2")
    ec2.stop_instances(InstanceIds=[instance_id])
    _pending(sandbox, client, instance_id)
    emulator.advance(600)
    item = _failover(sandbox, client, instance_id, None)
    assert "CancelFailover" not in item.properties.allowed_operations
    assert {"Commit", "ChangePit", "CompleteMigration"} <= set(item.properties.allowed_operations)
    items, args = items_api(emulator, client)
    with pytest.raises(HttpResponseError) as refused:
        items.begin_failover_cancel(*args, instance_id).result()
    assert refused.value.status_code == 400
    # Starting the source again does not resume replication: the item stays failed over.
    ec2.start_instances(InstanceIds=[instance_id])
    emulator.advance(3600)
    item = items.get(*args, instance_id)
    assert item.properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    assert item.properties.provider_specific_details.last_rpo_in_seconds is None
