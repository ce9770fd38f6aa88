"""A new process re-plans from AWS before it resumes: the plan must agree with the journal."""

from __future__ import annotations

from pathlib import Path

import pytest

import ec2asr
from ec2asr.migration.stages import MachineStatus, Stage
from tests.e2e._migration import fast_sandbox, make_migration, writes_by_item

pytestmark = pytest.mark.e2e


def test_a_replan_after_failover_carries_the_stopped_source_on(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    with fast_sandbox() as sandbox:
        ids = list(sandbox.seed_fleet(profiles=["win2016"]).instance_ids)
        discovery = ec2asr.Ec2Discovery(sandbox.new_aws_session())
        with make_migration(sandbox, journal) as first:
            plan = first.plan(discovery.discover(instance_ids=ids), test_migration=False)
            first.run(plan, until=Stage.FAILED_OVER, confirm_cutover=True, test_migration=False)
        (machine,) = discovery.discover(instance_ids=ids)
        assert machine.state == "stopped"
        # Another process: a fresh plan sees a stopped instance, and the journal says why.
        with make_migration(sandbox, journal) as again:
            plan = again.plan([machine], test_migration=False)
            assert plan.blocked == ()
            assert any("its cutover began" in note for note in plan[ids[0]].notes)
            report = again.run(plan, confirm_cutover=True, test_migration=False)
        assert report[ids[0]].stage is Stage.COMPLETED
        ops = writes_by_item(sandbox)[ids[0]]
        assert ops.count("unplannedFailover") == 1
        assert ops.count("failoverCommit") == 1


def test_a_stopped_instance_that_never_started_its_cutover_stays_blocked(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        ids = list(sandbox.seed_fleet(profiles=["stopped"]).instance_ids)
        discovery = ec2asr.Ec2Discovery(sandbox.new_aws_session())
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(discovery.discover(instance_ids=ids))
            assert [p.instance_id for p in plan.blocked] == ids
            assert "the instance is stopped" in plan[ids[0]].blockers[0]


def test_a_machine_blocked_earlier_migrates_once_its_blocker_is_gone(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    with fast_sandbox() as sandbox:
        ids = list(sandbox.seed_fleet(profiles=["stopped"]).instance_ids)
        discovery = ec2asr.Ec2Discovery(sandbox.new_aws_session())
        with make_migration(sandbox, journal) as first:
            report = first.run(first.plan(discovery.discover(instance_ids=ids)))
            assert report[ids[0]].status is MachineStatus.BLOCKED
        sandbox.new_aws_session().client("ec2").start_instances(InstanceIds=ids)
        with make_migration(sandbox, journal) as again:
            plan = again.plan(discovery.discover(instance_ids=ids))
            assert plan.blocked == ()
            report = again.run(plan, until=Stage.REPLICATING)
        assert report[ids[0]].stage is Stage.REPLICATING
        assert report[ids[0]].status is MachineStatus.DONE
        # And the other way round: a machine that never started is blocked by a newer plan.
        with make_migration(sandbox, tmp_path / "other.sqlite") as other:
            plan = other.plan(discovery.discover(instance_ids=ids))
            other.prepare(plan)
            assert other.status()[ids[0]].status is MachineStatus.PENDING
            sandbox.new_aws_session().client("ec2").stop_instances(InstanceIds=ids)
            # A stopped instance without a cutover in the journal blocks again.
            blocked = other.plan(discovery.discover(instance_ids=ids))
            assert blocked.blocked
            other.prepare(blocked)
            assert other.status()[ids[0]].status is MachineStatus.BLOCKED
