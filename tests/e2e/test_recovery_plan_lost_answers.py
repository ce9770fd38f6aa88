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
