"""Cutover in the sandbox: the ASR emulator reads each source's power state from moto, so a
cutover that stops the EC2 instance and waits for a recovery point taken after the stop request
is told apart from one that loses data (``emulator.failovers``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
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


def _last_point(sandbox: Sandbox, client: Any, instance_id: str) -> tuple[datetime, str]:
    items, args = items_api(sandbox.emulator, client)
    details = items.get(*args, instance_id).properties.provider_specific_details
    return details.last_recovery_point_received, details.last_recovery_point_id


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


def test_cutover_stop_wait_fail_over_is_lossless_and_skipping_the_stop_is_not(
    sandbox: Sandbox, client: Any, protected: list[str]
) -> None:
    emulator = sandbox.emulator
    careful, hasty = protected
    ec2 = sandbox.ec2_session.client("ec2")
    emulator.advance(131)  # off the 5-minute grid
    before_time, _ = _last_point(sandbox, client, careful)

    requested = sandbox.now()  # what ec2asr records, on the migration's injected clock
    ec2.stop_instances(InstanceIds=[careful])
    emulator.advance(30)
    point_time, point_id = _last_point(sandbox, client, careful)
    assert before_time < requested <= point_time  # the shutdown point
    _failover(sandbox, client, careful, point_id)

    _failover(sandbox, client, hasty, None)  # still running: data written after it is lost

    lossless, lossy = emulator.failovers
    assert isinstance(lossless, FailoverRecord)
    assert (lossless.item, lossless.recovery_point_id, lossless.data_loss) == (
        careful,
        point_id,
        False,
    )
    assert lossless.source_stopped_at == point_time
    assert (lossy.item, lossy.source_running, lossy.data_loss) == (hasty, True, True)


def test_rollback_cancel_and_start_resumes_replication(
    sandbox: Sandbox, client: Any, protected: list[str]
) -> None:
    emulator = sandbox.emulator
    instance_id = protected[0]
    ec2 = sandbox.ec2_session.client("ec2")
    ec2.stop_instances(InstanceIds=[instance_id])
    emulator.advance(60)
    shutdown, point_id = _last_point(sandbox, client, instance_id)
    _failover(sandbox, client, instance_id, point_id)
    items, args = items_api(emulator, client)
    finish(emulator, items.begin_failover_cancel(*args, instance_id))
    emulator.advance(3600)
    assert _last_point(sandbox, client, instance_id)[0] == shutdown
    item = items.get(*args, instance_id)
    assert "78174" in [e.error_code for e in item.properties.health_errors]
    ec2.start_instances(InstanceIds=[instance_id])
    items.get(*args, instance_id)  # the emulator sees it running again
    restarted = sandbox.now()
    emulator.advance(600)
    latest, _ = _last_point(sandbox, client, instance_id)
    assert (latest - restarted).total_seconds() == 600
    item = items.get(*args, instance_id)
    assert "78174" not in [e.error_code for e in item.properties.health_errors]
    assert item.properties.provider_specific_details.last_rpo_in_seconds == 0
