from __future__ import annotations

import pytest

from ec2asr.azure._pipeline import ArmRateLimiter, TokenBucket, _operation_of, is_loopback_url


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
    # 200 burst, then 800 at 10/s = 80 s.
    assert t.now == pytest.approx(80.0)
    assert limiter.counter.writes == 1000
    assert limiter.counter.reads == 0
    # Reads have their own bucket: 250 of them cost no wait.
    before = t.now
    for _ in range(250):
        limiter.acquire(
            "GET", "/Subscriptions/s/resourceGroups/rg/providers/x/vaults/v/replicationJobs"
        )
    assert t.now == before
    assert limiter.counter.reads == 250
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
