"""Crashes at the two dangerous moments of every ASR write, then a fresh process resumes:

- after the write-ahead journal entry, before the request left (nothing happened in Azure);
- after Azure accepted the request, before the journal recorded it (Azure did it, the journal
  does not know).

Either way the re-run completes every machine with exactly one enable, failover and commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ec2asr
from ec2asr.migration.journal import Journal
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import Stage
from tests.e2e._migration import fast_sandbox, make_migration, writes_by_item


class Crash(BaseException):
    """Stands for SIGKILL: nothing in ec2asr catches it."""


def _arm_crash_after_accept(monkeypatch: pytest.MonkeyPatch, step_name: str) -> None:
    original = Journal.step_accepted

    def step_accepted(self: Journal, step_id: int, **kwargs: Any) -> Any:
        step = next(s for s in self.steps() if s.id == step_id)
        if step.step == step_name:
            raise Crash(step_name)
        return original(self, step_id, **kwargs)

    monkeypatch.setattr(Journal, "step_accepted", step_accepted)


def _arm_crash_before_send(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise Crash(method)

    monkeypatch.setattr(ec2asr.SiteRecoveryClient, method, crash)


ITEM_STEPS = [
    ("enable-replication", "begin_enable_replication"),
    ("test-failover", "begin_test_failover"),
    ("unplanned-failover", "begin_unplanned_failover"),
    ("commit", "begin_commit_failover"),
    ("complete-migration", "begin_complete_migration"),
]
PLAN_STEPS = [
    ("create-recovery-plan", "begin_create_recovery_plan"),
    ("plan-failover", "begin_plan_unplanned_failover"),
    ("plan-commit", "begin_plan_commit"),
]


def _run_with_crash(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    step: str,
    method: str,
    after_accept: bool,
    recovery_plan: bool,
) -> None:
    journal = tmp_path / "j.sqlite"
    spec = RecoveryPlanSpec(name="wave") if recovery_plan else None
    with fast_sandbox() as sandbox:
        fleet = sandbox.seed_fleet(profiles=["win2016", "rhel67"])
        machines = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(
            instance_ids=fleet.instance_ids
        )
        with monkeypatch.context() as patch:
            if after_accept:
                _arm_crash_after_accept(patch, step)
            else:
                _arm_crash_before_send(patch, method)
            with make_migration(sandbox, journal) as migration:
                plan = migration.plan(machines, recovery_plan=spec)
                with pytest.raises(Crash):
                    migration.run(plan, confirm_cutover=True, recovery_plan=spec)
        with make_migration(sandbox, journal) as again:
            report = again.run(plan, confirm_cutover=True, recovery_plan=spec)
        assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)
        writes = writes_by_item(sandbox)
        for iid in fleet.instance_ids:
            ops = writes[iid]
            assert ops.count("PUT") == 1, ops
            assert ops.count("remove") == 1, ops
            expected = 0 if recovery_plan else 1
            assert ops.count("unplannedFailover") == expected, ops
            assert ops.count("failoverCommit") == expected, ops
        if recovery_plan:
            plan_ops = [
                w.path.split("?")[0].rsplit("/", 1)[-1]
                for w in sandbox.emulator.writes
                if "replicationRecoveryPlans" in w.path
            ]
            assert plan_ops.count("wave") == 1
            assert plan_ops.count("unplannedFailover") == 1
            assert plan_ops.count("failoverCommit") == 1
        assert not any(f.data_loss for f in sandbox.emulator.failovers)


@pytest.mark.parametrize("after_accept", [False, True], ids=["before-send", "after-accept"])
@pytest.mark.parametrize(("step", "method"), ITEM_STEPS, ids=[s for s, _ in ITEM_STEPS])
def test_item_step_crash_then_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, method: str, after_accept: bool
) -> None:
    _run_with_crash(
        tmp_path,
        monkeypatch,
        step=step,
        method=method,
        after_accept=after_accept,
        recovery_plan=False,
    )


@pytest.mark.parametrize("after_accept", [False, True], ids=["before-send", "after-accept"])
@pytest.mark.parametrize(("step", "method"), PLAN_STEPS, ids=[s for s, _ in PLAN_STEPS])
def test_plan_step_crash_then_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, method: str, after_accept: bool
) -> None:
    _run_with_crash(
        tmp_path,
        monkeypatch,
        step=step,
        method=method,
        after_accept=after_accept,
        recovery_plan=True,
    )
