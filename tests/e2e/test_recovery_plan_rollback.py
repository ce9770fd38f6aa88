"""Recovery-plan cutover respects ``until`` (no commit before it is asked for) and can be rolled
back as a whole (the plan is deleted, every member's protection disabled: no CancelFailover in
the modernized stack), then cut over again after a new initial replication."""

from __future__ import annotations

from pathlib import Path

import pytest

import ec2asr
from ec2asr.errors import InvalidStateError
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.testing import Sandbox
from tests.e2e._migration import delete_vm, fast_sandbox, make_migration, writes_by_item

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
            assert {m.stage for m in report} == {Stage.DISCOVERED}
            assert "wave1" in _plan_ops(sandbox)  # DELETE of the plan
            for machine in report:
                assert machine.rolled_back is not None
                delete_vm(sandbox, str(machine.rolled_back["azure_vm_id"]))

            report = migration.run(
                plan, confirm_cutover=True, test_migration=False, recovery_plan=spec
            )
        assert {m.stage for m in report} == {Stage.COMPLETED}
        ops = _plan_ops(sandbox)
        assert ops.count("unplannedFailover") == 2  # failed over, rolled back, failed over
        assert ops.count("failoverCommit") == 1
        assert "failoverCancel" not in ops
        for iid in ids:
            item_ops = writes_by_item(sandbox)[iid]
            assert "failoverCancel" not in item_ops
            assert item_ops.count("PUT") == 2  # replication enabled again after the rollback
            assert item_ops.count("remove") == 2  # the rollback's disable, then completion
            assert "unplannedFailover" not in item_ops  # only the plan fails over
        assert not any(f.data_loss for f in sandbox.emulator.failovers if f.kind == "unplanned")
