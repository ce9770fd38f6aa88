"""Replication progress of one machine, derived from the simulated clock on read.

Nothing runs in the background: each time the emulator observes an item it calls
:meth:`Replication.sample` with the current time, whether the source can reach the appliance
(TCP 443/9443) and whether the source machine runs. The interval since the previous sample
counts as "data flowed" when the path is open now and the source ran as last observed (a power
change takes effect when a sample sees it); otherwise it is a gap (no progress, no recovery
points). Initial replication moves ``bytes_per_second``; once it completes, the guest's writes
follow the pipeline of :mod:`ec2asr.testing.emulator.agent_data` (pending at the source agent,
pending in the log data store, heartbeat), and crash-consistent recovery points exist every
``crash_minutes`` and app-consistent ones every ``app_minutes``, on a grid anchored at the
completion, except in gaps. A point is listed once the data up to it was received and processed.

Source power. The first sample that finds the source not running is its shutdown: the guest
stops writing and the agent sends what it holds (or cannot: the path is closed). No recovery
point is created by a shutdown, and none follows while the source is down. The first sample
that finds it running again restarts replication, and the grid is anchored anew at the restart.

Failover. A failover stops replication (:meth:`Replication.stop`); a failover to "Latest"
processes every write the appliance received into a point of its own (:meth:`latest_for_failover`).
Replication does not resume after a failover, whether it succeeded or failed; only a disable that
failed gives replication back (:meth:`Replication.resume`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ec2asr.testing.emulator.agent_data import AgentData

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
        restarts: When replication restarted (the source started again).
        outages: Gaps ``[start, end]``: no data flowed in ``(start, end]``.
        data: Pending data and heartbeat (:class:`AgentData`).
        processed_points: Points created by failovers to "Latest".
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
    restarts: list[datetime] = field(default_factory=list)
    outages: list[list[datetime]] = field(default_factory=list)
    churn_bytes_per_second: float = 0.0
    agent_lag: float = 30.0
    processing_lag: float = 120.0
    data: AgentData = field(init=False)
    processed_points: list[datetime] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data = AgentData(
            churn=self.churn_bytes_per_second,
            bandwidth=self.bytes_per_second,
            agent_lag=self.agent_lag,
            processing_lag=self.processing_lag,
        )

    # -- sampling -------------------------------------------------------------------------
    def sample(self, now: datetime, reachable: bool, running: bool = True) -> None:
        """Account for the time since the last sample (see the module docstring)."""
        previous = self.last_sample or self.started
        end = min(now, self.stopped) if self.stopped else now
        if end > previous:
            if reachable and self.source_running:
                self._transfer(previous, end)
                self.data.last_heartbeat = end
            else:
                self._gap(previous, end)
            if self.completed is not None and self.source_running:
                self.data.flow(max(previous, self.completed), end, reachable)
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
            if self.completed is not None and self.completed <= when:
                self.data.shutdown(when, reachable)
        elif running and not self.source_running:
            self.source_running = True
            self.down_since = None
            self.data.restart()
            self.restarts.append(when)

    def stop(self, when: datetime) -> None:
        """Replication ends (failover): no recovery points after ``when``."""
        if self.stopped is None:
            self.stopped = when

    def resume(self, when: datetime) -> None:
        """Replication resumes at ``when`` (disabling protection failed).

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
                if index == 0 or cursor != anchor:  # a restart itself is not a point
                    yield cursor
                cursor += step

    def _until(self, now: datetime) -> datetime:
        """``now``, bounded by the end of replication (a failover) and the last sample."""
        until = min(now, self.stopped) if self.stopped else now
        if self.last_sample is not None:
            until = min(until, self.last_sample)
        return until

    def _horizon(self, now: datetime) -> datetime:
        """The newest guest time whose data was received and processed: points up to it are
        listed."""
        until = self._until(now)
        received = self.data.received_until(until, self.source_running) or until
        lag = self.processing_lag + (self.agent_lag if self.source_running else 0.0)
        return min(received, until - timedelta(seconds=lag))

    # -- pending data (InMageRcm's per-disk figures, summed) ---------------------------------
    def pending_at_source(self, now: datetime) -> float:
        """Bytes the guest wrote that have not reached the appliance (0 before initial
        replication completed)."""
        if self.completed is None:
            return 0.0
        return self.data.pending_at_source(self._until(now), self.source_running)

    def pending_in_log_store(self, now: datetime) -> float:
        """Bytes received and not yet processed."""
        if self.completed is None:
            return 0.0
        return self.data.pending_in_log_store(self._until(now))

    def last_heartbeat(self, now: datetime) -> datetime | None:
        """The Mobility agent's last heartbeat seen at ``now``."""
        return self.data.heartbeat(self._until(now))

    def latest_for_failover(
        self, now: datetime, *, record: bool = True
    ) -> RecoveryPointTime | None:
        """A failover to "Latest" at ``now``: every write received is processed into a point of
        its own (listed from then on, unless ``record`` is False). None before initial
        replication completed."""
        if self.completed is None:
            return None
        until = self._until(now)
        received = self.data.received_until(until, self.source_running) or until
        point = max(received, self.completed)
        if record and point not in self.processed_points:
            self.processed_points.append(point)
        return RecoveryPointTime(point, False)

    def loss_seconds(self, now: datetime, point: datetime) -> float:
        """Seconds of guest writes that a failover at ``now`` to ``point`` loses."""
        return self.data.loss(self._until(now), self.source_running, point)

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
        processed = [p for p in self.processed_points if p <= self._until(now)]
        if processed and (best is None or max(processed) > best):
            best = max(processed)
        if best is None:
            return None
        return RecoveryPointTime(best, self._is_app_point(best))

    def _is_app_point(self, when: datetime) -> bool:
        anchor = self._anchor(when)
        if anchor is None or self.app_minutes <= 0 or when in self.processed_points:
            return False
        return (when - anchor) % timedelta(minutes=self.app_minutes) == timedelta(0)

    def points(self, now: datetime) -> list[RecoveryPointTime]:
        """Every retained recovery point at ``now``, newest first."""
        latest = self.latest_point(now)
        if latest is None or self.completed is None:
            return []
        horizon = latest.time
        oldest = max(self.completed, horizon - timedelta(minutes=self.retention_minutes))
        times = {p for p in self.processed_points if oldest <= p <= horizon}
        for minutes in (self.crash_minutes, self.app_minutes):
            times.update(
                t for t in self._grid(oldest, horizon, minutes) if self._in_outage(t) is None
            )
        return [RecoveryPointTime(t, self._is_app_point(t)) for t in sorted(times, reverse=True)]
