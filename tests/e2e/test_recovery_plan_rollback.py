"""Recovery-plan cutover respects ``until`` (no commit before it is asked for) and can be rolled
back as a whole, then cut over again."""

from __future__ import annotations

from pathlib import Path

import pytest

import ec2asr
from ec2asr.errors import InvalidStateError
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.testing import Sandbox
from tests.e2e._migration import fast_sandbox, make_migration, writes_by_item

pytestmark = pytest.mark.e2e


def _plan_ops(sandbox: Sandbox) -> list[str]:
    return [
        w.path.split("?")[0].rsplit("/", 1)[-1]
        for w in sandbox.emulator.writes
        if "replicationRecoveryPlans" in w.path
    ]


def test_recovery_plan_stops_at_failed_over_rolls_back_whole_and_cuts_over_again(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sandbox:
        ids = list(sandbox.seed_fleet(profiles=["win2016", "rhel67"]).instance_ids)
        machines = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(instance_ids=ids)
        spec = RecoveryPlanSpec(name="wave1", groups=[ids[:1], ids[1:]])
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines, recovery_plan=spec, test_migration=False)
            report = migration.run(
                plan,
                until=Stage.FAILED_OVER,
                confirm_cutover=True,
                test_migration=False,
                recovery_plan=spec,
            )
            assert {m.stage for m in report} == {Stage.FAILED_OVER}
            assert "failoverCommit" not in _plan_ops(sandbox)  # not asked for: not committed

            with pytest.raises(InvalidStateError, match="roll them back together"):
                migration.rollback(plan, instance_ids=ids[:1])
            report = migration.rollback(plan)
            assert {m.status for m in report} == {MachineStatus.ROLLED_BACK}
            assert {m.stage for m in report} == {Stage.TEST_CLEANED_UP}

            report = migration.run(
                plan, confirm_cutover=True, test_migration=False, recovery_plan=spec
            )
        assert {m.stage for m in report} == {Stage.COMPLETED}
        ops = _plan_ops(sandbox)
        assert ops.count("unplannedFailover") == 2  # failed over, rolled back, failed over
        assert ops.count("failoverCommit") == 1
        for iid in ids:
            item_ops = writes_by_item(sandbox)[iid]
            assert item_ops.count("failoverCancel") == 1
            assert "unplannedFailover" not in item_ops  # only the plan fails over
