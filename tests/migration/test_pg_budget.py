"""One ARM budget for every worker: token buckets in the journal's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ec2asr.azure._budget import BudgetStore
from ec2asr.errors import InvalidInputError, JournalUnavailableError
from ec2asr.migration._pg_budget import PostgresBudget
from tests import _budget_contract as contract
from tests._journals import admin, pg_journal

ROOT = Path(__file__).resolve().parents[2]


def test_refill_and_take_on_the_callers_clock(pg_schema: str) -> None:
    with pg_journal(pg_schema, budget_clock="caller") as journal:
        budget = journal.budget_store()
        assert isinstance(budget, PostgresBudget)
        assert isinstance(budget, BudgetStore)
        contract.grant_wait_refill(budget)
        contract.capacity_caps_the_refill(budget)
        contract.a_lagging_clock_does_not_rewind(budget)
        contract.never_a_wait_below_the_floor(budget)
        contract.refuses_nonsense(budget, InvalidInputError)
        assert budget.takes == 9 + 5 + 3 + 3  # every take counts, reserved ones too


def test_concurrent_threads_reserve_each_token_once(pg_schema: str) -> None:
    with pg_journal(pg_schema, budget_clock="caller") as journal:
        budget = journal.budget_store()
        contract.concurrent_takers_reserve_each_token_once(
            lambda: budget.take("sub/reads", 10, 5.0, 100.0),
            threads=4,
            each=15,
            capacity=10,
            rate=5.0,
        )


def test_the_server_clock_ignores_the_callers(pg_schema: str) -> None:
    with pg_journal(pg_schema) as journal:
        budget = journal.budget_store()
        assert budget.take("b", 1, 0.001, -1e9) == 0.0
        assert 990.0 < budget.take("b", 1, 0.001, 1e12) <= 1000.0


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
        granted = waited = 0
        while time.monotonic() < end:
            wait = budget.take("subscription/reads", 10, 50.0, time.monotonic())
            if wait > 0:  # the token is reserved: wait once, then it is ours
                waited += 1
                time.sleep(wait)
            granted += 1
        last = journal._query(clock)[0]["t"]
    print(json.dumps({"granted": granted, "waited": waited, "first": first, "last": last}))
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
    assert sum(r["waited"] for r in results) > 0  # they were held back


def test_a_run_shares_the_journals_budget(pg_schema: str, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from ec2asr import SqliteJournal
    from ec2asr.azure._pipeline import ArmRateLimiter
    from ec2asr.migration._workers import share_budget

    limiter = ArmRateLimiter(subscription="sub")
    own = limiter.store
    asr = SimpleNamespace(rate_limiter=limiter)
    with pg_journal(pg_schema) as journal:
        assert share_budget(asr, journal) is own
        assert limiter.store is journal.budget_store()
    limiter.share(own)
    with SqliteJournal(tmp_path / "m.sqlite") as alone:
        assert share_budget(asr, alone) is None  # one process: its own buckets are the budget
    assert limiter.store is own
