"""A team: three worker processes migrate one 30-machine wave through a PostgreSQL journal; one
is SIGKILLed in the middle of a cutover. The other two take its machines over once its claims
expire, and every machine completes with exactly one enable, one failover and one commit, no
leased rule left behind and no throttled answer (ARM's limits enforced by the emulator, one
ARM budget shared through the journal's database)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

import ec2asr
from ec2asr.testing import Sandbox, SimulatedClock, Timings
from ec2asr.testing.emulator.arm import ArmError
from tests._journals import PG_URL, admin
from tests.e2e._migration import TARGET, ec2asr_rules, writes_by_item

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SPEED = 600.0
CUTOVER = ("source-stopped", "failed-over")
PROFILES = ["win2016", "rhel8", "rhel67", "win2022"]


def _rows(schema: str) -> list[tuple[str, str, str | None]]:
    with admin() as conn:
        try:
            return conn.execute(
                f'SELECT instance_id, stage, claimed_by FROM "{schema}".machines'
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return []  # the first worker has not created the journal yet


def _start(cfg: dict[str, Any], worker: str, secret: str) -> subprocess.Popen[str]:
    env = dict(os.environ, EC2ASR_TEST_AGENT_CONFIG=secret, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.worker_child", json.dumps({**cfg, "worker_id": worker})],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _count_throttled(sandbox: Sandbox) -> Counter[str]:
    sandbox.emulator.enforce_arm_limits()  # ARM's per-subscription buckets, real time
    limits = sandbox.emulator.limits
    assert limits is not None
    check = limits.check
    throttled: Counter[str] = Counter()

    def counting(subscription: str, write: bool) -> None:
        try:
            check(subscription, write)
        except ArmError:
            throttled["writes" if write else "reads"] += 1
            raise

    limits.check = counting  # type: ignore[method-assign]
    return throttled


def _failures(schema: str) -> list[tuple[str, str, str | None, str | None]]:
    """Each machine that did not complete: its stage and last error (so a failure
    under load says why, not only how many)."""
    with ec2asr.PostgresJournal(PG_URL, schema=schema, read_only=True) as journal:
        return [
            (r.instance_id, r.stage.value, r.error_type, r.error_message)
            for r in journal.machines()
            if r.stage.value != "completed"
        ]


def test_three_workers_one_killed_mid_cutover(pg_schema: str) -> None:
    clock = SimulatedClock(speed=SPEED, monotonic=time.time)
    with Sandbox(clock=clock, timings=Timings(bandwidth_mbps=500)) as sandbox:
        fleet = sandbox.seed_fleet(n=30, profiles=PROFILES)
        ids = list(fleet.instance_ids)
        assert len(ids) == 30
        throttled = _count_throttled(sandbox)
        cfg = {
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
            "dsn": PG_URL,
            "schema": pg_schema,
            "claim_ttl": 10.0,
            "poll_interval": 0.5,
            "instance_ids": ids,
            "target": {
                "resource_group_id": TARGET.resource_group_id,
                "network_id": TARGET.network_id,
                "subnet_name": TARGET.subnet_name,
                "log_storage_account_id": TARGET.log_storage_account_id,
                "test_network_id": TARGET.test_network_id,
            },
        }
        secret = sandbox.emulator.mobility_configuration().reveal()
        workers = {name: _start(cfg, name, secret) for name in ("w1", "w2", "w3")}
        try:
            # Kill the first worker seen holding a machine in the middle of its cutover.
            victim, held_at_kill = None, []
            deadline = time.monotonic() + 300
            while victim is None and time.monotonic() < deadline:
                for _iid, stage, holder in _rows(pg_schema):
                    if stage in CUTOVER and holder in workers:
                        victim = holder
                        held_at_kill = [r for r in _rows(pg_schema) if r[2] == holder]
                        workers[holder].send_signal(signal.SIGKILL)
                        break
                for name, proc in workers.items():
                    if proc.poll() is not None and victim is None:
                        out, err = proc.communicate()
                        pytest.fail(f"{name} ended before the kill point: {out}\n{err}")
                time.sleep(0.01)
            assert victim is not None, "no worker reached a cutover"
            workers[victim].wait()
            outputs = {}
            for name, proc in workers.items():
                if name == victim:
                    continue
                out, err = proc.communicate(timeout=300)
                outputs[name] = (proc.returncode, out, err)
        finally:
            for proc in workers.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()

        failed = _failures(pg_schema)
        for name, (code, out, err) in outputs.items():
            assert code == 0, f"{name}:\n{out}\n{err[-4000:]}\nfailed machines: {failed}"
            assert "30 completed" in out
            assert secret not in err
        # The killed worker held machines mid-cutover; they were taken over.
        assert any(stage in CUTOVER for _, stage, _ in held_at_kill), held_at_kill
        with ec2asr.PostgresJournal(PG_URL, schema=pg_schema, read_only=True) as journal:
            records = journal.machines()
            takeovers = [
                e for e in journal.events() if e["message"].startswith("taking over from worker")
            ]
            leases = journal.leases()
        assert {r.stage.value for r in records} == {"completed"}
        assert len(records) == 30
        taken = {e["instance_id"] for e in takeovers}
        assert {iid for iid, _, _ in held_at_kill} <= taken
        assert all(victim in e["message"] for e in takeovers)
        # The wave was shared: both survivors finished machines (the last driver of each).
        drivers = Counter(str(r.data.get("worker")) for r in records)
        assert set(drivers) - {victim} == set(outputs), drivers
        # Exactly one enable, failover and commit (and completion) per machine.
        writes = writes_by_item(sandbox)
        for iid in ids:
            ops = writes[iid]
            assert ops.count("PUT") == 1, (iid, ops)
            assert ops.count("unplannedFailover") == 1, (iid, ops)
            assert ops.count("failoverCommit") == 1, (iid, ops)
            assert ops.count("remove") == 1, (iid, ops)
        failovers = [f for f in sandbox.emulator.failovers if f.kind == "unplanned"]
        assert sorted(f.item for f in failovers) == sorted(ids)
        assert not any(f.data_loss for f in failovers)
        # The policy and the container mapping were created once, by one worker.
        policy_puts = [w for w in sandbox.emulator.writes if "/replicationPolicies/" in w.path]
        mapping_puts = [
            w
            for w in sandbox.emulator.writes
            if "/replicationProtectionContainerMappings/" in w.path
        ]
        assert len(policy_puts) == 1
        assert len(mapping_puts) == 1
        # Leased rules were made (rhel8's group lacks 9443) and none is left.
        assert leases, "the wave needed leased rules"
        assert {lease.state for lease in leases} == {"revoked"}
        assert ec2asr_rules(sandbox) == []
        assert throttled == Counter(), throttled
        states = ec2asr.aws.instances.InstanceControl(
            sandbox.new_aws_session().client("ec2")
        ).states(ids)
        assert set(states.values()) == {"stopped"}
