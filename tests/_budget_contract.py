"""What every ARM budget store does (MemoryBudget, SqliteBudget, PostgresBudget), as checks the
stores' tests share. Every check uses the caller's clock (``now``), so nothing sleeps."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from ec2asr.azure._budget import MIN_WAIT, BudgetStore


def grant_wait_refill(store: BudgetStore) -> None:
    # The burst is granted at once; then every take reserves the next token.
    assert [store.take("sub/writes", 3, 2.0, 100.0) for _ in range(3)] == [0.0] * 3
    assert store.take("sub/writes", 3, 2.0, 100.0) == pytest.approx(0.5)
    assert store.take("sub/writes", 3, 2.0, 100.0) == pytest.approx(1.0)
    # Time pays the debt back: at 101.0 both reserved tokens are due, the next one 0.5 s on.
    assert store.take("sub/writes", 3, 2.0, 101.0) == pytest.approx(0.5)
    assert store.take("sub/writes", 3, 2.0, 102.5) == 0.0
    # Another bucket is independent.
    assert store.take("sub/reads", 1, 1.0, 102.5) == 0.0
    assert store.take("sub/reads", 1, 1.0, 102.5) == pytest.approx(1.0)


def capacity_caps_the_refill(store: BudgetStore) -> None:
    store.take("cap", 3, 1.0, 0.0)
    # A long pause refills up to the burst, no more.
    waits = [store.take("cap", 3, 1.0, 10_000.0) for _ in range(4)]
    assert waits == [0.0, 0.0, 0.0, pytest.approx(1.0)]


def a_lagging_clock_does_not_rewind(store: BudgetStore) -> None:
    for _ in range(2):
        store.take("lag", 2, 1.0, 50.0)
    # A caller whose clock lags (another process's, a wall clock stepped back) neither
    # refills the bucket from the past nor waits for the lag.
    assert store.take("lag", 2, 1.0, 10.0) == pytest.approx(1.0)


def never_a_wait_below_the_floor(store: BudgetStore) -> None:
    store.take("tiny", 1, 1e6, 5.0)
    # A shortfall below any clock's resolution still asks for a wait a clock can make.
    assert store.take("tiny", 1, 1e6, 5.0) == MIN_WAIT
    assert store.take("tiny", 1, 1e6, 5.0 + 5e-7) == MIN_WAIT


def refuses_nonsense(store: BudgetStore, error: type[Exception]) -> None:
    with pytest.raises(error):
        store.take("bad", 0, 1.0, 0.0)
    with pytest.raises(error):
        store.take("bad", 1, 0.0, 0.0)


def expected_waits(takes: int, capacity: int, rate: float) -> list[float]:
    """The waits ``takes`` reservations at one instant get: the burst, then one per 1/rate."""
    return [0.0] * capacity + [k / rate for k in range(1, takes - capacity + 1)]


def concurrent_takers_reserve_each_token_once(
    take: Callable[[], float], *, threads: int, each: int, capacity: int, rate: float
) -> None:
    """``threads`` threads call ``take`` ``each`` times at one instant: every token is
    granted or reserved exactly once (no two takers get the same slot, none is lost)."""
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run() -> None:
        start.wait()
        mine = [take() for _ in range(each)]
        with lock:
            waits.extend(mine)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(waits) == pytest.approx(expected_waits(threads * each, capacity, rate))
