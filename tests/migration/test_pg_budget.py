"""One ARM budget for every worker: token buckets in the journal's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ec2asr.errors import InvalidInputError, JournalUnavailableError
from ec2asr.migration._pg_budget import MIN_WAIT, PostgresBudget
from tests._journals import admin, pg_journal

ROOT = Path(__file__).resolve().parents[2]


def test_refill_and_take_on_the_callers_clock(pg_schema: str) -> None:
    with pg_journal(pg_schema, budget_clock="caller") as journal:
        budget = journal.budget_store()
        assert isinstance(budget, PostgresBudget)
        assert [budget.take("sub/writes", 3, 2.0, 100.0) for _ in range(3)] == [0.0] * 3
        assert budget.take("sub/writes", 3, 2.0, 100.0) == pytest.approx(0.5)
        assert budget.take("sub/writes", 3, 2.0, 100.25) == pytest.approx(0.25)
        assert budget.take("sub/writes", 3, 2.0, 100.5) == 0.0
        # Another bucket is independent; a long pause refills to the burst, no more.
        assert budget.take("sub/reads", 1, 1.0, 100.5) == 0.0
        assert budget.take("sub/writes", 3, 2.0, 1000.0) == 0.0
        assert [budget.take("sub/writes", 3, 2.0, 1000.0) for _ in range(3)][-1] > 0
        # A caller whose clock lags does not rewind the bucket.
        assert budget.take("sub/writes", 3, 2.0, 10.0) > 0
        assert budget.takes == 8
        with pytest.raises(InvalidInputError):
            budget.take("sub/writes", 0, 1.0, 0.0)
        with pytest.raises(InvalidInputError):
            budget.take("sub/writes", 1, 0.0, 0.0)


def test_waits_are_never_zero_or_negative(pg_schema: str) -> None:
    with pg_journal(pg_schema, budget_clock="caller") as journal:
        budget = journal.budget_store()
        budget.take("b", 1, 1e6, 5.0)
        # A shortfall below any clock's resolution still asks for a wait a clock can make.
        assert budget.take("b", 1, 1e6, 5.0) == MIN_WAIT


def test_a_lost_connection_is_a_typed_error_then_reconnects(pg_schema: str) -> None:
    with pg_journal(pg_schema) as journal:
        budget = journal.budget_store()
        assert budget.take("b", 5, 1.0, 0.0) == 0.0
        assert budget._conn is not None
        with admin() as conn:  # the server goes away under it (a restart, a failover)
            conn.execute("SELECT pg_terminate_backend(%s)", (budget._conn.info.backend_pid,))
        with pytest.raises(JournalUnavailableError, match="Nothing is lost"):
            budget.take("b", 5, 1.0, 0.0)
        assert budget.take("b", 5, 1.0, 0.0) == 0.0


_HAMMER = textwrap.dedent(
    """
    import json, sys, time
    from ec2asr import PostgresJournal
    url, schema, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    clock = "SELECT extract(epoch FROM clock_timestamp())::float8 AS t"
    with PostgresJournal(url, schema=schema) as journal:
        budget = journal.budget_store()
        budget.take("warm-up", 1, 1.0, 0.0)  # connected, schema checked
        print("ready", flush=True)
        sys.stdin.readline()  # go
        first = journal._query(clock)[0]["t"]
        end = time.monotonic() + seconds
        granted = attempts = 0
        while time.monotonic() < end:
            attempts += 1
            wait = budget.take("subscription/reads", 10, 50.0, time.monotonic())
            if wait == 0.0:
                granted += 1
            else:
                time.sleep(min(wait, 0.005))
        last = journal._query(clock)[0]["t"]
    print(json.dumps({"granted": granted, "attempts": attempts, "first": first, "last": last}))
    """
)


def test_processes_hammering_one_budget_stay_within_it(pg_schema: str) -> None:
    from tests._journals import PG_URL

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _HAMMER, PG_URL, pg_schema, "1.2"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    for proc in procs:  # every process is connected before any takes a token
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.communicate()[1]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    granted = sum(r["granted"] for r in results)
    window = max(r["last"] for r in results) - min(r["first"] for r in results)
    allowed = 10 + 50.0 * window  # the burst, then the rate, on the server's clock
    assert granted <= allowed + 1e-6, (granted, allowed, results)
    # They did draw from it (not starved by the shared row), even on a busy machine.
    assert granted >= 0.5 * (10 + 50.0 * 1.2), (granted, allowed, results)
    assert sum(r["attempts"] for r in results) > granted  # they were held back


def test_a_run_shares_the_budget_when_the_limiter_can(pg_schema: str, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from ec2asr import SqliteJournal
    from ec2asr.migration._workers import share_budget

    shared: list[object] = []
    can = SimpleNamespace(rate_limiter=SimpleNamespace(share=shared.append))
    cannot = SimpleNamespace(rate_limiter=SimpleNamespace())
    with pg_journal(pg_schema) as journal:
        share_budget(can, journal)
        share_budget(cannot, journal)  # an ArmRateLimiter without share(): left alone
        assert shared == [journal.budget_store()]
    with SqliteJournal(tmp_path / "m.sqlite") as alone:
        share_budget(can, alone)  # one process: its own buckets are the budget
    assert len(shared) == 1
