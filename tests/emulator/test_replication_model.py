"""The replication model on its own: recovery points, the source's power and failover stops."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from ec2asr.testing.emulator.replication import Replication

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _replication(total_bytes: int = 600) -> Replication:
    """Initial replication of ``total_bytes`` at 1 byte/s from T0 (600 bytes: 10 minutes)."""
    return Replication(
        total_bytes=total_bytes,
        bytes_per_second=1.0,
        started=T0,
        crash_minutes=5,
        app_minutes=60,
        retention_minutes=1440,
    )


def _times(replication: Replication, now: datetime) -> list[datetime]:
    return [p.time for p in replication.points(now)]


def test_a_stopped_source_gives_one_shutdown_point_and_then_none() -> None:
    repl = _replication()
    repl.sample(_at(10), True, True)
    assert repl.completed == _at(10)
    repl.sample(_at(32), True, True)
    assert _times(repl, _at(32))[:2] == [_at(30), _at(25)]

    shutdown = _at(33) + timedelta(seconds=20)
    repl.sample(shutdown, True, False)
    latest = repl.latest_point(shutdown)
    assert latest is not None
    assert (latest.time, latest.app_consistent) == (shutdown, False)
    assert (repl.source_running, repl.down_since) == (False, shutdown)

    repl.sample(_at(180), True, False)
    assert repl.latest_point(_at(180)) == latest
    times = _times(repl, _at(180))
    assert times[:3] == [shutdown, _at(30), _at(25)]
    assert all(t <= shutdown for t in times)


def test_the_grid_restarts_with_the_source() -> None:
    repl = _replication()
    repl.sample(_at(10), True, True)
    repl.sample(_at(33), True, False)
    restart = _at(120) + timedelta(seconds=7)
    repl.sample(restart, True, True)
    assert (repl.source_running, repl.down_since) == (True, None)
    # The restart itself is not a point: the first one follows a step later.
    assert repl.latest_point(restart) is not None
    assert repl.latest_point(restart).time == _at(33)  # type: ignore[union-attr]
    now = restart + timedelta(minutes=61)
    repl.sample(now, True, True)
    points = repl.points(now)
    after = [p for p in points if p.time > _at(33)]
    assert [p.time for p in after] == [restart + timedelta(minutes=m) for m in range(60, 0, -5)]
    assert [p.time for p in after if p.app_consistent] == [restart + timedelta(minutes=60)]
    # Nothing while the source was down; the old grid (app-consistent at completion) before it.
    before = [p for p in points if p.time <= _at(33)]
    assert before[0].time == _at(33)
    assert [p.time for p in before[1:]] == [_at(m) for m in (30, 25, 20, 15, 10)]
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
    assert repl.shutdowns == []
    repl.sample(_at(61), True, True)  # seen running again: it was down until now
    assert repl.transferred == 180
    repl.sample(_at(70), True, True)  # 540 s more, 420 needed
    assert repl.completed == _at(68)
    assert repl.progress_percentage == 100


def test_no_shutdown_point_when_the_appliance_is_unreachable() -> None:
    repl = _replication()
    repl.sample(_at(10), True, True)
    repl.sample(_at(20), True, True)
    repl.sample(_at(22), False, False)  # the final flush cannot reach the appliance
    assert repl.shutdowns == []
    assert repl.latest_point(_at(22)).time == _at(20)  # type: ignore[union-attr]


def test_stop_and_start_at_the_same_instant() -> None:
    repl = _replication()
    repl.sample(_at(10), True, True)
    repl.sample(_at(12), True, True)
    repl.sample(_at(12), True, False)
    repl.sample(_at(12), True, True)
    repl.sample(_at(23), True, True)
    assert _times(repl, _at(23))[:4] == [_at(22), _at(17), _at(12), _at(10)]


def test_a_cancelled_failover_leaves_a_gap_and_anchors_the_grid_anew() -> None:
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


def test_retention_drops_old_shutdown_points() -> None:
    repl = _replication()
    repl.retention_minutes = 60
    repl.sample(_at(10), True, True)
    repl.sample(_at(21), True, False)
    repl.sample(_at(22), True, True)
    repl.sample(_at(200), True, True)
    times = _times(repl, _at(200))
    assert _at(21) not in times
    assert min(times) >= _at(200) - timedelta(minutes=65)
    repl.sample(_at(201), True, True)
    assert all((t - _at(22)) % timedelta(minutes=5) == timedelta(0) for t in _times(repl, _at(201)))
