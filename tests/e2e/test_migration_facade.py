"""The Migration facade end to end on the sandbox (a user-written installer; the shipped
strategies have their own end-to-end tests)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import ec2asr
from ec2asr.errors import CutoverNotConfirmedError, JournalLockedError
from ec2asr.events import EventKind, MigrationEvent
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.testing import Sandbox
from tests.e2e._migration import (
    TARGET,
    AgentsByHand,
    delete_vm,
    fast_sandbox,
    make_migration,
    writes_by_item,
)

PROFILES = ["win2016", "win2019", "rhel67"]


def _fleet(sandbox: Sandbox, profiles: list[str] = PROFILES) -> list[ec2asr.SourceMachine]:
    fleet = sandbox.seed_fleet(profiles=profiles)
    return ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(instance_ids=fleet.instance_ids)


def _states(sandbox: Sandbox, ids: list[str]) -> dict[str, str]:
    ec2 = sandbox.new_aws_session().client("ec2")
    out = {}
    for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]:
        for i in r["Instances"]:
            out[i["InstanceId"]] = i["State"]["Name"]
    return out


def test_whole_migration_per_machine(tmp_path: Path) -> None:
    events: list[MigrationEvent] = []
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox)
        ids = [m.instance_id for m in machines]
        with make_migration(sandbox, tmp_path / "j.sqlite", on_event=events.append) as migration:
            plan = migration.plan(machines)
            assert len(plan.to_migrate) == len(machines)
            report = migration.run(plan, confirm_cutover=True)
        assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)
        assert all(m.rpo_at_failover_seconds is not None for m in report)
        # Every failover went to "Latest" once its stopped source had nothing pending.
        failovers = [f for f in sandbox.emulator.failovers if f.kind == "unplanned"]
        assert sorted(f.item for f in failovers) == sorted(ids)
        assert not any(f.data_loss for f in failovers)
        assert all(f.source_stopped_at is not None for f in failovers)
        writes = writes_by_item(sandbox)
        for iid in ids:
            ops = writes[iid]
            assert ops.count("PUT") == 1
            assert ops.count("unplannedFailover") == 1
            assert ops.count("failoverCommit") == 1
            assert ops.count("remove") == 1
            assert ops.count("testFailover") == 1
            assert ops.count("testFailoverCleanup") == 1
        # Sources stopped (never terminated) and tagged with their Azure VM.
        assert set(_states(sandbox, ids).values()) == {"stopped"}
        tags = (
            sandbox.new_aws_session()
            .client("ec2")
            .describe_tags(Filters=[{"Name": "key", "Values": ["ec2asr:azure-vm-id"]}])["Tags"]
        )
        assert {t["ResourceId"] for t in tags} == set(ids)
        assert all("/providers/Microsoft.Compute/virtualMachines/" in t["Value"] for t in tags)
    reached = [(e.instance_id, e.stage) for e in events if e.kind is EventKind.STAGE_REACHED]
    for iid in ids:
        stages = [s for i, s in reached if i == iid]
        assert stages == [s.value for s in Stage if s is not Stage.PLANNED]


def test_no_failover_without_confirmation(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2016"])
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            with caplog.at_level(logging.INFO, logger="ec2asr"):
                report = migration.run(plan)
            ready = [r for r in caplog.records if "ready for cutover" in r.getMessage()]
            assert [r.levelno for r in ready] == [logging.INFO]  # once, and not a warning
            (only,) = report
            assert only.stage is Stage.TEST_CLEANED_UP
            assert only.status is MachineStatus.WAITING
            assert "confirm_cutover=True" in (only.waiting or "")
            with pytest.raises(CutoverNotConfirmedError):
                migration.cutover(plan)
        ops = writes_by_item(sandbox)[machines[0].instance_id]
        assert "unplannedFailover" not in ops
        assert _states(sandbox, [machines[0].instance_id]) == {machines[0].instance_id: "running"}


@pytest.mark.parametrize("value", ["no", "yes", 1, [True], None, 1.0])
def test_only_the_literal_true_confirms_a_cutover(tmp_path: Path, value: object) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2016"])
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            before = len(sandbox.emulator.writes)
            with pytest.raises(ec2asr.InvalidInputError, match="confirm_cutover must be True"):
                migration.run(plan, confirm_cutover=value)  # type: ignore[arg-type]
            with pytest.raises(ec2asr.InvalidInputError, match="only the literal True"):
                migration.cutover(plan, confirm_cutover=value)  # type: ignore[arg-type]
            assert len(sandbox.emulator.writes) == before == 0
        assert not (tmp_path / "j.sqlite").exists()  # nothing recorded either
        assert _states(sandbox, [machines[0].instance_id]) == {machines[0].instance_id: "running"}


def test_step_by_step_then_resume_in_a_new_object(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2019", "rhel67"])
        with make_migration(sandbox, journal) as migration:
            plan = migration.plan(machines)
            report = migration.enable_replication(plan)
            assert {m.stage for m in report} == {Stage.REPLICATING}
            report = migration.test_migration(plan)
            assert {m.stage for m in report} == {Stage.TEST_CLEANED_UP}
        # A new Migration object on the same journal carries on from there.
        installer = AgentsByHand(sandbox)
        with make_migration(sandbox, journal, installer=installer) as again:
            report = again.cutover(plan, confirm_cutover=True)
            assert {m.stage for m in report} == {Stage.FAILED_OVER}
            report = again.commit(plan)
            assert {m.stage for m in report} == {Stage.COMMITTED}
            report = again.complete(plan)
            assert {m.stage for m in report} == {Stage.COMPLETED}
        assert installer.calls == []  # nothing was installed twice
        for ops in writes_by_item(sandbox).values():
            assert ops.count("PUT") == 1
            assert ops.count("unplannedFailover") == 1


def test_recovery_plan_cutover_in_boot_groups(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox)
        ids = [m.instance_id for m in machines]
        spec = RecoveryPlanSpec(name="wave1", groups=[ids[:1], ids[1:]])
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines, recovery_plan=spec)
            report = migration.run(plan, confirm_cutover=True, recovery_plan=spec)
        assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)
        plan_writes = [w for w in sandbox.emulator.writes if "replicationRecoveryPlans" in w.path]
        ops = [w.path.split("?")[0].rsplit("/", 1)[-1] for w in plan_writes]
        assert ops.count("unplannedFailover") == 1
        assert ops.count("failoverCommit") == 1
        assert ops.count("wave1") == 1  # the PUT creating it
        failovers = [f for f in sandbox.emulator.failovers if f.kind == "unplanned"]
        assert {f.recovery_plan for f in failovers} == {"wave1"}
        assert not any(f.data_loss for f in failovers)
        per_item = writes_by_item(sandbox)
        for iid in ids:
            assert "unplannedFailover" not in per_item[iid]  # the plan failed them over
            assert per_item[iid].count("remove") == 1


def test_rollback_before_commit(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2016"])
        iid = machines[0].instance_id
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            report = migration.run(plan, until=Stage.FAILED_OVER, confirm_cutover=True)
            assert report[iid].stage is Stage.FAILED_OVER
            assert _states(sandbox, [iid])[iid] == "stopped"
            (failover,) = [f for f in sandbox.emulator.failovers if f.kind == "unplanned"]
            vm = sandbox.emulator.virtual_machine(
                f"{TARGET.resource_group_id}/providers/Microsoft.Compute/virtualMachines/web-01"
            )
            assert vm is not None
            assert vm.power_state(sandbox.now()) == "running"

            report = migration.rollback(plan)
            machine = report[iid]
            assert machine.status is MachineStatus.ROLLED_BACK
            # No CancelFailover (the modernized stack has none for a forward failover): the VM
            # is deallocated, protection disabled, the source started; replication starts over.
            assert machine.stage is Stage.DISCOVERED
            assert _states(sandbox, [iid])[iid] in ("pending", "running")
            ops = writes_by_item(sandbox)[iid]
            assert "failoverCancel" not in ops
            assert ops.count("remove") == 1
            assert vm.power_state(sandbox.now()) == "deallocated"
            assert machine.rolled_back is not None
            assert "new initial replication" in machine.note
            assert vm.id in machine.note
            item_names = {i.name for i in migration.asr.list_protected_items()}
            assert iid not in item_names

            # Cutting over again first waits for a person: the old VM would clash.
            report = migration.run(plan, confirm_cutover=True)
            assert report[iid].stage is Stage.TEST_CLEANED_UP
            assert report[iid].status is MachineStatus.WAITING
            assert vm.id in (report[iid].waiting or "")
            assert writes_by_item(sandbox)[iid].count("unplannedFailover") == 1
            delete_vm(sandbox, vm.id)
            report = migration.run(plan, confirm_cutover=True)
            assert report[iid].stage is Stage.COMPLETED
        ops = writes_by_item(sandbox)[iid]
        assert ops.count("PUT") == 2  # replication enabled again: a new initial replication
        assert ops.count("unplannedFailover") == 2
        assert ops.count("failoverCommit") == 1
        assert failover.latest
        assert not any(f.data_loss for f in sandbox.emulator.failovers if f.kind == "unplanned")


def test_one_failure_does_not_stop_the_others(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2016", "win2019"])
        bad = machines[0].instance_id
        sandbox.emulator.inject_fault(
            f"POST */replicationProtectedItems/{bad}/testFailover",
            job_error="28031",
        )
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            report = migration.run(plan, confirm_cutover=True)
        assert report[bad].status is MachineStatus.FAILED
        assert report[bad].stage is Stage.PROTECTED
        assert "28031" in (report[bad].error or "")
        assert report[machines[1].instance_id].stage is Stage.COMPLETED


def test_two_processes_cannot_drive_one_journal(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2016"])
        first = make_migration(sandbox, tmp_path / "j.sqlite")
        second = make_migration(sandbox, tmp_path / "j.sqlite")
        plan = first.plan(machines)
        first.prepare(plan)
        try:
            with pytest.raises(JournalLockedError):
                second.run(plan)
        finally:
            first.close()
            second.close()


def test_a_failed_observation_is_retried_next_cycle(tmp_path: Path) -> None:
    events: list[MigrationEvent] = []
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2016"])
        with make_migration(sandbox, tmp_path / "j.sqlite", on_event=events.append) as migration:
            plan = migration.plan(machines)
            # More 500s in a row than the SDK retries (8): one whole sweep fails.
            rule = sandbox.emulator.inject_fault("GET */replicationJobs", status=500, times=12)
            report = migration.run(plan, confirm_cutover=True)
        assert rule.hits == 12
        assert {m.stage for m in report} == {Stage.COMPLETED}
        warnings = [e.message for e in events if e.kind is EventKind.WARNING]
        assert any("could not read ASR's jobs" in w for w in warnings)


def test_work_under_way_is_carried_on_when_a_new_plan_blocks_it(tmp_path: Path) -> None:
    import attrs

    events: list[MigrationEvent] = []
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2016"])
        with make_migration(sandbox, tmp_path / "j.sqlite", on_event=events.append) as migration:
            plan = migration.plan(machines)
            migration.enable_replication(plan)
            # The same machine, now blocked by a newer plan (say, a changed readiness rule).
            (only,) = plan
            blocked = attrs.evolve(plan, machines=(attrs.evolve(only, blockers=("NEW_RULE: x",)),))
            report = migration.run(blocked, confirm_cutover=True)
        assert report[only.instance_id].stage is Stage.COMPLETED
        assert any(e.kind is EventKind.WARNING and "NEW_RULE" in e.message for e in events)
        # A machine the journal never started stays untouched when blocked.
        fresh = _fleet(sandbox, ["win2019"])
        with make_migration(sandbox, tmp_path / "k.sqlite") as other:
            plan = other.plan(fresh)
            (machine,) = plan
            report = other.run(
                attrs.evolve(plan, machines=(attrs.evolve(machine, blockers=("B",)),))
            )
        assert report[machine.instance_id].status is MachineStatus.BLOCKED
        assert machine.instance_id not in writes_by_item(sandbox)
