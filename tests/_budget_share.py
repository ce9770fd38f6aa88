"""Plug a shared :class:`~ec2asr.migration._pg_budget.BudgetStore` into an ARM rate limiter.

``ArmRateLimiter.share(store)`` is the product's way (issue 8); :meth:`Migration.run` calls it
for a PostgreSQL journal when the limiter has it. Until the limiter has it, this stand-in
replaces its two token buckets with ones that draw from the store, with the same bucket names
(``<subscription>/reads`` and ``<subscription>/writes``), capacities, rates, clock and sleep.
"""

from __future__ import annotations

from typing import Any

from ec2asr.migration._pg_budget import BudgetStore


class _StoreBucket:
    def __init__(self, store: BudgetStore, name: str, bucket: Any) -> None:
        self.store = store
        self.name = name
        self.capacity = bucket.capacity
        self.rate = bucket.rate
        self._clock = bucket._clock
        self._sleep = bucket._sleep
        self.waited = 0.0

    def acquire(self) -> float:
        waited = 0.0
        while True:
            wait = self.store.take(self.name, self.capacity, self.rate, self._clock())
            if wait == 0.0:
                self.waited += waited
                return waited
            self._sleep(wait)
            waited += wait


def share(limiter: Any, store: BudgetStore, subscription_id: str) -> str:
    """Make ``limiter`` draw from ``store``; say which way it was done."""
    if hasattr(limiter, "share"):
        limiter.share(store)
        return "ArmRateLimiter.share"
    limiter.reads = _StoreBucket(store, f"{subscription_id}/reads", limiter.reads)
    limiter.writes = _StoreBucket(store, f"{subscription_id}/writes", limiter.writes)
    return "stand-in buckets"
