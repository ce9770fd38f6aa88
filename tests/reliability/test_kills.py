"""Random SIGKILLs: a 20-machine migration is killed 5 times at random writes (3 seeds), and run
again each time until it completes. Every machine completes with exactly one enable, test
failover, cleanup, failover, commit and completion; no leased rule is left; no source is
terminated.

On the PostgreSQL journal each run is a new worker: after a kill, the test lets the dead
worker's claims expire (what ``claim_ttl`` seconds of the database server's clock would do) and
the next run takes its machines over, reconciling each exactly as a re-run does.

The migration runs in a child process (``tests/reliability/kill_child.py``) against this
process's sandbox; the emulator's clock moves only when the child sleeps (through a small clock
server here), so hours of replication pass in seconds. A kill point is "the child's N-th write"
(journal, ASR or EC2): with the seed, every kill lands at the same place again.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import ec2asr
from ec2asr.testing import Sandbox
from tests._journals import PG_URL, expire_claims, live_claims
from tests.e2e._migration import TARGET, ec2asr_rules, fast_sandbox
from tests.reliability._audit import check_no_duplicate_writes, item_writes
from tests.reliability.conftest import Figures

ROOT = Path(__file__).resolve().parents[2]
MACHINES = 20
KILLS = 5
WRITES_PER_RUN = {"sqlite": 1490, "postgres": 1550}
"""About how many writes (journal + ASR + EC2) the child makes migrating 20 machines in one go
(measured: see docs/reliability.md; the PostgreSQL journal adds its claims); kill points are
spread over it."""


class ClockServer:
    """``POST /advance?seconds=N`` moves the sandbox's simulated clock; answers the new time."""

    def __init__(self, sandbox: Sandbox) -> None:
        clock = sandbox.emulator.clock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                now = clock.advance(float(query["seconds"][0])).isoformat().encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(now)))
                self.end_headers()
                self.wfile.write(now)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ClockServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _fleet(sandbox: Sandbox) -> list[str]:
    ids: list[str] = []
    while len(ids) < MACHINES:
        ids += sandbox.seed_fleet(profiles=["win2016", "rhel8", "win2019", "rhel79"]).instance_ids
    return ids


def _run(cfg: dict[str, Any], sandbox: Sandbox, secret: str, kill_at: int, log: Path) -> int:
    cfg = {**cfg, "kill_at": kill_at, "sim_now": sandbox.now().isoformat()}
    env = dict(os.environ, EC2ASR_TEST_AGENT_CONFIG=secret, PYTHONPATH=str(ROOT))
    with log.open("a") as out:
        out.write(f"--- run (kill at write {kill_at or 'never'})\n")
        out.flush()
        proc = subprocess.run(
            [sys.executable, "-m", "tests.reliability.kill_child", json.dumps(cfg)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=600,
            check=False,
        )
    return proc.returncode


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with fast_sandbox() as started:
        yield started


def _seeds(variable: str, default: str) -> list[int]:
    return [int(s) for s in os.environ.get(variable, default).split(",")]


RUNS = [("sqlite", seed) for seed in _seeds("EC2ASR_KILL_SEEDS", "1,2,3")] + [
    ("postgres", seed) for seed in _seeds("EC2ASR_KILL_PG_SEEDS", "1")
]
"""CI kills at three seeds on the SQLite journal and one on the PostgreSQL journal (a run there
takes about twice as long); ``EC2ASR_KILL_SEEDS=4,5,6,...`` and ``EC2ASR_KILL_PG_SEEDS=1,2,3``
explore more kill points."""


@pytest.mark.parametrize(("backend", "seed"), RUNS, ids=[f"{b}-{s}" for b, s in RUNS])
def test_five_random_sigkills_then_every_machine_completes(
    tmp_path: Path,
    sandbox: Sandbox,
    backend: str,
    seed: int,
    figures: Figures,
    request: pytest.FixtureRequest,
) -> None:
    ids = _fleet(sandbox)
    secret = sandbox.emulator.mobility_configuration().reveal()
    log = tmp_path / "child.log"
    rng = random.Random(seed)
    # Five kill points spread over one migration's writes: gaps between sorted random points.
    points = sorted(rng.sample(range(1, int(WRITES_PER_RUN[backend] * 0.9)), KILLS))
    schema = request.getfixturevalue("pg_schema") if backend == "postgres" else None
    journal: Any = (
        str(tmp_path / "migration.sqlite") if schema is None else {"dsn": PG_URL, "schema": schema}
    )
    taken_over = []
    gaps = [b - a for a, b in zip([0, *points], points, strict=False)]
    with ClockServer(sandbox) as clock:
        cfg = {
            "region": sandbox.region,
            "account_id": sandbox.aws_account_id,
            "aws_endpoint_url": sandbox.aws_endpoint_url,
            "subscription_id": sandbox.subscription_id,
            "resource_group": sandbox.resource_group,
            "vault": sandbox.vault,
            "base_url": sandbox.base_url,
            "control_url": clock.url,
            "journal": journal,
            "instance_ids": ids,
            "target": {
                "resource_group_id": TARGET.resource_group_id,
                "network_id": TARGET.network_id,
                "subnet_name": TARGET.subnet_name,
                "log_storage_account_id": TARGET.log_storage_account_id,
                "test_network_id": TARGET.test_network_id,
            },
        }
        kills = []
        for gap in gaps:
            code = _run(cfg, sandbox, secret, gap, log)
            assert code == -signal.SIGKILL, (
                f"the run ended (exit {code}) before its kill point; if it completed, ec2asr now "
                f"makes fewer writes than WRITES_PER_RUN[{backend!r}]={WRITES_PER_RUN[backend]}: "
                f"measure one run (kill_at=0 prints its writes) and update it\n"
                f"{log.read_text()[-4000:]}"
            )
            kills.append(gap)
            if schema is not None:
                taken_over.append(expire_claims(schema))
        final = _run(cfg, sandbox, secret, 0, log)
        output = log.read_text()
        assert final == 0, output

    last = json.loads(output.strip().splitlines()[-1])
    assert f"{MACHINES} completed" in last["summary"], output
    counted = check_no_duplicate_writes(sandbox, ids)
    writes = item_writes(sandbox)
    for iid in ids:
        for op in ("PUT", "testFailover", "testFailoverCleanup", "unplannedFailover"):
            assert len(writes[f"{iid} {op}"]) == 1, (iid, op)
        assert len(writes[f"{iid} failoverCommit"]) == 1, iid
        assert len(writes[f"{iid} remove"]) == 1, iid
    failovers = [f for f in sandbox.emulator.failovers if f.kind == "unplanned"]
    assert sorted(f.item for f in failovers) == sorted(ids)
    assert not any(f.data_loss for f in failovers)
    assert ec2asr_rules(sandbox) == []
    states = ec2asr.aws.instances.InstanceControl(sandbox.new_aws_session().client("ec2")).states(
        ids
    )
    assert set(states.values()) == {"stopped"}  # stopped, never terminated
    if schema is not None:
        # Every kill left claims behind; the next run took the machines over from the dead
        # worker (the journal's event log says so), and the last run released its claims.
        assert all(taken_over), taken_over
        with ec2asr.PostgresJournal(PG_URL, schema=schema, read_only=True) as reader:
            takeovers = [
                e for e in reader.events() if e["message"].startswith("taking over from worker")
            ]
        assert len(takeovers) >= KILLS, len(takeovers)
        assert live_claims(schema) == []
        figures.set("claims_left_by_kills", taken_over)
        figures.set("takeover_events", len(takeovers))
    figures.set("backend", backend)
    figures.set("seed", seed)
    figures.set("machines", MACHINES)
    figures.set("kills_survived", len(kills))
    figures.set("kill_points", points)
    figures.set("writes_in_last_run", last["writes"])
    figures.update(counted)
