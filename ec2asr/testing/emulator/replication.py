"""Replication progress of one machine, derived from the simulated clock on read.

Nothing runs in the background: each time the emulator observes an item it calls
:meth:`Replication.sample` with the current time, whether the source can reach the appliance
(TCP 443/9443) and whether the source machine runs. The interval since the previous sample
counts as "data flowed" when the path is open now and the source ran as last observed (a power
change takes effect when a sample sees it); otherwise it is a gap (no progress, no recovery
points). Initial replication moves ``bytes_per_second``;
once it completes, crash-consistent recovery points exist every ``crash_minutes`` and
app-consistent ones every ``app_minutes``, on a grid anchored at the completion — except in gaps.

Source power. The first sample that finds the source not running is its shutdown: the Mobility
agent's final flush yields one crash-consistent recovery point at that time (the *shutdown
point*; none before initial replication completed or while the path to the appliance is
closed), and no point follows while the source is down. The first sample that finds it running
again restarts replication, and the grid is anchored anew at the restart (its first point one
step later). A failover stops replication (:meth:`Replication.stop`); cancelling it resumes
replication (:meth:`Replication.resume`), which also anchors the grid anew.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["RecoveryPointTime", "Replication"]


@dataclass(frozen=True)
class RecoveryPointTime:
    """A recovery point: when, and whether it is app-consistent."""

    time: datetime
    app_consistent: bool


@dataclass
class Replication:
    """Initial replication and recovery points of one protected item.

    Attributes:
        total_bytes: Bytes to copy during initial replication.
        bytes_per_second: Upload rate (simulated).
        started: When initial replication started (the enable job's end).
        crash_minutes / app_minutes: Recovery-point cadence (``app_minutes=0``: none).
        retention_minutes: Recovery-point history kept.
        heartbeat_timeout: Seconds without an agent heartbeat before ASR reports it (78174).
        source_running: The source's power state at the last sample.
        down_since: When the last sample that found the source down first did (its shutdown).
        shutdowns: Shutdown points taken (times).
        restarts: When replication restarted (source started again, failover cancelled).
        outages: Gaps ``[start, end]``: no data flowed in ``(start, end]``.
    """

    total_bytes: int
    bytes_per_second: float
    started: datetime
    crash_minutes: int
    app_minutes: int
    retention_minutes: int
    heartbeat_timeout: float = 900.0
    transferred: float = 0.0
    completed: datetime | None = None
    stopped: datetime | None = None
    last_sample: datetime | None = None
    blocked: bool = False
    source_running: bool = True
    down_since: datetime | None = None
    shutdowns: list[datetime] = field(default_factory=list)
    restarts: list[datetime] = field(default_factory=list)
    outages: list[list[datetime]] = field(default_factory=list)

    # -- sampling -------------------------------------------------------------------------
    def sample(self, now: datetime, reachable: bool, running: bool = True) -> None:
        """Account for the time since the last sample (see the module docstring)."""
        previous = self.last_sample or self.started
        end = min(now, self.stopped) if self.stopped else now
        if end > previous:
            if reachable and self.source_running:
                self._transfer(previous, end)
            else:
                self._gap(previous, end)
            self.last_sample = end
        if self.stopped is None:
            self._power(max(end, previous), running, reachable)
        self.blocked = not reachable

    def _transfer(self, previous: datetime, end: datetime) -> None:
        if self.completed is not None:
            return
        needed = self.total_bytes - self.transferred
        gain = (end - previous).total_seconds() * self.bytes_per_second
        if gain >= needed:
            self.transferred = float(self.total_bytes)
            seconds = needed / self.bytes_per_second if self.bytes_per_second else 0.0
            self.completed = previous + timedelta(seconds=seconds)
        else:
            self.transferred += gain

    def _gap(self, start: datetime, end: datetime) -> None:
        if self.outages and self.outages[-1][1] >= start:
            self.outages[-1][1] = max(self.outages[-1][1], end)
        else:
            self.outages.append([start, end])

    def _power(self, when: datetime, running: bool, reachable: bool) -> None:
        if self.source_running and not running:
            self.source_running = False
            self.down_since = when
            if reachable and self.completed is not None and self.completed <= when:
                self.shutdowns.append(when)
        elif running and not self.source_running:
            self.source_running = True
            self.down_since = None
            self.restarts.append(when)

    def stop(self, when: datetime) -> None:
        """Replication ends (failover): no recovery points after ``when``."""
        if self.stopped is None:
            self.stopped = when

    def resume(self, when: datetime) -> None:
        """Replication resumes at ``when`` (a failover failed or was cancelled).

        The time it was stopped is a gap; the recovery-point grid is anchored anew at ``when``
        (when the source runs; otherwise at its restart).
        """
        if self.stopped is None:
            return
        start = min(self.last_sample or self.started, self.stopped)
        if when > start:
            self._gap(start, when)
        self.last_sample = max(self.last_sample or self.started, when)
        self.stopped = None
        if self.source_running:
            self.restarts.append(when)

    @property
    def progress_percentage(self) -> int:
        """Initial replication progress, 0-100."""
        if self.total_bytes <= 0:
            return 100
        return min(100, int(self.transferred * 100 // self.total_bytes))

    # -- recovery points --------------------------------------------------------------------
    def _anchors(self) -> list[datetime]:
        if self.completed is None:
            return []
        return [self.completed, *(r for r in self.restarts if r > self.completed)]

    def _anchor(self, when: datetime) -> datetime | None:
        if self.completed is None or when < self.completed:
            return None
        anchor = self.completed
        for restart in self.restarts:
            if restart > when:
                break
            anchor = max(anchor, restart)
        return anchor

    def _in_outage(self, when: datetime) -> datetime | None:
        for start, end in self.outages:
            if start < when <= end:
                return start
        return None

    def _grid_floor(self, when: datetime, step_minutes: int) -> datetime | None:
        anchor = self._anchor(when)
        if anchor is None or step_minutes <= 0:
            return None
        step = timedelta(minutes=step_minutes)
        return anchor + ((when - anchor) // step) * step

    def _grid(self, low: datetime, high: datetime, step_minutes: int) -> Iterator[datetime]:
        """Grid times in ``[low, high]``, segment by segment (gaps not removed)."""
        if step_minutes <= 0:
            return
        step = timedelta(minutes=step_minutes)
        anchors = self._anchors()
        for index, anchor in enumerate(anchors):
            following = anchors[index + 1] if index + 1 < len(anchors) else None
            start = max(low, anchor)
            cursor = anchor - ((anchor - start) // step) * step  # first grid time >= start
            while cursor <= high and (following is None or cursor < following):
                yield cursor
                cursor += step

    def _horizon(self, now: datetime) -> datetime:
        horizon = min(now, self.stopped) if self.stopped else now
        if self.last_sample is not None:
            horizon = min(horizon, self.last_sample)
        return horizon

    def latest_point(self, now: datetime) -> RecoveryPointTime | None:
        """The most recent recovery point at ``now`` (None before initial replication ends)."""
        horizon = self._horizon(now)
        best: datetime | None = None
        for minutes in (self.crash_minutes, self.app_minutes):
            candidate = self._grid_floor(horizon, minutes)
            while candidate is not None:
                outage_start = self._in_outage(candidate)
                if outage_start is None:
                    break
                candidate = self._grid_floor(outage_start, minutes)
            if candidate is not None and (best is None or candidate > best):
                best = candidate
        shutdown = next((s for s in reversed(self.shutdowns) if s <= horizon), None)
        if shutdown is not None and (best is None or shutdown > best):
            best = shutdown
        if best is None:
            return None
        return RecoveryPointTime(best, self._is_app_point(best))

    def _is_app_point(self, when: datetime) -> bool:
        anchor = self._anchor(when)
        if anchor is None or self.app_minutes <= 0 or when in self.shutdowns:
            return False
        return (when - anchor) % timedelta(minutes=self.app_minutes) == timedelta(0)

    def points(self, now: datetime) -> list[RecoveryPointTime]:
        """Every retained recovery point at ``now``, newest first."""
        latest = self.latest_point(now)
        if latest is None or self.completed is None:
            return []
        horizon = latest.time
        oldest = max(self.completed, horizon - timedelta(minutes=self.retention_minutes))
        times = {s for s in self.shutdowns if oldest <= s <= horizon}
        for minutes in (self.crash_minutes, self.app_minutes):
            times.update(
                t for t in self._grid(oldest, horizon, minutes) if self._in_outage(t) is None
            )
        return [RecoveryPointTime(t, self._is_app_point(t)) for t in sorted(times, reverse=True)]
