"""JobTracker: one sweep for every in-flight operation, matching jobs by name or by target."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from ec2asr.azure._errors import asr_error_details
from ec2asr.azure._pipeline import ArmRateLimiter
from ec2asr.azure.items import AsrJob, JobError
from ec2asr.azure.jobs import JobTracker, SweepScope

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def job(
    name: str,
    state: str,
    *,
    target: str = "i-1",
    scenario: str = "EnableDr",
    start: datetime = T0,
    errors: tuple[JobError, ...] = (),
) -> AsrJob:
    return AsrJob(
        id=f"/jobs/{name}",
        name=name,
        state=state,
        scenario_name=scenario,
        friendly_name=None,
        target_object_id=target,
        target_object_name=f"host-{target}",
        start_time=start,
        end_time=None,
        errors=errors,
    )


@attrs.define
class FakeClient:
    jobs: list[AsrJob] = attrs.field(factory=list)
    calls: list[str] = attrs.field(factory=list)
    rate_limiter: ArmRateLimiter = attrs.field(factory=ArmRateLimiter)

    def list_jobs(self, *, start_time: datetime | None = None) -> Iterator[AsrJob]:
        self.calls.append("list_jobs")
        self.rate_limiter.counter.add("GET", "/replicationJobs")
        return iter([j for j in self.jobs if start_time is None or j.start_time >= start_time])

    def list_protected_items(self) -> Iterator[Any]:
        self.calls.append("list_protected_items")
        self.rate_limiter.counter.add("GET", "/replicationProtectedItems")
        return iter(())


def tracker(client: FakeClient, **kw: Any) -> JobTracker:
    kw.setdefault("now", lambda: T0)
    return JobTracker(client, **kw)  # type: ignore[arg-type]


def test_one_sweep_follows_a_thousand_operations() -> None:
    client = FakeClient(jobs=[job(f"j{i}", "InProgress", target=f"i-{i}") for i in range(1000)])
    t = tracker(client)
    for i in range(1000):
        t.track(f"i-{i}:enable", step="enable-replication", item_name=f"i-{i}", job_name=f"j{i}")
    result = t.sweep()
    assert client.calls == ["list_jobs"]
    assert result.calls == 1
    assert result.finished == ()
    client.jobs = [
        job(
            f"j{i}",
            "Succeeded" if i % 2 else "Failed",
            target=f"i-{i}",
            errors=(JobError("95117", "push failed", "closed", "open it"),),
        )
        for i in range(1000)
    ]
    result = t.sweep(read_items=True)
    assert client.calls == ["list_jobs", "list_jobs", "list_protected_items"]
    assert len(result.finished) == 1000
    failed = [op for op in result.finished if not op.succeeded]
    assert len(failed) == 500
    error = failed[0].error()
    assert error is not None
    assert error.error_code == "95117"
    assert error.recommended_action == "open it"
    assert t.pending() == []


def test_without_a_job_name_the_job_is_matched_by_target_scenario_and_time() -> None:
    client = FakeClient(
        jobs=[
            job(
                "old",
                "Succeeded",
                target="i-1",
                scenario="UnplannedFailover",
                start=T0 - timedelta(hours=2),
            ),
            job("other-item", "InProgress", target="i-2", scenario="UnplannedFailover"),
            job("other-step", "InProgress", target="i-1", scenario="TestFailover"),
            job(
                "mine",
                "InProgress",
                target="i-1",
                scenario="UnplannedFailover",
                start=T0 + timedelta(seconds=5),
            ),
        ]
    )
    t = tracker(client)
    op = t.track("k", step="unplanned-failover", item_name="i-1", issued_at=T0)
    t.sweep()
    assert op.job_name == "mine"
    assert op.state == "InProgress"


def test_aliases_match_friendly_names() -> None:
    client = FakeClient(jobs=[job("j", "Succeeded", target="internal-guid")])
    t = tracker(client)
    op = t.track(
        "k",
        step="enable-replication",
        item_name="i-1",
        issued_at=T0,
        aliases=frozenset({"internal-guid"}),
    )
    result = t.sweep()
    assert result.finished == (op,)


def test_wait_honours_retry_after_and_interval() -> None:
    slept: list[float] = []
    t = tracker(FakeClient(), interval=5, sleep=slept.append)
    assert t.wait() == 5

    class Op:
        job_name = "j"
        polling_url = "http://x"
        retry_after = 30.0

    t.track("k", step="commit", item_name="i-1", operation=Op())  # type: ignore[arg-type]
    assert t.wait() == 30
    assert slept == [5, 30]


def test_no_pending_operation_means_no_job_read() -> None:
    client = FakeClient()
    result = tracker(client).sweep()
    assert client.calls == []
    assert result.calls == 0


def test_asr_error_details_reads_nested_and_flat_bodies() -> None:
    nested = {
        "error": {
            "code": "BadRequest",
            "message": "x",
            "details": [
                {
                    "code": "78027",
                    "message": "The VM is not discovered",
                    "possibleCauses": "agent",
                    "recommendedAction": "register it",
                }
            ],
        }
    }
    details = asr_error_details(nested)
    assert details["code"] == "78027"  # details[0] wins over the generic BadRequest
    assert details["message"] == "The VM is not discovered"
    assert details["possible_causes"] == "agent"
    assert details["recommended_action"] == "register it"
    flat = asr_error_details({"error": {"code": "95117", "message": "m", "possibleCauses": "c"}})
    assert flat == {
        "code": "95117",
        "message": "m",
        "possible_causes": "c",
        "recommended_action": None,
    }
    assert asr_error_details({"error": "nonsense"}) == {}


def test_a_stuck_operation_is_read_by_name_not_by_paging_old_jobs() -> None:
    now = [T0]

    @attrs.define
    class Client(FakeClient):
        gets: list[str] = attrs.field(factory=list)

        def get_job(self, name: str) -> AsrJob:
            self.gets.append(name)
            return next(j for j in self.jobs if j.name == name)

    client = Client(jobs=[job("stuck", "InProgress", start=T0)])
    t = JobTracker(client, now=lambda: now[0])  # type: ignore[arg-type]
    t.track("a", step="test-failover", item_name="i-1", job_name="stuck", issued_at=T0)
    t.sweep()
    assert client.calls == ["list_jobs"]
    now[0] = T0 + timedelta(hours=3)
    client.jobs.append(job("fresh", "Succeeded", target="i-2", start=now[0]))
    t.track("b", step="commit", item_name="i-2", job_name="fresh", issued_at=now[0])
    result = t.sweep()
    # The list starts at the fresh operation; the stuck job is fetched by name.
    assert client.gets == ["stuck"]
    assert [op.key for op in result.finished] == ["b"]
    assert t.get("a") is not None
    assert t.get("a").state == "InProgress"  # type: ignore[union-attr]


def test_the_next_sweep_is_due_an_interval_after_the_last_wait_ended_not_after_the_cycle() -> None:
    # A cycle that spends time sending (writes paced by ARM's budget) uses up part of the
    # interval: the polling period stays the interval instead of the interval plus the cycle.
    clock = [T0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    t = tracker(FakeClient(), interval=30, sleep=sleep, now=lambda: clock[0])
    assert t.wait() == 30  # the first wait: a whole interval
    clock[0] += timedelta(seconds=12)  # the cycle took 12 s
    assert t.wait() == 30
    clock[0] += timedelta(seconds=45)  # a cycle longer than the interval: sweep at once
    assert t.wait() == 30
    assert t.wait() == 30  # nothing spent in between
    assert slept == [30, 18, 30]
    assert clock[0] == T0 + timedelta(seconds=135)


@attrs.define
class Watched:
    """Hands out jobs and items one at a time, remembering each by weak reference: what is
    still alive when the list ends is what the tracker kept while reading it."""

    refs: list[weakref.ref[Any]] = attrs.field(factory=list)
    alive_at_end: int = -1

    def stream(self, values: list[Any]) -> Iterator[Any]:
        while values:
            value = values.pop(0)
            self.refs.append(weakref.ref(value))
            yield value
            del value
        self.alive_at_end = sum(1 for ref in self.refs if ref() is not None)


@attrs.define
class StreamingClient(FakeClient):
    watched: Watched = attrs.field(factory=Watched)
    items: list[Any] = attrs.field(factory=list)

    def list_jobs(
        self, *, start_time: datetime | None = None, fabric_id: str | None = None
    ) -> Iterator[AsrJob]:
        self.calls.append("list_jobs")
        return self.watched.stream(self.jobs)  # handed over: the client keeps none

    def list_protected_items(self, **_: Any) -> Iterator[Any]:
        self.calls.append("list_protected_items")
        return self.watched.stream(self.items)


def test_a_sweep_keeps_only_the_jobs_it_can_match_while_the_list_is_read() -> None:
    jobs = [job(f"old{i}", "Succeeded", target=f"i-{i}") for i in range(500)]
    client = StreamingClient(jobs=[*jobs, job("mine", "Succeeded", target="i-x")])
    del jobs
    t = tracker(client)
    t.track("i-x:enable", step="enable-replication", item_name="i-x", job_name="mine")
    result = t.sweep()
    assert [op.key for op in result.finished] == ["i-x:enable"]
    assert client.watched.alive_at_end <= 2  # the job it follows (and the last one handed out)


def test_without_a_job_name_every_job_is_kept_for_matching() -> None:
    client = StreamingClient(
        jobs=[job(f"old{i}", "InProgress", target=f"i-{i}") for i in range(50)]
        + [job("theirs", "Succeeded", target="i-x")]
    )
    t = tracker(client)
    t.track("i-x:enable", step="enable-replication", item_name="i-1", job_name=None)
    t.sweep()
    assert client.watched.alive_at_end == 51
    assert t.get("i-x:enable") is not None
    assert t.get("i-x:enable").job_name == "old1"  # type: ignore[union-attr]


@attrs.frozen
class _Item:
    name: str


def test_a_container_list_keeps_only_the_wanted_items() -> None:
    client = StreamingClient(items=[_Item(f"i-{i}") for i in range(300)])
    t = tracker(client, scope=SweepScope("fabric-id", "fabric", "container"))
    result = t.sweep(read_items=["i-7", "i-9", "i-404"])
    assert sorted(result.items) == ["i-7", "i-9"]
    assert client.watched.alive_at_end <= 3
