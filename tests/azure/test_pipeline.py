from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from ec2asr.azure._budget import MIN_WAIT, MemoryBudget
from ec2asr.azure._pipeline import (
    ArmRateLimiter,
    Sleep,
    TokenBucket,
    _operation_of,
    is_loopback_url,
)
from ec2asr.errors import InvalidInputError
from ec2asr.testing import SimulatedClock
from ec2asr.testing._virtual_time import VirtualTime


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_the_burst_then_paces_at_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(10, 5.0, clock=t.clock, sleep=t.sleep)
    for _ in range(10):
        assert bucket.acquire() == 0.0
    assert t.slept == []
    # The 11th to 15th requests wait 1/5 s each.
    for _ in range(5):
        bucket.acquire()
    assert t.now == pytest.approx(1.0)
    assert bucket.waited == pytest.approx(1.0)


def test_bucket_refills_over_time_but_not_above_capacity() -> None:
    t = FakeTime()
    bucket = TokenBucket(3, 1.0, clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        bucket.acquire()
    t.now += 100
    assert bucket.available == pytest.approx(3.0)


def test_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 1.0)
    with pytest.raises(ValueError):
        TokenBucket(1, 0)


def test_arm_limits_pace_a_thousand_writes() -> None:
    t = FakeTime()
    limiter = ArmRateLimiter(clock=t.clock, sleep=t.sleep)
    for i in range(1000):
        limiter.acquire(
            "PUT",
            f"/Subscriptions/s/resourceGroups/rg/providers/x/vaults/v/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/i-{i}",
        )
    # ARM's 200 burst less the client's reserve of 5, then 805 at 10/s = 80.5 s.
    assert t.now == pytest.approx(80.5)
    assert limiter.counter.writes == 1000
    assert limiter.counter.reads == 0
    # Reads have their own bucket: its burst (250 less the reserve) costs no wait.
    before = t.now
    for _ in range(245):
        limiter.acquire(
            "GET", "/Subscriptions/s/resourceGroups/rg/providers/x/vaults/v/replicationJobs"
        )
    assert t.now == before
    assert limiter.counter.reads == 245
    key = (
        "PUT /Subscriptions/{name}/resourceGroups/{name}/providers/x/vaults/{name}"
        "/replicationFabrics/{name}/replicationProtectionContainers/{name}"
        "/replicationProtectedItems/{name}"
    )
    assert limiter.counter.by_operation[key] == 1000


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationJobs/j1/cancel?api-version=1",
            "/Subscriptions/{name}/resourceGroups/{name}/providers/Microsoft.RecoveryServices/vaults/{name}/replicationJobs/{name}/cancel",
        ),
        (
            "http://127.0.0.1:5/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationSupportedOperatingSystems",
            "/subscriptions/{name}/resourceGroups/{name}/providers/Microsoft.RecoveryServices/vaults/{name}/replicationSupportedOperatingSystems",
        ),
        (
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OffAzure/serverSites/site/machines",
            "/subscriptions/{name}/resourceGroups/{name}/providers/Microsoft.OffAzure/serverSites/{name}/machines",
        ),
    ],
)
def test_operation_names_drop_instance_names(path: str, expected: str) -> None:
    assert _operation_of(path) == expected


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080/x", True),
        ("http://127.5.5.5/x", True),
        ("http://localhost:1/x", True),
        ("http://[::1]:1/x", True),
        ("https://management.azure.com/x", False),
        ("http://10.0.0.1/x", False),
        ("http://example.com/x", False),
    ],
)
def test_loopback_detection(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


# -- the bucket on the simulated clock -----------------------------------------------------


class Spinning(Exception):
    pass


def _sim_time(limit: int) -> tuple[SimulatedClock, list[float], Callable[[], float], Sleep]:
    """The emulator's frozen simulated clock (it resolves microseconds) in seconds, and a sleep
    that advances it, refusing to be called more than ``limit`` times (a spinning bucket
    fails the test instead of hanging it)."""
    clock = SimulatedClock(speed=0)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > limit:
            raise Spinning(f"{len(slept)} sleeps")
        clock.advance(seconds)

    return clock, slept, lambda: clock.now().timestamp(), sleep


@pytest.mark.parametrize(
    ("capacity", "rate"), [(200, 10.0), (250, 25.0), (7, 3.0), (3, 1000.0), (2, 400.0)]
)
def test_bucket_on_the_simulated_clock_keeps_the_rate_and_never_spins(
    capacity: int, rate: float
) -> None:
    n = 2_000
    _clock, slept, seconds, sleep = _sim_time(limit=n)
    bucket = TokenBucket(capacity, rate, clock=seconds, sleep=sleep)
    start = seconds()
    for _ in range(n):
        bucket.acquire()
    elapsed = seconds() - start
    # The burst is free, every other token costs 1/rate (>= the 1 ms floor for these rates).
    expected = (n - capacity) / rate
    assert elapsed == pytest.approx(expected, rel=1e-3)
    assert len(slept) <= n - capacity  # one sleep per paced token at most
    assert min(slept) >= MIN_WAIT
    assert bucket.sleeps == len(slept)


def test_a_fractional_shortfall_waits_the_floor_not_a_nanosecond() -> None:
    """The hang of issue 8: the write burst spent, the missing fraction of a token is worth
    less than a microsecond, and a clock that resolves microseconds never moves."""
    clock, slept, seconds, sleep = _sim_time(limit=10)
    bucket = TokenBucket(200, 10.0, clock=seconds, sleep=sleep)
    for _ in range(200):
        bucket.acquire()
    clock.advance(0.0999999)  # 0.999999 of a token: 1e-7 s short of the next one
    bucket.acquire()
    assert slept == [MIN_WAIT]


def test_threads_contending_for_one_bucket() -> None:
    """250 threads (the issue's concurrency=250) take 4 tokens each from the write bucket on
    shared simulated time: one sleep per paced token, never below the floor, the rate exact."""
    vt = VirtualTime(SimulatedClock(speed=0))
    bucket = TokenBucket(200, 10.0, clock=vt.seconds, sleep=vt.sleep)
    threads, each = 250, 4
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(each):
                bucket.acquire()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            vt.leave()

    start = vt.seconds()
    vt.enter(threads)
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors
    assert not any(worker.is_alive() for worker in workers)
    total = threads * each
    assert vt.seconds() - start == pytest.approx((total - 200) / 10.0, rel=1e-3)
    assert len(vt.sleeps) <= total - 200
    assert min(vt.sleeps) >= MIN_WAIT


# -- the limiter's budget -----------------------------------------------------------------


def test_limiters_on_one_store_share_one_budget_per_subscription() -> None:
    t = FakeTime()
    store = MemoryBudget()
    a = ArmRateLimiter(reads=(4, 2.0), clock=t.clock, sleep=t.sleep, store=store, subscription="S1")
    b = ArmRateLimiter(reads=(4, 2.0), clock=t.clock, sleep=t.sleep, store=store, subscription="s1")
    other = ArmRateLimiter(
        reads=(4, 2.0), clock=t.clock, sleep=t.sleep, store=store, subscription="s2"
    )
    assert (a.reads.name, a.writes.name) == ("s1/reads", "s1/writes")
    for limiter in (a, b, a, b):
        assert limiter.acquire("GET", "/x") == 0.0
    assert b.acquire("GET", "/x") == pytest.approx(0.5)  # a and b spent one burst together
    assert other.acquire("GET", "/x") == 0.0  # another subscription, another budget
    assert a.acquire("PUT", "/x") == 0.0  # writes are a bucket of their own
    assert a.store is store
    assert "S1" in repr(a)


def test_share_switches_the_store_and_gives_the_old_one_back() -> None:
    t = FakeTime()
    limiter = ArmRateLimiter(reads=(1, 1.0), clock=t.clock, sleep=t.sleep, subscription="s")
    own = limiter.store
    assert isinstance(own, MemoryBudget)
    shared = MemoryBudget()
    shared.take("s/reads", 1, 1.0, 0.0)  # another process spent the shared burst
    assert limiter.share(shared) is own
    assert limiter.acquire("GET", "/x") == pytest.approx(1.0)
    assert limiter.share(own) is shared
    with pytest.raises(InvalidInputError, match="budget store"):
        limiter.share("host")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="budget store"):
        ArmRateLimiter(store=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="subscription"):
        ArmRateLimiter(subscription="")


def test_a_limiter_is_one_subscriptions_budget() -> None:
    limiter = ArmRateLimiter()
    assert limiter.reads.name == "default/reads"
    limiter.bind("S")
    assert (limiter.subscription, limiter.reads.name, limiter.writes.name) == (
        "S",
        "s/reads",
        "s/writes",
    )
    limiter.bind("s")  # the same subscription
    with pytest.raises(InvalidInputError, match="give each subscription its own"):
        limiter.bind("t")
