"""Rollback, a change of recovery point and abort from another host while a worker of the team
holds the machines: refused before anything is written, naming the worker; once it is gone they
go ahead (taking the machines' claims meanwhile). Status reads throughout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ec2asr import MachineClaimedError, MachineStatus, PostgresJournal, Stage
from ec2asr.testing import Sandbox
from tests._journals import admin, pg_journal
from tests.e2e._migration import fast_sandbox, make_migration

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with fast_sandbox() as started:
        yield started


def test_rollback_and_abort_wait_for_the_live_worker(sandbox: Sandbox, pg_schema: str) -> None:
    fleet = sandbox.seed_fleet(n=2, profiles=["win2016"])
    ids = list(fleet.instance_ids)
    with make_migration(sandbox, pg_journal(pg_schema)) as first:
        plan = first.plan(first.ec2.discover(instance_ids=ids))
        report = first.run(plan, until=Stage.FAILED_OVER, confirm_cutover=True)
    assert {m.stage for m in report} == {Stage.FAILED_OVER}
    busy = pg_journal(pg_schema, worker_id="busy-worker", claim_ttl=300)
    busy.open()
    busy.register_worker()
    assert len(busy.claim(ids)) == 2
    other = make_migration(sandbox, pg_journal(pg_schema))
    writes = len(sandbox.emulator.writes)
    try:
        with pytest.raises(MachineClaimedError, match="cannot roll back") as caught:
            other.rollback(plan)
        assert caught.value.holders == dict.fromkeys(ids, "busy-worker")
        point = f"{ids[0]}/recoveryPoints/any"
        with pytest.raises(MachineClaimedError, match="change the recovery point"):
            other.change_recovery_point(plan, ids[0], point)
        with pytest.raises(MachineClaimedError, match="cannot abort"):
            other.abort()
        assert len(sandbox.emulator.writes) == writes
        assert {m.stage for m in other.status()} == {Stage.FAILED_OVER}
    finally:
        busy.close()  # the worker finishes: its claims are released
    report = other.rollback(plan)
    other.close()
    assert {m.status for m in report} == {MachineStatus.ROLLED_BACK}
    assert len(sandbox.emulator.writes) > writes
    with admin() as conn:
        claims = conn.execute(f'SELECT claimed_by FROM "{pg_schema}".machines').fetchall()
    assert claims == [(None,), (None,)]
    with PostgresJournal(pg_journal(pg_schema).dsn, schema=pg_schema, read_only=True) as reader:
        assert {r.stage for r in reader.machines()} == {Stage.DISCOVERED}


def test_a_recovery_plan_is_driven_by_one_worker_the_others_wait(
    sandbox: Sandbox, pg_schema: str
) -> None:
    from ec2asr import RecoveryPlanSpec

    fleet = sandbox.seed_fleet(n=3, profiles=["win2016"])
    ids = list(fleet.instance_ids)
    spec = RecoveryPlanSpec(name="team-plan")
    with make_migration(sandbox, pg_journal(pg_schema)) as first:
        plan = first.plan(first.ec2.discover(instance_ids=ids), recovery_plan=spec)
        first.run(plan, until=Stage.TEST_CLEANED_UP)  # ready for the cutover
    holder = pg_journal(pg_schema, worker_id="plan-holder", claim_ttl=300)
    holder.open()
    holder.register_worker()
    assert len(holder.claim(ids[:1])) == 1  # a worker holds one member of the plan
    writes = len(sandbox.emulator.writes)
    waiter = make_migration(sandbox, pg_journal(pg_schema, worker_id="waiter"))
    try:
        report = waiter.run(plan, confirm_cutover=True, recovery_plan=spec, timeout=600)
        # It waited (a member is held): nothing of the plan was split off or written.
        assert len(sandbox.emulator.writes) == writes
        assert {m.stage for m in report} == {Stage.TEST_CLEANED_UP}
        events = [e["message"] for e in waiter.journal.events()]
        assert any("held by plan-holder" in m for m in events)
    finally:
        holder.close()
    report = waiter.run(plan, confirm_cutover=True, recovery_plan=spec)
    waiter.close()
    assert {m.stage for m in report} == {Stage.COMPLETED}
    plan_ops = [
        w.path.split("?")[0].rsplit("/", 1)[-1]
        for w in sandbox.emulator.writes
        if "replicationRecoveryPlans" in w.path
    ]
    assert plan_ops.count("unplannedFailover") == 1
    assert plan_ops.count("failoverCommit") == 1


def test_a_clock_skewed_worker_waits_and_writes_nothing(sandbox: Sandbox, pg_schema: str) -> None:
    from datetime import timedelta

    fleet = sandbox.seed_fleet(n=2, profiles=["win2016"])
    ids = list(fleet.instance_ids)
    with make_migration(sandbox, pg_journal(pg_schema)) as first:
        plan = first.plan(first.ec2.discover(instance_ids=ids))
        first.run(plan, until=Stage.PROTECTED)
    holder = pg_journal(pg_schema, worker_id="on-time", claim_ttl=300)
    holder.open()
    holder.register_worker()
    assert len(holder.claim(ids)) == 2
    before = {r.instance_id: (r.stage, r.updated_at) for r in holder.machines()}
    writes = len(sandbox.emulator.writes)

    def ahead():  # type: ignore[no-untyped-def]
        return sandbox.now() + timedelta(hours=3)

    skewed = make_migration(sandbox, pg_journal(pg_schema, clock=ahead), now=ahead)
    try:
        report = skewed.run(plan, confirm_cutover=True, timeout=600)
        skewed.close()
        assert len(sandbox.emulator.writes) == writes
        assert {m.stage for m in report} == {Stage.PROTECTED}
        after = {r.instance_id: (r.stage, r.updated_at) for r in holder.machines()}
        assert after == before
        assert holder.renew_claims() == frozenset()  # still the on-time worker's
    finally:
        holder.close()
