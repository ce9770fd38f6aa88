"""Resume after SIGKILL: a migration killed during replication and again during cutover, then
re-run, completes every machine with exactly one enable, one failover and one commit each, no
data lost, and no security-group rule left behind."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import ec2asr
from ec2asr.testing import Sandbox, SimulatedClock, Timings
from tests.e2e._migration import TARGET, ec2asr_rules, writes_by_item

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SPEED = 600.0


def _stages(journal: Path) -> dict[str, str]:
    if not journal.exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1)
        try:
            rows = conn.execute("SELECT instance_id, stage FROM machines").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
    return dict(rows)


def _start(cfg: dict[str, object], secret: str) -> subprocess.Popen[str]:
    env = dict(os.environ, EC2ASR_TEST_AGENT_CONFIG=secret, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.resume_child", json.dumps(cfg)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_when(
    proc: subprocess.Popen[str], journal: Path, condition: Callable[[dict[str, str]], bool]
) -> dict[str, str]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        stages = _stages(journal)
        if stages and condition(stages):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return stages
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the migration ended before the kill point: {out}\n{err}")
        time.sleep(0.01)
    proc.kill()
    raise AssertionError("the kill point was never reached")


def _dump(journal: Path) -> str:
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        machines = conn.execute("SELECT instance_id, stage, status, data FROM machines").fetchall()
        steps = conn.execute(
            "SELECT subject, step, state, job_name, error FROM steps ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    return "\n".join(map(str, machines + steps))


CUTOVER = {"source-stopped", "failed-over", "committed"}


@pytest.mark.parametrize("recovery_plan", [False, True], ids=["per-machine", "recovery-plan"])
def test_sigkill_during_replication_and_cutover_then_rerun(
    tmp_path: Path, recovery_plan: bool
) -> None:
    journal = tmp_path / "migration.sqlite"
    clock = SimulatedClock(speed=SPEED, monotonic=time.time)
    with Sandbox(clock=clock, timings=Timings(bandwidth_mbps=500)) as sandbox:
        fleet = sandbox.seed_fleet(profiles=["win2016", "rhel8", "rhel67"])
        ids = list(fleet.instance_ids)
        sim_at, real_at = sandbox.now(), time.time()
        cfg = {
            "region": sandbox.region,
            "account_id": sandbox.aws_account_id,
            "aws_endpoint_url": sandbox.aws_endpoint_url,
            "subscription_id": sandbox.subscription_id,
            "resource_group": sandbox.resource_group,
            "vault": sandbox.vault,
            "base_url": sandbox.base_url,
            "sim_at": sim_at.isoformat(),
            "real_at": real_at,
            "speed": SPEED,
            "journal": str(journal),
            "instance_ids": ids,
            "recovery_plan": recovery_plan,
            "target": {
                "resource_group_id": TARGET.resource_group_id,
                "network_id": TARGET.network_id,
                "subnet_name": TARGET.subnet_name,
                "log_storage_account_id": TARGET.log_storage_account_id,
                "test_network_id": TARGET.test_network_id,
            },
        }
        secret = sandbox.emulator.mobility_configuration().reveal()

        # 1. Killed while replicating.
        seen = _kill_when(_start(cfg, secret), journal, lambda s: "replicating" in s.values())
        assert "completed" not in seen.values()
        # 2. Killed during cutover.
        seen = _kill_when(_start(cfg, secret), journal, lambda s: bool(CUTOVER & set(s.values())))
        assert set(seen.values()) != {"completed"}
        # 3. Run to the end.
        proc = _start(cfg, secret)
        try:
            out, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"the last run hung:\n{out}\n{err}\n{_dump(journal)}") from None
        assert proc.returncode == 0, f"{out}\n{err}\n{_dump(journal)}"
        assert f"{len(ids)} completed" in out

        assert set(_stages(journal).values()) == {"completed"}
        writes = writes_by_item(sandbox)
        for iid in ids:
            ops = writes[iid]
            assert ops.count("PUT") == 1, ops
            assert ops.count("failoverCommit") == (0 if recovery_plan else 1), ops
            assert ops.count("unplannedFailover") == (0 if recovery_plan else 1), ops
            assert ops.count("remove") == 1, ops
        if recovery_plan:
            plan_ops = [
                w.path.split("?")[0].rsplit("/", 1)[-1]
                for w in sandbox.emulator.writes
                if "replicationRecoveryPlans" in w.path
            ]
            assert plan_ops.count("unplannedFailover") == 1
            assert plan_ops.count("failoverCommit") == 1
        failovers = [f for f in sandbox.emulator.failovers if f.kind == "unplanned"]
        assert sorted(f.item for f in failovers) == sorted(ids)
        assert not any(f.data_loss for f in failovers)
        assert ec2asr_rules(sandbox) == []
        # Sources are stopped, never terminated.
        states = ec2asr.aws.instances.InstanceControl(
            sandbox.new_aws_session().client("ec2")
        ).states(ids)
        assert set(states.values()) == {"stopped"}
        assert secret not in err
