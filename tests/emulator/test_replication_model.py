"""The replication model on its own: recovery points, pending data, heartbeat, the source's power
and failover stops."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from ec2asr.testing.emulator.replication import Replication

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
MB = 1024**2


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _replication(
    total_bytes: int = 600,
    *,
    churn: float = 0.0,
    bandwidth: float = 1.0,
    agent_lag: float = 0.0,
    processing_lag: float = 0.0,
) -> Replication:
    """Initial replication of ``total_bytes`` at ``bandwidth`` bytes/s from T0 (600 bytes at 1
    byte/s: 10 minutes); no lags unless asked, so the grid shows as it is taken."""
    return Replication(
        total_bytes=total_bytes,
        bytes_per_second=bandwidth,
        started=T0,
        crash_minutes=5,
        app_minutes=60,
        retention_minutes=1440,
        churn_bytes_per_second=churn,
        agent_lag=agent_lag,
        processing_lag=processing_lag,
    )


def _times(replication: Replication, now: datetime) -> list[datetime]:
    return [p.time for p in replication.points(now)]


def test_a_stopped_source_gets_no_point_of_its_own_and_then_none() -> None:
    repl = _replication()
    repl.sample(_at(10), True, True)
    assert repl.completed == _at(10)
    repl.sample(_at(32), True, True)
    assert _times(repl, _at(32))[:2] == [_at(30), _at(25)]

    shutdown = _at(33) + timedelta(seconds=20)
    repl.sample(shutdown, True, False)
    assert (repl.source_running, repl.down_since) == (False, shutdown)
    # No recovery point is invented at the shutdown: the newest is still the grid's.
    assert repl.latest_point(shutdown).time == _at(30)  # type: ignore[union-attr]
    repl.sample(_at(180), True, False)
    times = _times(repl, _at(180))
    assert times[:2] == [_at(30), _at(25)]
    assert all(t <= shutdown for t in times)


def test_the_grid_restarts_with_the_source() -> None:
    repl = _replication()
    repl.sample(_at(10), True, True)
    repl.sample(_at(33), True, False)
    restart = _at(120) + timedelta(seconds=7)
    repl.sample(restart, True, True)
    assert (repl.source_running, repl.down_since) == (True, None)
    # The restart itself is not a point: the first one follows a step later.
    assert repl.latest_point(restart).time == _at(30)  # type: ignore[union-attr]
    now = restart + timedelta(minutes=61)
    repl.sample(now, True, True)
    points = repl.points(now)
    after = [p for p in points if p.time > _at(33)]
    assert [p.time for p in after] == [restart + timedelta(minutes=m) for m in range(60, 0, -5)]
    assert [p.time for p in after if p.app_consistent] == [restart + timedelta(minutes=60)]
    before = [p for p in points if p.time <= _at(33)]
    assert [p.time for p in before] == [_at(m) for m in (30, 25, 20, 15, 10)]
    assert [p.time for p in before if p.app_consistent] == [_at(10)]


def test_initial_replication_pauses_while_the_source_is_stopped() -> None:
    repl = _replication()
    repl.sample(_at(2), True, True)  # 120 bytes
    repl.sample(_at(3), True, False)  # seen stopped: it ran until now, 180 bytes
    repl.sample(_at(60), True, False)
    assert repl.transferred == 180
    assert repl.progress_percentage == 30
    assert repl.completed is None
    assert repl.latest_point(_at(60)) is None  # no recovery point before completion
    assert repl.latest_for_failover(_at(60)) is None  # nor a "Latest" one
    repl.sample(_at(61), True, True)  # seen running again: it was down until now
    assert repl.transferred == 180
    repl.sample(_at(70), True, True)  # 540 s more, 420 needed
    assert repl.completed == _at(68)
    assert repl.progress_percentage == 100


def test_stop_and_start_at_the_same_instant() -> None:
    repl = _replication()
    repl.sample(_at(10), True, True)
    repl.sample(_at(12), True, True)
    repl.sample(_at(12), True, False)
    repl.sample(_at(12), True, True)
    repl.sample(_at(23), True, True)
    assert _times(repl, _at(23))[:3] == [_at(22), _at(17), _at(10)]


def test_a_failover_ends_replication_and_a_failed_disable_resumes_it() -> None:
    repl = _replication()
    repl.sample(_at(10), True, True)
    repl.sample(_at(40), True, True)
    repl.stop(_at(40))
    repl.sample(_at(120), True, True)
    assert repl.latest_point(_at(120)).time == _at(40)  # type: ignore[union-attr]
    resumed = _at(121) + timedelta(seconds=30)
    repl.resume(resumed)
    repl.sample(resumed + timedelta(minutes=11), True, True)
    times = _times(repl, resumed + timedelta(minutes=11))
    assert times[:3] == [resumed + timedelta(minutes=10), resumed + timedelta(minutes=5), _at(40)]
    gaps = {(a - b).total_seconds() for a, b in itertools.pairwise(times[2:])}
    assert gaps == {300.0}


def test_retention_drops_old_points() -> None:
    repl = _replication()
    repl.retention_minutes = 60
    repl.sample(_at(10), True, True)
    repl.sample(_at(200), True, True)
    times = _times(repl, _at(200))
    assert min(times) >= _at(200) - timedelta(minutes=65)
    assert all((t - _at(10)) % timedelta(minutes=5) == timedelta(0) for t in times)


# -- pending data, heartbeat, processing lag -----------------------------------------------------


def _steady(churn: float = 1 * MB, bandwidth: float = 10 * MB) -> Replication:
    """Replication that finished its initial copy at minute 1 and runs with lags (30 s at the
    agent, 120 s at the log data store)."""
    repl = _replication(
        total_bytes=int(bandwidth * 60),
        churn=churn,
        bandwidth=bandwidth,
        agent_lag=30,
        processing_lag=120,
    )
    repl.sample(_at(1), True, True)
    assert repl.completed == _at(1)
    return repl


def test_a_running_source_always_has_data_pending_and_points_lag_behind() -> None:
    repl = _steady()
    repl.sample(_at(30), True, True)
    assert repl.pending_at_source(_at(30)) == pytest.approx(30 * MB)  # 30 s at 1 MB/s
    assert repl.pending_in_log_store(_at(30)) == pytest.approx(120 * MB)  # 120 s uploaded
    assert repl.last_heartbeat(_at(30)) == _at(30)
    # Data of minute 30 is listed only once received (30 s) and processed (120 s).
    assert repl.latest_point(_at(30)).time == _at(26)  # type: ignore[union-attr]
    assert repl.latest_point(_at(28.5)).time == _at(26)  # type: ignore[union-attr]
    repl.sample(_at(33), True, True)
    assert repl.latest_point(_at(33)).time == _at(26)  # type: ignore[union-attr]
    repl.sample(_at(33.5), True, True)
    assert repl.latest_point(_at(33.5)).time == _at(31)  # type: ignore[union-attr]


def test_after_a_clean_shutdown_everything_drains_and_latest_loses_nothing() -> None:
    repl = _steady()
    repl.sample(_at(30), True, True)
    repl.sample(_at(31), True, False)  # the source shuts down: writes end at minute 31
    # The agent sends what it held (31 MB: 30 s steady + nothing backlogged) at 10 MB/s.
    assert repl.pending_at_source(_at(31)) == pytest.approx(30 * MB)
    after_flush = _at(31) + timedelta(seconds=3)
    repl.sample(after_flush, True, False)
    assert repl.pending_at_source(after_flush) == 0
    assert repl.pending_in_log_store(after_flush) > 0
    drained = after_flush + timedelta(seconds=120)
    repl.sample(drained, True, False)
    assert repl.pending_in_log_store(drained) == 0
    # "Latest" now has every write: nothing lost; no new listed point appeared.
    latest = repl.latest_for_failover(drained)
    assert latest is not None
    assert latest.time == _at(31)
    assert repl.loss_seconds(drained, latest.time) == 0
    assert _times(repl, drained)[0] == _at(31)  # the failover's own point is listed from now
    repl.sample(_at(40), True, False)
    assert repl.last_heartbeat(_at(40)) == after_flush


def test_latest_before_the_agent_sent_everything_loses_the_rest() -> None:
    repl = _steady()
    repl.sample(_at(30), True, True)
    repl.sample(_at(31), True, False)
    early = _at(31) + timedelta(seconds=1)  # 10 of 30 MB sent
    repl.sample(early, True, False)
    latest = repl.latest_for_failover(early, record=False)
    assert latest is not None
    assert repl.pending_at_source(early) == pytest.approx(20 * MB)
    assert repl.loss_seconds(early, latest.time) == pytest.approx(20)  # 20 MB at 1 MB/s
    # A listed point older than the last write loses every write after it.
    assert repl.loss_seconds(early, _at(26)) == pytest.approx(300)


def test_a_running_source_always_loses_data_to_a_failover() -> None:
    repl = _steady()
    repl.sample(_at(30), True, True)
    latest = repl.latest_for_failover(_at(30), record=False)
    assert latest is not None
    assert latest.time == _at(30) - timedelta(seconds=30)
    assert repl.loss_seconds(_at(30), latest.time) == pytest.approx(30)


def test_a_shutdown_with_the_path_closed_strands_the_data_at_the_source() -> None:
    repl = _steady()
    repl.sample(_at(20), True, True)
    repl.sample(_at(25), False, True)  # egress closed for 5 minutes: 300 MB backlog
    assert repl.pending_at_source(_at(25)) == pytest.approx(330 * MB)
    assert repl.last_heartbeat(_at(25)) == _at(20)
    repl.sample(_at(26), False, False)  # shut down with the path still closed
    repl.sample(_at(90), False, False)
    assert repl.pending_at_source(_at(90)) == pytest.approx(390 * MB)
    assert repl.last_heartbeat(_at(90)) == _at(20)
    latest = repl.latest_for_failover(_at(90), record=False)
    assert latest is not None
    assert repl.loss_seconds(_at(90), latest.time) == pytest.approx(390)
    # Started again with the path open: the stranded data is sent.
    repl.sample(_at(91), True, True)
    repl.sample(_at(92), True, True)
    repl.sample(_at(100), True, True)
    assert repl.pending_at_source(_at(100)) == pytest.approx(30 * MB)


def test_a_backlog_drains_once_the_path_opens() -> None:
    repl = _steady()
    repl.sample(_at(10), True, True)
    repl.sample(_at(19), False, True)
    assert repl.pending_at_source(_at(19)) == pytest.approx((30 + 540) * MB)
    repl.sample(_at(20), True, True)  # 60 s at 9 MB/s spare: 540 MB drained
    assert repl.pending_at_source(_at(20)) == pytest.approx(30 * MB)
    assert repl.pending_in_log_store(_at(20)) == pytest.approx(600 * MB)  # 60 s at 10 MB/s
