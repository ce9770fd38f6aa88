"""Two processes on one journal, on both backends.

- SQLite: the second process gets :class:`~ec2asr.errors.JournalLockedError` and writes nothing
  (not to Azure, not to AWS, not to the journal); after the first is SIGKILLed, a new run takes
  over at once (the kernel released the lock) and completes every machine.
- PostgreSQL (a team): the second process is a colleague's: ``status`` reads while the first
  works, ``abort`` is refused with :class:`~ec2asr.errors.MachineClaimedError` and writes
  nothing; after the first is SIGKILLed, a new run takes its machines over once their claims
  expire (no manual cleanup) and completes every machine.

Either way: exactly one enable, failover and commit per machine, no leased rule left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

import ec2asr
from ec2asr import JournalLockedError, MachineClaimedError, PostgresJournal, SqliteJournal
from ec2asr.migration.stages import Stage
from ec2asr.testing import Sandbox, SimulatedClock, Timings
from tests._journals import PG_URL, admin
from tests.e2e._migration import TARGET, AgentsByHand, ec2asr_rules, writes_by_item

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
SPEED = 600.0
MUTATING = {
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "StopInstances",
    "StartInstances",
    "CreateTags",
    "SendCommand",
}


def _cfg(sandbox: Sandbox, ids: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "region": sandbox.region,
        "account_id": sandbox.aws_account_id,
        "aws_endpoint_url": sandbox.aws_endpoint_url,
        "subscription_id": sandbox.subscription_id,
        "resource_group": sandbox.resource_group,
        "vault": sandbox.vault,
        "base_url": sandbox.base_url,
        "sim_at": sandbox.now().isoformat(),
        "real_at": time.time(),
        "speed": SPEED,
        "instance_ids": ids,
        "target": {
            "resource_group_id": TARGET.resource_group_id,
            "network_id": TARGET.network_id,
            "subnet_name": TARGET.subnet_name,
            "log_storage_account_id": TARGET.log_storage_account_id,
            "test_network_id": TARGET.test_network_id,
        },
        **extra,
    }


def _start(module: str, cfg: dict[str, Any], secret: str) -> subprocess.Popen[str]:
    env = dict(os.environ, EC2ASR_TEST_AGENT_CONFIG=secret, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", module, json.dumps(cfg)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen[str], condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the first process ended too early: {out}\n{err}")
        time.sleep(0.02)
    raise AssertionError("the first process never got there")


def _finish(proc: subprocess.Popen[str]) -> str:
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the last run hung:\n{out}\n{err}") from None
    assert proc.returncode == 0, f"{out}\n{err[-4000:]}"
    return out


def _second(sandbox: Sandbox, journal: Any) -> tuple[ec2asr.Migration, Counter[str]]:
    """The second process's migration (this test's process), counting what it sends."""
    session = sandbox.new_aws_session()
    ec2, ssm = session.client("ec2"), session.client("ssm")
    aws: Counter[str] = Counter()
    for client in (ec2, ssm):
        client.meta.events.register("before-call.*.*", lambda model, **_: aws.update([model.name]))
    asr = ec2asr.SiteRecoveryClient(
        sandbox.credential,
        sandbox.subscription_id,
        resource_group=sandbox.resource_group,
        vault=sandbox.vault,
        base_url=sandbox.base_url,
    )
    migration = ec2asr.Migration(
        ec2=ec2asr.Ec2Discovery(ec2_client=ec2, ssm_client=ssm),
        asr=asr,
        installer=AgentsByHand(sandbox),
        target=TARGET,
        policy=ec2asr.ReplicationPolicy(),
        journal=journal,
        manage_security_groups=True,
        poll_interval=0.05,
        now=sandbox.now,
        name="resume-test",
    )
    return migration, aws


def _exactly_once(sandbox: Sandbox, ids: list[str]) -> None:
    writes = writes_by_item(sandbox)
    for iid in ids:
        ops = writes[iid]
        assert ops.count("PUT") == 1, (iid, ops)
        assert ops.count("unplannedFailover") == 1, (iid, ops)
        assert ops.count("failoverCommit") == 1, (iid, ops)
        assert ops.count("remove") == 1, (iid, ops)
    assert ec2asr_rules(sandbox) == []


def _sqlite_stages(path: Path) -> dict[str, str]:
    import sqlite3

    if not path.exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return dict(conn.execute("SELECT instance_id, stage FROM machines").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return {}


def test_sqlite_second_process_is_refused_and_a_new_run_takes_over(tmp_path: Path) -> None:
    path = tmp_path / "migration.sqlite"
    clock = SimulatedClock(speed=SPEED, monotonic=time.time)
    with Sandbox(clock=clock, timings=Timings(bandwidth_mbps=500)) as sandbox:
        fleet = sandbox.seed_fleet(profiles=["win2016", "rhel8", "rhel67"])
        ids = list(fleet.instance_ids)
        cfg = _cfg(sandbox, ids, journal=str(path))
        secret = sandbox.emulator.mobility_configuration().reveal()
        first = _start("tests.e2e.resume_child", cfg, secret)
        try:
            _wait_for(first, lambda: "replicating" in _sqlite_stages(path).values())
            migration, aws = _second(sandbox, SqliteJournal(path))
            plan = migration.plan(migration.ec2.discover(instance_ids=ids))  # reads only
            with pytest.raises(JournalLockedError, match=f"in use by pid {first.pid}"):
                migration.run(plan, confirm_cutover=True)
            assert not migration.journal.is_open
            assert migration.asr.rate_limiter.counter.writes == 0
            assert not set(aws) & MUTATING, aws
            # The first carries on regardless; then it dies without a chance to clean up.
            first.send_signal(signal.SIGKILL)
            first.wait()
        finally:
            if first.poll() is None:
                first.kill()
                first.communicate()
        assert Path(str(path) + ".lock").exists()  # left behind, and harmless
        out = _finish(_start("tests.e2e.resume_child", cfg, secret))
        assert f"{len(ids)} completed" in out
        _exactly_once(sandbox, ids)


def _pg_rows(schema: str) -> list[tuple[str, str, str | None]]:
    with admin() as conn:
        try:
            return conn.execute(
                f'SELECT instance_id, stage, claimed_by FROM "{schema}".machines'
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return []


def test_postgres_second_process_writes_nothing_and_a_new_run_takes_over(pg_schema: str) -> None:
    clock = SimulatedClock(speed=SPEED, monotonic=time.time)
    with Sandbox(clock=clock, timings=Timings(bandwidth_mbps=500)) as sandbox:
        fleet = sandbox.seed_fleet(profiles=["win2016", "rhel8", "rhel67"])
        ids = list(fleet.instance_ids)
        team = {"dsn": PG_URL, "schema": pg_schema, "claim_ttl": 2.0, "poll_interval": 0.2}
        cfg = _cfg(sandbox, ids, **team)
        secret = sandbox.emulator.mobility_configuration().reveal()
        first = _start("tests.e2e.worker_child", {**cfg, "worker_id": "first"}, secret)
        try:

            def first_holds_replicating_machines() -> bool:
                rows = _pg_rows(pg_schema)
                return any(s == "replicating" and h == "first" for _, s, h in rows)

            _wait_for(first, first_holds_replicating_machines)
            journal = PostgresJournal(PG_URL, schema=pg_schema)
            migration, aws = _second(sandbox, journal)
            # status reads while the first works, without claiming anything.
            report = migration.status()
            assert {m.instance_id for m in report} == set(ids)
            leases_before = journal.leases()
            with pytest.raises(MachineClaimedError, match="held by first") as caught:
                migration.abort()
            assert set(caught.value.holders.values()) == {"first"}
            assert journal.leases() == leases_before
            assert migration.asr.rate_limiter.counter.writes == 0
            assert not set(aws) & MUTATING, aws
            migration.close()
            assert {h for _, _, h in _pg_rows(pg_schema)} <= {"first", None}
            first.send_signal(signal.SIGKILL)
            first.wait()
        finally:
            if first.poll() is None:
                first.kill()
                first.communicate()
        held = [iid for iid, _, h in _pg_rows(pg_schema) if h == "first"]
        assert held  # the dead worker's claims are still there: nobody cleaned up
        out = _finish(_start("tests.e2e.worker_child", {**cfg, "worker_id": "next"}, secret))
        assert f"{len(ids)} completed" in out
        with PostgresJournal(PG_URL, schema=pg_schema, read_only=True) as reader:
            taken = {
                e["instance_id"]
                for e in reader.events()
                if e["message"].startswith("taking over from worker first")
            }
            assert {r.stage for r in reader.machines()} == {Stage.COMPLETED}
        assert set(held) <= taken
        _exactly_once(sandbox, ids)
