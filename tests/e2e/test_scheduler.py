"""The scheduler on the sandbox (simulated clock): finish-first order with a cap that binds, a
replicating machine holds no slot, appliance capacity and placement over two appliances."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

import ec2asr
from ec2asr.events import EventKind, MigrationEvent
from ec2asr.migration import _schedule
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.mobility.base import InstallContext, InstallResult, InstallState
from ec2asr.models import SourceMachine
from ec2asr.testing import Sandbox
from tests.e2e._migration import fast_sandbox, make_migration

pytestmark = pytest.mark.e2e

READY_FOR_A_JOB = {Stage.PROTECTED.value, Stage.TEST_MIGRATED.value}
"""Stages from which a machine's next step is an ASR job that may start at once."""


class FirstAgentsLater:
    """Registers the agent of the plan's last machine at once; the others' agents are
    registered (by :meth:`on_event`) when that machine's replication starts, so machines
    earlier in the plan are enabled after a later one is already under way."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.later: list[str] = []

    def install(
        self, machines: Sequence[SourceMachine], context: InstallContext
    ) -> Sequence[InstallResult]:
        ids = [m.instance_id for m in machines]
        first, self.later = ids[-1], ids[:-1]
        self.sandbox.register_agents([first])
        results = [InstallResult(first, InstallState.INSTALLED, "agent registered by hand")]
        results += [
            InstallResult(i, InstallState.ACTION_REQUIRED, "later", instructions="wait")
            for i in self.later
        ]
        return results

    def on_event(self, event: MigrationEvent) -> None:
        if event.stage == Stage.REPLICATING.value and event.kind is EventKind.STAGE_REACHED:
            later, self.later = self.later, []
            if later:
                self.sandbox.register_agents(later)


@attrs.frozen
class Run:
    plan_order: list[str]
    events: list[MigrationEvent]
    report: Any


@pytest.fixture(scope="module")
def capped_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Six machines, one ASR operation at a time (``concurrency=1``), up to the test
    migration's cleanup; the last machine of the plan starts first."""
    with fast_sandbox() as sandbox:
        fleet = sandbox.seed_fleet(n=6, profiles=["win2016"])
        machines = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(
            instance_ids=fleet.instance_ids
        )
        installer = FirstAgentsLater(sandbox)
        events: list[MigrationEvent] = []

        def record(event: MigrationEvent) -> None:
            events.append(event)
            installer.on_event(event)

        migration = make_migration(
            sandbox,
            tmp_path_factory.mktemp("capped") / "journal.sqlite",
            installer=installer,
            concurrency=1,
            on_event=record,
        )
        with migration:
            plan = migration.plan(machines)
            report = migration.run(plan, until=Stage.TEST_CLEANED_UP)
        yield Run([p.instance_id for p in plan.to_migrate], events, report)


def _starts(run: Run, step: str) -> list[tuple[int, str]]:
    return [
        (n, e.instance_id or "")
        for n, e in enumerate(run.events)
        if e.kind is EventKind.STEP_STARTED and e.message == step
    ]


def _reached(run: Run, iid: str, stage: Stage) -> int:
    return next(
        n
        for n, e in enumerate(run.events)
        if e.kind is EventKind.STAGE_REACHED and e.instance_id == iid and e.stage == stage.value
    )


def test_every_machine_reaches_the_stage_asked_with_one_operation_at_a_time(
    capped_run: Run,
) -> None:
    assert [m.stage for m in capped_run.report] == [Stage.TEST_CLEANED_UP] * 6
    assert all(m.status is MachineStatus.DONE for m in capped_run.report)


def test_a_machine_past_enable_is_never_starved_by_new_enables(capped_run: Run) -> None:
    """Finish first: whenever an enable starts, no machine that reached a stage whose next
    step is an ASR job (test failover, its cleanup) is still waiting for a slot."""
    ready: set[str] = set()
    contended = False
    discovered: set[str] = set()
    for event in capped_run.events:
        iid = event.instance_id or ""
        if event.kind is EventKind.STAGE_REACHED:
            discovered.discard(iid)
            if event.stage == Stage.DISCOVERED.value:
                discovered.add(iid)
            if event.stage in READY_FOR_A_JOB:
                ready.add(iid)
        elif event.kind is EventKind.STEP_STARTED:
            if event.message == "enable-replication":
                assert not ready, f"enabled {iid} while {sorted(ready)} waited for a slot"
                discovered.discard(iid)
            else:
                contended = contended or bool(discovered)
                ready.discard(iid)
    # The scenario had machines waiting to be enabled while others were under way (otherwise
    # the order would not matter).
    assert contended


def test_a_replicating_machine_holds_no_slot(capped_run: Run) -> None:
    """With one slot, the plan's last machine is enabled first; the others' enables start
    while it is still in initial replication (before it is protected)."""
    first = capped_run.plan_order[-1]
    protected = _reached(capped_run, first, Stage.PROTECTED)
    enables = [iid for n, iid in _starts(capped_run, "enable-replication") if n < protected]
    assert enables[0] == first
    assert len(enables) >= 2


def _two_appliances(sandbox: Sandbox, n: int) -> list[SourceMachine]:
    fleet = sandbox.seed_fleet(n=n, profiles=["win2016"], appliances=2)
    return ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(instance_ids=fleet.instance_ids)


def _items_by_server(sandbox: Sandbox) -> dict[str, str]:
    """Instance id -> the process server ASR replicates it through (the emulator's items)."""
    return {
        item.name: item.process_server_id.lower()
        for item in sandbox.emulator.get_vault_state().items()
    }


def test_two_appliances_share_the_machines_within_their_capacity_and_a_rerun_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_schedule, "APPLIANCE_CAPACITY", 2)
    journal = tmp_path / "journal.sqlite"
    with fast_sandbox() as sandbox:
        sandbox.emulator.appliance_capacity = 2  # and ASR (the emulator) refuses a third
        machines = _two_appliances(sandbox, 5)
        servers = {
            a.info.appliance_id.lower(): a.info.name
            for f in sandbox.emulator.get_vault_state().fabrics.values()
            for a in f.appliances.values()
        }
        assert len(servers) == 2
        addresses = sorted(
            a.info.private_ip
            for f in sandbox.emulator.get_vault_state().fabrics.values()
            for a in f.appliances.values()
        )
        with make_migration(sandbox, journal) as migration:
            plan = migration.plan(machines)
            # The plan checked the paths to one process server and says the other needs them.
            (other,) = set(addresses) - {plan.appliance.ip_address}
            (note,) = [w for w in plan.warnings if "checked against process server" in w]
            assert f"process server {plan.appliance.ip_address} only" in note
            assert note.endswith(f"to {other} too")
            migration.run(plan, until=Stage.PROTECTED, timeout=3 * 3600)
            first = {r.instance_id: r for r in migration.journal.machines()}
        placed = _items_by_server(sandbox)
        # Four machines replicate, two through each appliance; the fifth waits for room.
        assert sorted(placed.values()).count(sorted(servers)[0]) == 2
        assert sorted(set(placed.values())) == sorted(servers)
        (waiting,) = [iid for iid, m in first.items() if m.stage is Stage.DISCOVERED]
        assert "waiting for room on a replication appliance" in str(first[waiting].data["waiting"])
        assert waiting not in placed

        # A re-run keeps each machine on its appliance; as machines fail over they free room
        # and the fifth is enabled; ASR never refused an enable.
        with make_migration(sandbox, journal) as migration:
            plan = migration.plan(machines)
            report = migration.run(plan, confirm_cutover=True)
            records = migration.journal.machines()
        assert [m.stage for m in report] == [Stage.COMPLETED] * 5
        enables = [
            w
            for w in sandbox.emulator.writes
            if w.method == "PUT" and "replicationprotecteditems/" in w.path.lower()
        ]
        assert len(enables) == 5
    journal_servers = {
        r.instance_id: str(r.data["appliance"]["process_server_id"]).lower() for r in records
    }
    for iid, server in placed.items():
        assert journal_servers[iid] == server
    assert journal_servers[waiting] in servers


def test_the_emulator_refuses_an_enable_beyond_an_appliances_capacity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When ec2asr's idea of the room is wrong (here: it allows 2, the appliance takes 1), ASR's
    refusal fails that machine, not the run."""
    monkeypatch.setattr(_schedule, "APPLIANCE_CAPACITY", 2)
    with fast_sandbox() as sandbox:
        fleet = sandbox.seed_fleet(n=2, profiles=["win2016"])
        machines = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(
            instance_ids=fleet.instance_ids
        )
        sandbox.emulator.appliance_capacity = 1
        with make_migration(sandbox, tmp_path / "journal.sqlite") as migration:
            plan = migration.plan(machines)
            report = migration.run(plan, until=Stage.REPLICATING)
    by_status = sorted(m.status.value for m in report)
    assert by_status == ["done", "failed"]
    (failed,) = [m for m in report if m.status is MachineStatus.FAILED]
    assert "ApplianceCapacityExceeded" in str(failed.error) or "capacity" in str(failed.error)


def test_the_sandbox_adds_appliances_that_asr_reports_as_process_servers() -> None:
    with fast_sandbox() as sandbox:
        with pytest.raises(ec2asr.InvalidInputError, match="appliances"):
            sandbox.seed_fleet(n=1, appliances=0)
        sandbox.seed_fleet(n=1, appliances=3)
        with pytest.raises(ec2asr.InvalidInputError, match="at least 1"):
            sandbox.add_appliances(0)
        (added,) = sandbox.add_appliances(1)
        asr = ec2asr.SiteRecoveryClient(
            sandbox.credential,
            sandbox.subscription_id,
            resource_group=sandbox.resource_group,
            vault=sandbox.vault,
            base_url=sandbox.base_url,
        )
        fabric = asr.get_appliance_fabric()
    servers = {ps.id: ps.ip_address for ps in fabric.process_servers}
    assert len(servers) == 4
    assert len(set(servers.values())) == 4
    assert servers[added.appliance_id] == added.private_ip == "10.0.0.13"
    assert fabric.capacity == 800
