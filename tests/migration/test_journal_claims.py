"""Workers' claims on a PostgreSQL journal: shared out, fenced, renewed, taken over after they
expire on the server's clock — and never stolen by a worker whose own clock is wrong."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ec2asr import PostgresJournal
from ec2asr.errors import ClaimLostError, MachineClaimedError
from ec2asr.migration.stages import MachineStatus, Stage
from tests._journals import admin, pg_journal

IDS = ["i-1", "i-2", "i-3", "i-4"]


def _worker(schema: str, name: str, **kwargs: object) -> PostgresJournal:
    journal = pg_journal(schema, worker_id=name, claim_ttl=60, **kwargs)  # type: ignore[arg-type]
    journal.open()
    journal.register_worker()
    return journal


def _expire(schema: str, worker: str) -> None:
    """Time passes on the server for ``worker``'s claims and registration (it stalled)."""
    with admin() as conn:
        conn.execute(
            f"UPDATE \"{schema}\".machines SET claim_expires = now() - interval '1 second' "
            "WHERE claimed_by = %s",
            (worker,),
        )
        conn.execute(
            f"UPDATE \"{schema}\".workers SET expires_at = now() - interval '1 second' "
            "WHERE worker_id = %s",
            (worker,),
        )


def _claims(schema: str) -> dict[str, str | None]:
    with admin() as conn:
        rows = conn.execute(
            f'SELECT instance_id, claimed_by FROM "{schema}".machines ORDER BY instance_id'
        ).fetchall()
    return dict(rows)


@pytest.fixture
def two(pg_schema: str):
    a = _worker(pg_schema, "worker-a")
    b = _worker(pg_schema, "worker-b")
    for iid in IDS:
        a.update_machine(iid)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_workers_share_machines_and_skip_each_others(two, pg_schema: str) -> None:
    a, b = two
    assert a.live_workers() == 2
    mine = a.claim(IDS, limit=2)
    assert [r.instance_id for r in mine] == ["i-1", "i-2"]
    theirs = b.claim(IDS)
    assert [r.instance_id for r in theirs] == ["i-3", "i-4"]
    assert _claims(pg_schema) == {
        "i-1": "worker-a",
        "i-2": "worker-a",
        "i-3": "worker-b",
        "i-4": "worker-b",
    }
    assert b.holders(IDS) == {"i-1": "worker-a", "i-2": "worker-a"}
    views = {v.record.instance_id: v.holder for v in b.survey(IDS)}
    assert views == {"i-1": "worker-a", "i-2": "worker-a", "i-3": None, "i-4": None}
    # Claiming again is idempotent and counts what is held.
    assert [r.instance_id for r in a.claim(IDS, limit=2)] == ["i-1", "i-2"]
    # All or nothing: a recovery plan's members are not split.
    assert a.claim(IDS, all_or_nothing=True) == []
    assert _claims(pg_schema)["i-3"] == "worker-b"


def test_every_write_about_a_held_machine_is_fenced(two, pg_schema: str) -> None:
    a, b = two
    a.claim(["i-1"])
    a.update_machine("i-1", stage=Stage.REPLICATING)
    step = a.begin_step("i-1", "test-failover")
    a.record_lease("l-1", "sg-1", {"port": 443}, holder="i-1")
    with pytest.raises(MachineClaimedError, match="held by the live worker worker-a") as caught:
        b.update_machine("i-1", stage=Stage.COMPLETED)
    assert caught.value.holders == {"i-1": "worker-a"}
    with pytest.raises(MachineClaimedError):
        b.begin_step("i-1", "unplanned-failover")
    with pytest.raises(MachineClaimedError):
        b.end_step(step.id, succeeded=True)
    with pytest.raises(MachineClaimedError):
        b.record_lease("l-1", "sg-1", {"port": 443}, holder="i-1")
    with pytest.raises(MachineClaimedError):
        b.release_lease("l-1", "i-1")
    # Nothing of B's was written.
    record = a.machine("i-1")
    assert record is not None
    assert record.stage is Stage.REPLICATING
    assert [s.step for s in a.steps("i-1")] == ["test-failover"]
    assert a.open_steps("i-1")[0].id == step.id
    (lease,) = a.leases()
    assert lease.holders == ("i-1",)
    # Machines nobody holds, and recovery-plan subjects, are written freely.
    b.update_machine("i-2", data={"x": 1})
    b.begin_step("plan:wave", "create-recovery-plan")


def test_a_stalled_worker_loses_its_machines_and_writes_nothing(two, pg_schema: str) -> None:
    a, b = two
    a.claim(["i-1", "i-2"])
    _expire(pg_schema, "worker-a")
    taken: list[tuple[str, str]] = []
    got = b.claim(IDS, on_takeover=lambda iid, prev: taken.append((iid, prev)))
    assert [r.instance_id for r in got] == IDS
    assert taken == [("i-1", "worker-a"), ("i-2", "worker-a")]
    steps_before = len(b.steps())
    with pytest.raises(ClaimLostError, match="lost its claim on i-1 to worker-b") as caught:
        a.begin_step("i-1", "unplanned-failover")
    assert caught.value.holders == {"i-1": "worker-b"}
    with pytest.raises(MachineClaimedError):  # no longer believed held: plainly refused
        a.update_machine("i-1", stage=Stage.FAILED_OVER)
    assert len(b.steps()) == steps_before
    record = b.machine("i-1")
    assert record is not None
    assert record.stage is Stage.PLANNED
    # Its next renewal says what else it lost.
    assert a.renew_claims() == frozenset({"i-2"})


def test_an_expired_claim_nobody_took_is_renewed(two, pg_schema: str) -> None:
    a, _ = two
    a.claim(["i-1"])
    _expire(pg_schema, "worker-a")
    assert a.renew_claims() == frozenset()
    a.update_machine("i-1", stage=Stage.PREPARED)  # still its machine
    with admin() as conn:
        (live,) = conn.execute(
            f'SELECT claim_expires > now() FROM "{pg_schema}".machines WHERE instance_id = %s',
            ("i-1",),
        ).fetchone()
    assert live


@pytest.mark.parametrize("skew", [timedelta(hours=3), -timedelta(hours=3)], ids=["ahead", "behind"])
def test_a_clock_skewed_worker_cannot_steal_a_live_claim(
    two, pg_schema: str, skew: timedelta
) -> None:
    a, _ = two
    a.claim(["i-1", "i-2"])
    skewed = _worker(pg_schema, "worker-skewed", clock=lambda: datetime.now(timezone.utc) + skew)
    try:
        got = skewed.claim(IDS)
        assert [r.instance_id for r in got] == ["i-3", "i-4"]  # a safe wait for the others
        with pytest.raises(MachineClaimedError):
            skewed.begin_step("i-1", "unplanned-failover")
        assert a.steps("i-1") == []
        # Its own claims run on the server's clock too: they last claim_ttl from the server's
        # now, whatever its clock says.
        with admin() as conn:
            (seconds,) = conn.execute(
                f'SELECT extract(epoch FROM claim_expires - now()) FROM "{pg_schema}".machines '
                "WHERE instance_id = %s",
                ("i-3",),
            ).fetchone()
        assert 50 < float(seconds) <= 60
    finally:
        skewed.close()
    assert _claims(pg_schema)["i-1"] == "worker-a"


def test_close_releases_claims_and_withdraws_the_worker(two, pg_schema: str) -> None:
    a, b = two
    a.claim(IDS)
    assert b.live_workers() == 2
    a.close()
    assert set(_claims(pg_schema).values()) == {None}
    assert b.live_workers() == 1
    assert [r.instance_id for r in b.claim(IDS)] == IDS


def test_settled_machines_are_retried_only_by_a_later_run(two, pg_schema: str) -> None:
    a, b = two
    a.update_machine("i-1", status=MachineStatus.FAILED)
    # b's run starts after i-1 failed: i-1 changed before it.
    b.register_worker()
    views = {v.record.instance_id: v.changed_before_run for v in b.survey(IDS)}
    assert views["i-1"] is True
    b.update_machine("i-2", status=MachineStatus.FAILED)  # fails during b's run
    views = {v.record.instance_id: v.changed_before_run for v in b.survey(IDS)}
    assert views["i-2"] is False
    seen: list[tuple[str, bool]] = []

    def eligible(record, changed_before_run):  # type: ignore[no-untyped-def]
        seen.append((record.instance_id, changed_before_run))
        return record.status is not MachineStatus.FAILED or changed_before_run

    got = b.claim(IDS, eligible=eligible)
    assert [r.instance_id for r in got] == ["i-1", "i-3", "i-4"]
    assert ("i-2", False) in seen


def test_fleet_preparation_is_one_worker_at_a_time(two) -> None:
    a, b = two
    waits: list[float] = []
    with a.fleet_lock():

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 3:
                raise TimeoutError("still held")

        with pytest.raises(TimeoutError), b.fleet_lock(sleep=sleep):
            pass
    assert waits == [1.0, 1.0, 1.0]
    with b.fleet_lock(sleep=lambda s: pytest.fail("the lock was free")):
        pass


def test_leased_rule_changes_are_one_worker_at_a_time(two, monkeypatch: pytest.MonkeyPatch) -> None:
    from ec2asr.aws.leases import SecurityGroupLeases
    from ec2asr.migration import _pg_claims

    a, b = two
    held = a.exclusive("security-group-leases")
    held.__enter__()
    polls: list[float] = []

    def sleep(seconds: float) -> None:  # the other worker finishes its change meanwhile
        polls.append(seconds)
        if len(polls) == 2:
            held.__exit__(None, None, None)

    monkeypatch.setattr(_pg_claims.time, "sleep", sleep)
    import boto3

    ec2 = boto3.client(  # never called: there is nothing to revoke
        "ec2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    leases = SecurityGroupLeases(ec2_client=ec2, journal=b, namespace="team")
    assert leases.revoke_all() == ()  # waited for the lock, then found nothing to revoke
    assert polls == [0.2, 0.2]


def test_workers_install_agents_in_turn(two, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ec2asr import SqliteJournal
    from ec2asr.migration._workers import OneInstallerAtATime, team_installer

    a, b = two
    calls: list[str] = []

    class Installer:
        def install(self, machines, context):  # type: ignore[no-untyped-def]
            calls.append("installed")
            return []

    installer = Installer()
    with SqliteJournal(tmp_path / "m.sqlite") as alone:  # one process: nothing to take turns
        assert team_installer(installer, alone, sleep=lambda s: None, poll=30) is installer
    held = a.exclusive("mobility-install")
    held.__enter__()

    def sleep(seconds: float) -> None:  # the other worker's install ends meanwhile
        calls.append(f"waited {seconds:g}")
        held.__exit__(None, None, None)

    turn = team_installer(installer, b, sleep=sleep, poll=30)
    assert isinstance(turn, OneInstallerAtATime)
    assert turn.install([], None) == []  # type: ignore[arg-type]
    assert calls == ["waited 30", "installed"]
