"""One ARM budget per subscription for every ec2asr process of a host.

Three real processes send ARM reads to the sandbox, whose emulator enforces a read bucket
(burst 10, 10 per second, on the wall clock every process of the host shares). Together they
send 36 reads, far past the burst:

- each with its own bucket (the default), each believes it may send its burst at once: the
  emulator throttles them (429s) — the baseline that shows the test can fail;
- drawing on one host-wide :class:`~ec2asr.SqliteBudget`, they pace themselves together and
  get no 429 at all.

The clients' burst is 2 below the emulator's: the time between a client taking a token and
the emulator counting the request (the first request's connection, a process descheduled on
a busy host) must not make a paced request look early. The processes wait on the real clock
(about 3 s in all): their budget is the wall clock they share.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ec2asr.testing import Sandbox
from ec2asr.testing.emulator.arm import ArmError

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_READS = (10, 10.0)
CLIENT_READS = (8, 10.0)
PROCESSES = 3
REQUESTS = 12


@pytest.fixture(scope="module")
def limited() -> Any:
    with Sandbox() as sandbox:
        yield sandbox


def _count_throttled(sandbox: Sandbox) -> Counter[str]:
    sandbox.emulator.enforce_arm_limits(reads=EMULATOR_READS, clock=time.time)
    limits = sandbox.emulator.limits
    assert limits is not None
    check = limits.check
    seen: Counter[str] = Counter()

    def counting(subscription: str, write: bool) -> None:
        seen["requests"] += 1
        try:
            check(subscription, write)
        except ArmError:
            seen["throttled"] += 1
            raise

    limits.check = counting  # type: ignore[method-assign]
    return seen


def _race(sandbox: Sandbox, budget: Path | None) -> tuple[Counter[str], list[dict[str, Any]]]:
    seen = _count_throttled(sandbox)  # a fresh emulator bucket for each race
    cfg = {
        "subscription_id": sandbox.subscription_id,
        "resource_group": sandbox.resource_group,
        "vault": sandbox.vault,
        "base_url": sandbox.base_url,
        "reads": CLIENT_READS,
        "requests": REQUESTS,
        "budget": str(budget) if budget else None,
    }
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("EC2ASR_ARM_BUDGET", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.budget_child", json.dumps(cfg)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for proc in procs:  # every process is ready before any sends
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line == "ready", (line, proc.stderr.read() if proc.stderr else "")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return seen, results


def test_processes_sharing_the_host_budget_are_never_throttled(
    limited: Sandbox, tmp_path: Path
) -> None:
    # Baseline: a budget per process. Together they overrun the subscription's bucket.
    seen, results = _race(limited, None)
    assert {r["store"] for r in results} == {"MemoryBudget"}
    assert seen["requests"] == PROCESSES * REQUESTS
    assert seen["throttled"] > 0, (seen, results)
    assert sum(r["throttled"] for r in results) == seen["throttled"]

    # One budget for the host: the same race, no 429.
    seen, results = _race(limited, tmp_path / "arm-budget.sqlite")
    assert {r["store"] for r in results} == {"SqliteBudget"}
    assert seen == Counter(requests=PROCESSES * REQUESTS), results
    assert sum(r["ok"] for r in results) == PROCESSES * REQUESTS
    # They were paced together: past the shared burst, at the shared rate (each waited once
    # per paced request, never more).
    burst, rate = CLIENT_READS
    first = min(r["started"] for r in results)
    last = max(r["ended"] for r in results)
    assert last - first >= (PROCESSES * REQUESTS - burst) / rate * 0.9, results
    assert sum(r["sleeps"] for r in results) <= PROCESSES * REQUESTS - burst
