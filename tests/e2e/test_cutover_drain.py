"""Cutover as the real service allows it: stop the source, wait until nothing is pending, fail
over to "Latest", journal the point; a source whose data cannot drain is never failed over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ec2asr
from ec2asr.errors import InvalidStateError
from ec2asr.migration.journal import Journal
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.testing import Sandbox
from ec2asr.testing.emulator import MachineSpec, Reachability
from tests.e2e._migration import fast_sandbox, make_migration, writes_by_item

pytestmark = pytest.mark.e2e


class CutPath:
    """The sandbox's own oracle, except that the test can close a source's path to the
    appliance (as a changed security group or NACL would)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.closed: set[str] = set()

    def push_path(self, machine: MachineSpec, appliance: Any) -> Reachability:
        return self.inner.push_path(machine, appliance)  # type: ignore[no-any-return]

    def replication_path(self, machine: MachineSpec, appliance: Any) -> Reachability:
        if machine.instance_id in self.closed:
            return Reachability(False, ("tcp/9443 closed by the test",))
        return self.inner.replication_path(machine, appliance)  # type: ignore[no-any-return]

    def source_running(self, machine: MachineSpec) -> bool:
        return bool(self.inner.source_running(machine))


def _fleet(sandbox: Sandbox, profiles: list[str]) -> list[ec2asr.SourceMachine]:
    ids = sandbox.seed_fleet(profiles=profiles).instance_ids
    return ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(instance_ids=ids)


def _state(sandbox: Sandbox, iid: str) -> str:
    ec2 = sandbox.new_aws_session().client("ec2")
    return str(
        ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"][
            "Name"
        ]
    )


def test_the_journal_records_the_point_and_why_and_no_data_is_lost(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2019", "rhel79"])
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            report = migration.run(plan, confirm_cutover=True)
        assert {m.stage for m in report} == {Stage.COMPLETED}
        failovers = [f for f in sandbox.emulator.failovers if f.kind == "unplanned"]
        assert len(failovers) == 2
        assert all(f.latest and not f.data_loss and f.data_loss_seconds == 0 for f in failovers)
        with Journal(tmp_path / "j.sqlite", read_only=True) as journal:
            for machine in machines:
                record = journal.machine(machine.instance_id)
                assert record is not None
                cutover = record.data["cutover"]
                assert cutover["recovery_point"] == "Latest"
                assert "no data is pending" in cutover["why"]
                assert cutover["data_pending_mb"] == 0
                assert cutover["agent_last_heartbeat"] > cutover["stop_requested_at"]
                assert record.data["data_loss_window_seconds"] == 0
                (emulated,) = [f for f in failovers if f.item == machine.instance_id]
                assert record.data["failover_recovery_point_id"] == emulated.recovery_point_id
                assert record.data["failover_recovery_point_time"] == (
                    emulated.recovery_point_time.isoformat()
                )
                steps = [s.step for s in journal.steps(machine.instance_id)]
                assert steps.index("stop-source") < steps.index("unplanned-failover")
                assert steps.index("unplanned-failover") < steps.index("verify-recovery-point")
                assert steps.index("verify-recovery-point") < steps.index("commit")
        for machine in report:
            assert machine.data_loss_window_seconds == 0
            assert machine.failover_recovery_point_id is not None


def test_a_source_whose_data_cannot_drain_is_not_failed_over(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2019", "rhel79"])
        cut, fine = machines[0].instance_id, machines[1].instance_id
        oracle = CutPath(sandbox.emulator.connectivity)
        sandbox.emulator.set_connectivity_oracle(oracle)
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            report = migration.run(plan)  # replicate and rehearse; nothing stopped
            assert {m.stage for m in report} == {Stage.TEST_CLEANED_UP}
            oracle.closed.add(cut)  # egress closes just before the cutover
            report = migration.run(plan, confirm_cutover=True, drain_timeout=1800)
            assert report[fine].stage is Stage.COMPLETED
            failed = report[cut]
            assert (failed.stage, failed.status) == (Stage.SOURCE_STOPPED, MachineStatus.FAILED)
            assert "DataPendingError" in (failed.error or "")
            assert "at the source agent" in (failed.error or "")
            assert "heartbeat" in (failed.error or "")
            assert _state(sandbox, cut) == "stopped"  # stopped, never failed over
            assert "unplannedFailover" not in writes_by_item(sandbox)[cut]

            # The way back: open the path, roll back (the source starts; replication catches
            # up: no new initial replication), then cut over again.
            oracle.closed.clear()
            report = migration.rollback(plan, instance_ids=[cut])
            assert report[cut].stage is Stage.TEST_CLEANED_UP
            assert report[cut].status is MachineStatus.ROLLED_BACK
            assert _state(sandbox, cut) in ("pending", "running")
            report = migration.run(plan, confirm_cutover=True)
            assert report[cut].stage is Stage.COMPLETED
        writes = writes_by_item(sandbox)[cut]
        assert writes.count("PUT") == 1  # replication never restarted from scratch
        assert writes.count("unplannedFailover") == 1
        assert not any(f.data_loss for f in sandbox.emulator.failovers if f.kind == "unplanned")


def test_rollback_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2019"])
        iid = machines[0].instance_id
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            before = len(sandbox.emulator.writes)
            with pytest.raises(InvalidStateError, match="not in the plan: i-0000"):
                migration.rollback(plan, instance_ids=["i-00000000000000000"])
            with pytest.raises(InvalidStateError, match="never migrated"):
                migration.rollback(plan, instance_ids=[iid])
            with pytest.raises(ec2asr.InvalidInputError):
                migration.rollback(plan, instance_ids=iid)  # type: ignore[arg-type]
            assert len(sandbox.emulator.writes) == before == 0
            report = migration.run(plan, confirm_cutover=True)
            assert report[iid].stage is Stage.COMPLETED
            writes = len(sandbox.emulator.writes)
            with pytest.raises(InvalidStateError, match="committed"):
                migration.rollback(plan, instance_ids=[iid])
            assert len(sandbox.emulator.writes) == writes
        assert _state(sandbox, iid) == "stopped"


def test_change_recovery_point_before_commit(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["rhel79"])
        iid = machines[0].instance_id
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            report = migration.run(plan, until=Stage.FAILED_OVER, confirm_cutover=True)
            first = report[iid].failover_recovery_point_id
            assert first is not None
            key = ec2asr.azure._protection.ItemKey(
                migration.journal.get_meta("fabric") or "",
                migration.journal.get_meta("container") or "",
                iid,
            )
            points = migration.asr.list_recovery_points(key)
            older = next(p for p in points if p.id != first)
            with pytest.raises(ec2asr.InvalidInputError):
                migration.change_recovery_point(plan, iid, "latest")
            report = migration.change_recovery_point(plan, iid, older.id)
            report = migration.run(plan, confirm_cutover=True)
            assert report[iid].stage is Stage.COMPLETED
            assert report[iid].failover_recovery_point_id == older.id
            assert report[iid].data_loss_window_seconds is not None
            assert report[iid].data_loss_window_seconds > 0  # an older point loses writes
            with pytest.raises(InvalidStateError, match="only after a failover"):
                migration.change_recovery_point(plan, iid, older.id)
        changed = [f for f in sandbox.emulator.failovers if f.kind == "change-point"]
        assert [f.recovery_point_id for f in changed] == [older.id]
