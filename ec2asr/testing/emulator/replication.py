"""Replication progress of one machine, derived from the simulated clock on read.

Nothing runs in the background: each time the emulator observes an item it calls
:meth:`Replication.sample` with the current time and whether the source can reach the appliance
(TCP 443/9443). The interval since the previous sample counts as "data flowed" when the path is
open and as an outage when it is closed. Initial replication moves ``bandwidth`` bytes per
simulated second; once it completes, crash-consistent recovery points exist every
``crash_minutes`` and app-consistent ones every ``app_minutes`` — except inside outages.
"""

from __future__ import annotations

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
    """

    total_bytes: int
    bytes_per_second: float
    started: datetime
    crash_minutes: int
    app_minutes: int
    retention_minutes: int
    transferred: float = 0.0
    completed: datetime | None = None
    stopped: datetime | None = None
    last_sample: datetime | None = None
    blocked: bool = False
    outages: list[list[datetime]] = field(default_factory=list)

    def sample(self, now: datetime, reachable: bool) -> None:
        """Account for the time since the last sample (see the module docstring)."""
        previous = self.last_sample or self.started
        end = min(now, self.stopped) if self.stopped else now
        if end <= previous:
            self.blocked = not reachable
            return
        if reachable:
            if self.completed is None:
                needed = self.total_bytes - self.transferred
                gain = (end - previous).total_seconds() * self.bytes_per_second
                if gain >= needed:
                    self.transferred = float(self.total_bytes)
                    seconds = needed / self.bytes_per_second if self.bytes_per_second else 0.0
                    self.completed = previous + timedelta(seconds=seconds)
                else:
                    self.transferred += gain
        elif self.outages and self.outages[-1][1] == previous:
            self.outages[-1][1] = end
        else:
            self.outages.append([previous, end])
        self.last_sample = end
        self.blocked = not reachable

    def stop(self, when: datetime) -> None:
        """Replication ends (failover): no recovery points after ``when``."""
        if self.stopped is None:
            self.stopped = when

    @property
    def progress_percentage(self) -> int:
        """Initial replication progress, 0-100."""
        if self.total_bytes <= 0:
            return 100
        return min(100, int(self.transferred * 100 // self.total_bytes))

    def _in_outage(self, when: datetime) -> datetime | None:
        for start, end in self.outages:
            if start < when <= end:
                return start
        return None

    def _grid_floor(self, when: datetime, step_minutes: int) -> datetime | None:
        if self.completed is None or step_minutes <= 0 or when < self.completed:
            return None
        step = step_minutes * 60
        count = int((when - self.completed).total_seconds() // step)
        return self.completed + timedelta(seconds=count * step)

    def latest_point(self, now: datetime) -> RecoveryPointTime | None:
        """The most recent recovery point at ``now`` (None before initial replication ends)."""
        horizon = min(now, self.stopped) if self.stopped else now
        if self.last_sample is not None:
            horizon = min(horizon, self.last_sample)
        candidate = self._grid_floor(horizon, self.crash_minutes)
        while candidate is not None:
            outage_start = self._in_outage(candidate)
            if outage_start is None:
                break
            candidate = self._grid_floor(outage_start, self.crash_minutes)
        if candidate is None:
            return None
        return RecoveryPointTime(candidate, self._is_app_point(candidate))

    def _is_app_point(self, when: datetime) -> bool:
        if self.completed is None or self.app_minutes <= 0:
            return False
        return int((when - self.completed).total_seconds()) % (self.app_minutes * 60) == 0

    def points(self, now: datetime) -> list[RecoveryPointTime]:
        """Every retained recovery point at ``now``, newest first."""
        latest = self.latest_point(now)
        if latest is None or self.completed is None:
            return []
        horizon = latest.time
        oldest = max(self.completed, horizon - timedelta(minutes=self.retention_minutes))
        times: set[datetime] = set()
        for minutes in (self.crash_minutes, self.app_minutes):
            if minutes <= 0:
                continue
            step = timedelta(minutes=minutes)
            first = self._grid_floor(oldest, minutes) or self.completed
            if first < oldest:
                first += step
            cursor = first
            while cursor <= horizon:
                if self._in_outage(cursor) is None:
                    times.add(cursor)
                cursor += step
        return [RecoveryPointTime(t, self._is_app_point(t)) for t in sorted(times, reverse=True)]
