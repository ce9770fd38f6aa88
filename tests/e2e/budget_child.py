"""One ec2asr process of a host: ``python -m tests.e2e.budget_child CONFIG_JSON``.

It builds a :class:`~ec2asr.SiteRecoveryClient` on the sandbox whose ARM budget is either the
host-wide file (``budget``: its path) or its own (``budget: null``), says ``ready``, waits for
``go`` on stdin, sends ``requests`` ARM reads (no retries: a 429 is counted, not retried) and
prints what happened as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import ec2asr
from ec2asr.azure._pipeline import ArmRateLimiter
from ec2asr.testing.emulator import StaticTokenCredential


def main(argv: list[str]) -> int:
    cfg: dict[str, Any] = json.loads(argv[0])
    store = ec2asr.SqliteBudget(cfg["budget"]) if cfg["budget"] else None
    limiter = ArmRateLimiter(reads=tuple(cfg["reads"]), store=store)  # type: ignore[arg-type]
    asr = ec2asr.SiteRecoveryClient(
        StaticTokenCredential(),
        cfg["subscription_id"],
        resource_group=cfg["resource_group"],
        vault=cfg["vault"],
        base_url=cfg["base_url"],
        rate_limiter=limiter,
        retry_total=0,
    )
    assert asr.vaults_sdk is not None  # the SDK client is built before the race starts
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    ok = throttled = 0
    for _ in range(int(cfg["requests"])):
        try:
            asr.get_vault()
            ok += 1
        except ec2asr.AzureThrottlingError:
            throttled += 1
    result = {
        "ok": ok,
        "throttled": throttled,
        "started": started,
        "ended": time.time(),
        "waited": limiter.reads.waited,
        "sleeps": limiter.reads.sleeps,
        "store": type(limiter.store).__name__,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
