"""Rollback paths the modernized stack allows: after a failed failover, an interrupted rollback
finished by running it again, and a recovery plan that cannot drain."""

from __future__ import annotations

from pathlib import Path

import pytest

import ec2asr
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.testing import Sandbox
from tests.e2e._migration import TARGET, delete_vm, fast_sandbox, make_migration, writes_by_item
from tests.e2e.test_cutover_drain import CutPath

pytestmark = pytest.mark.e2e


def _fleet(sandbox: Sandbox, profiles: list[str]) -> list[ec2asr.SourceMachine]:
    ids = sandbox.seed_fleet(profiles=profiles).instance_ids
    return ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(instance_ids=ids)


def _vm_id(name: str) -> str:
    return f"{TARGET.resource_group_id}/providers/Microsoft.Compute/virtualMachines/{name}"


def test_rollback_after_a_failed_failover(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["rhel79"])
        iid = machines[0].instance_id
        sandbox.emulator.inject_fault(
            f"POST */replicationProtectedItems/{iid}/unplannedFailover", job_error="28127"
        )
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            report = migration.run(plan, confirm_cutover=True)
            assert (report[iid].stage, report[iid].status) == (
                Stage.SOURCE_STOPPED,
                MachineStatus.FAILED,
            )
            assert "28127" in (report[iid].error or "")
            (item,) = [i for i in migration.asr.list_protected_items() if i.name == iid]
            assert item.failover_failed
            # Replication does not resume after a failed failover: roll back, start over.
            report = migration.rollback(plan)
            assert (report[iid].stage, report[iid].status) == (
                Stage.DISCOVERED,
                MachineStatus.ROLLED_BACK,
            )
            assert report[iid].rolled_back is not None
            assert report[iid].rolled_back["azure_vm_id"] is None  # the failover made no VM
            report = migration.run(plan, confirm_cutover=True)
            assert report[iid].stage is Stage.COMPLETED
        ops = writes_by_item(sandbox)[iid]
        assert ops.count("PUT") == 2
        assert ops.count("unplannedFailover") == 2
        assert ops.count("failoverCommit") == 1


def test_an_interrupted_rollback_is_finished_by_running_it_again(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2019"])
        iid = machines[0].instance_id
        vm_name = machines[0].name or iid
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines)
            migration.run(plan, until=Stage.FAILED_OVER, confirm_cutover=True)
            sandbox.emulator.inject_fault(f"POST */{iid}/remove", job_error="28050")
            report = migration.rollback(plan)
            assert report[iid].status is MachineStatus.FAILED
            assert report[iid].stage is Stage.FAILED_OVER
            vm = sandbox.emulator.virtual_machine(_vm_id(vm_name))
            assert vm is not None
            assert vm.power_state(sandbox.now()) == "deallocated"
            report = migration.rollback(plan)
            assert (report[iid].stage, report[iid].status) == (
                Stage.DISCOVERED,
                MachineStatus.ROLLED_BACK,
            )
            delete_vm(sandbox, vm.id)
            report = migration.run(plan, confirm_cutover=True)
            assert report[iid].stage is Stage.COMPLETED
        ops = writes_by_item(sandbox)[iid]
        assert ops.count("remove") == 3  # the failed disable, the rollback's, the completion
        deallocations = [w for w in sandbox.emulator.writes if w.path.endswith("/deallocate")]
        assert len(deallocations) == 1  # the second rollback saw it deallocated already


def test_a_recovery_plan_with_a_member_that_cannot_drain_fails_as_a_whole(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        machines = _fleet(sandbox, ["win2019", "rhel79"])
        ids = [m.instance_id for m in machines]
        oracle = CutPath(sandbox.emulator.connectivity)
        sandbox.emulator.set_connectivity_oracle(oracle)
        spec = RecoveryPlanSpec(name="wave1")
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines, recovery_plan=spec)
            migration.run(plan, recovery_plan=spec)
            oracle.closed.add(ids[0])
            report = migration.run(
                plan, confirm_cutover=True, recovery_plan=spec, drain_timeout=1200
            )
            assert {m.status for m in report} == {MachineStatus.FAILED}
            assert {m.stage for m in report} == {Stage.SOURCE_STOPPED}
            assert all("DataPendingError" in (m.error or "") for m in report)
            assert ids[0] in (report[ids[1]].error or "")  # the member it waits for is named
        plan_writes = [
            w.path for w in sandbox.emulator.writes if "replicationRecoveryPlans" in w.path
        ]
        assert not [p for p in plan_writes if p.endswith("/unplannedFailover")]
