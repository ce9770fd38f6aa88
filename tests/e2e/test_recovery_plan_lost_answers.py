"""A recovery-plan cutover whose every plan write loses its answer once (the connection resets
after ASR accepted it): ec2asr looks ASR's jobs for the plan up before sending anything again,
follows the job it finds, and never writes a plan operation twice. Exactly one job per plan
operation; every machine completes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import ec2asr
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import Stage
from ec2asr.testing import Sandbox
from tests.e2e._migration import fast_sandbox, make_migration, writes_by_item

pytestmark = pytest.mark.e2e

PLAN_WRITES = {
    "PUT */replicationRecoveryPlans/*": "CreateRecoveryPlan",
    "POST */replicationRecoveryPlans/*/unplannedFailover": "UnplannedFailover",
    "POST */replicationRecoveryPlans/*/failoverCommit": "CommitFailover",
}


def _plan_jobs(sandbox: Sandbox) -> Counter[tuple[str, str]]:
    vault = sandbox.emulator.get_vault_state()
    return Counter(
        (job.target_object_name, job.scenario_name)
        for job in vault.jobs.all()
        if job.target_instance_type == "RecoveryPlan"
    )


def _plan_writes(sandbox: Sandbox) -> Counter[str]:
    return Counter(
        f"{w.method} {w.path.split('?')[0].split('replicationRecoveryPlans/')[1]}"
        for w in sandbox.emulator.writes
        if "replicationRecoveryPlans/" in w.path
    )


def test_each_plan_write_loses_its_answer_once(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        ids = list(sandbox.seed_fleet(profiles=["win2016", "rhel79", "win2019"]).instance_ids)
        machines = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(instance_ids=ids)
        spec = RecoveryPlanSpec(name="wave1", groups=[ids[:1], ids[1:]])
        rules = [
            sandbox.emulator.inject_fault(pattern, reset_after=True, times=1)
            for pattern in PLAN_WRITES
        ]
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(machines, recovery_plan=spec)
            report = migration.run(plan, confirm_cutover=True, recovery_plan=spec)
        assert {m.stage for m in report} == {Stage.COMPLETED}, report.summary()
        assert [rule.hits for rule in rules] == [1, 1, 1]  # each answer really was lost

        jobs = _plan_jobs(sandbox)
        assert jobs == Counter({("wave1", scenario): 1 for scenario in PLAN_WRITES.values()})
        assert _plan_writes(sandbox) == Counter(
            {"PUT wave1": 1, "POST wave1/unplannedFailover": 1, "POST wave1/failoverCommit": 1}
        )
        for iid in ids:
            ops = writes_by_item(sandbox)[iid]
            assert "unplannedFailover" not in ops  # only the plan fails over
            assert ops.count("remove") == 1
        failovers = [f for f in sandbox.emulator.failovers if f.kind == "unplanned"]
        assert sorted(f.item for f in failovers) == sorted(ids)
        assert not any(f.data_loss for f in failovers)
        # The journal says what happened: each plan step followed the job ASR had accepted.
        with ec2asr.Journal(tmp_path / "j.sqlite", read_only=True) as journal:
            steps = journal.steps("plan:wave1")
        succeeded = Counter(s.step for s in steps if s.state == "succeeded")
        assert succeeded == Counter(
            {"create-recovery-plan": 1, "plan-failover": 1, "plan-commit": 1}
        )


def _failed_over_plan(sandbox: Sandbox, tmp_path: Path) -> tuple[list[str], RecoveryPlanSpec]:
    ids = list(sandbox.seed_fleet(profiles=["win2016", "rhel79"]).instance_ids)
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
    return ids, spec


def _plan_deletes(sandbox: Sandbox) -> int:
    return sum(
        1
        for w in sandbox.emulator.writes
        if w.method == "DELETE" and "replicationRecoveryPlans/" in w.path
    )


def test_a_rollback_whose_plan_delete_loses_its_answer_deletes_once(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        ids, spec = _failed_over_plan(sandbox, tmp_path)
        rule = sandbox.emulator.inject_fault(
            "DELETE */replicationRecoveryPlans/*", reset_after=True, times=1
        )
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(
                ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(instance_ids=ids),
                recovery_plan=spec,
                test_migration=False,
            )
            report = migration.rollback(plan)
        assert rule.hits == 1  # the answer really was lost
        assert {m.stage for m in report} == {Stage.DISCOVERED}
        assert _plan_deletes(sandbox) == 1  # looked up, never sent again
        assert _plan_jobs(sandbox)[("wave1", "DeleteRecoveryPlan")] == 1
        with ec2asr.Journal(tmp_path / "j.sqlite", read_only=True) as journal:
            deletes = [s for s in journal.steps("plan:wave1") if s.step == "delete-recovery-plan"]
        assert [s.state for s in deletes] == ["succeeded"]
        assert deletes[0].job_name


def test_a_plan_delete_whose_answer_and_jobs_are_lost_is_settled_by_the_next_rollback(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sandbox:
        ids, spec = _failed_over_plan(sandbox, tmp_path)
        sandbox.emulator.inject_fault(
            "DELETE */replicationRecoveryPlans/*", reset_after=True, times=1
        )
        reads = sandbox.emulator.inject_fault("GET */replicationJobs", status=400, times=None)
        with make_migration(sandbox, tmp_path / "j.sqlite") as migration:
            plan = migration.plan(
                ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(instance_ids=ids),
                recovery_plan=spec,
                test_migration=False,
            )
            with pytest.raises(ec2asr.AzureError):
                migration.rollback(plan)
            assert reads.hits >= 1
            with ec2asr.Journal(tmp_path / "j.sqlite", read_only=True) as journal:
                steps = journal.steps("plan:wave1")
            assert [s.is_open for s in steps if s.step == "delete-recovery-plan"] == [True]
            sandbox.emulator.clear_faults()
            report = migration.rollback(plan)
        assert {m.stage for m in report} == {Stage.DISCOVERED}
        assert _plan_deletes(sandbox) == 1  # the re-run found the first delete's job
        assert _plan_jobs(sandbox)[("wave1", "DeleteRecoveryPlan")] == 1
