"""A whole migration against the emulator as the published spec alone describes Site Recovery
(no Azure-AsyncOperation: ec2asr takes job ids from Location and polls it) and with missing
child resources answered 400, as the live service has been seen to: per machine with a
rollback, and with a recovery plan."""

from __future__ import annotations

from pathlib import Path

import pytest

import ec2asr
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import MachineStatus, Stage
from tests.e2e._migration import delete_vm, fast_sandbox, make_migration, writes_by_item

pytestmark = pytest.mark.e2e


def test_a_whole_migration_in_spec_mode_with_400_for_missing(tmp_path: Path) -> None:
    with fast_sandbox(lro_mode="spec", missing_child_status=400) as sandbox:
        answers: list[tuple[int, dict[str, str]]] = []
        sandbox.emulator.add_exchange_hook(
            lambda request, response: answers.append((response.status, dict(response.headers)))
        )
        discover = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover
        ids = list(sandbox.seed_fleet(profiles=["win2019", "rhel79"]).instance_ids)
        with make_migration(sandbox, tmp_path / "one.sqlite") as migration:
            plan = migration.plan(discover(instance_ids=ids))
            report = migration.run(plan, until=Stage.FAILED_OVER, confirm_cutover=True)
            assert {m.stage for m in report} == {Stage.FAILED_OVER}, str(report)
            report = migration.rollback(plan, instance_ids=ids[:1])
            assert report[ids[0]].status is MachineStatus.ROLLED_BACK
            assert report[ids[0]].rolled_back is not None
            delete_vm(sandbox, str(report[ids[0]].rolled_back["azure_vm_id"]))
            report = migration.run(plan, confirm_cutover=True)
            assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)
        writes = writes_by_item(sandbox)
        assert writes[ids[0]].count("PUT") == 2
        assert writes[ids[1]].count("PUT") == 1
        for iid in ids:
            assert writes[iid].count("failoverCommit") == 1

        plan_ids = list(sandbox.seed_fleet(profiles=["win2016", "rhel67"]).instance_ids)
        spec = RecoveryPlanSpec(name="wave-spec", groups=[plan_ids[:1], plan_ids[1:]])
        with make_migration(sandbox, tmp_path / "plan.sqlite") as migration:
            plan = migration.plan(discover(instance_ids=plan_ids), recovery_plan=spec)
            report = migration.run(plan, confirm_cutover=True, recovery_plan=spec)
            assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)
        assert not any(f.data_loss for f in sandbox.emulator.failovers if f.kind == "unplanned")
        # Nothing answered with the header the spec does not declare; every 202 had Location.
        asr = [h for status, h in answers if status == 202 and "RecoveryServices" in h["Location"]]
        assert len(asr) > 20
        assert all("/operationresults/" in h["Location"] for h in asr)
        assert not [h for h in asr if "Azure-AsyncOperation" in h]
        assert not [
            h
            for _, h in answers
            if "replicationOperationStatus" in h.get("Azure-AsyncOperation", "")
        ]
