"""The data path of one replicating machine after initial replication: pending data and heartbeat.

What the Mobility agent does with the guest's writes is modelled as a pipeline (the quantities
are those InMageRcm reports per protected disk, ``dataPendingAtSourceAgentInMB`` and
``dataPendingInLogDataStoreInMB``, and per agent, ``mobilityAgentDetails.lastHeartbeatUtc``):

1. While the source runs, the guest writes ``churn`` bytes per second. The agent holds about
   ``agent_lag`` seconds of writes before they reach the appliance (*pending at the source
   agent*); while the path to the appliance is closed, every write stays there (a *backlog*),
   which drains at ``bandwidth - churn`` once the path opens again.
2. What reached the appliance is applied to the replica ``processing_lag`` seconds later (*pending
   in the log data store*); recovery points exist only for data already processed.
3. The agent heartbeats while it runs and reaches the appliance.

Source shutdown. The guest stops writing when it shuts down. Assumption (no Microsoft page
describes the agent's shutdown): a graceful shutdown lets the agent upload what it still holds
when the path to the appliance is open (the upload takes ``pending / bandwidth`` seconds and is
followed by a last heartbeat); with the path closed, the data stays at the source (*stranded*)
until the machine runs again. No recovery point is created by the shutdown.

What a failover to "Latest" gets: every write the appliance received (``received_until``); the
writes after that are lost (:meth:`AgentData.loss`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["AgentData"]


@dataclass
class AgentData:
    """Pending data and heartbeat of one replicating machine (see the module docstring).

    Attributes:
        churn: Guest writes, bytes per second, while the source runs.
        bandwidth: Upload bandwidth, bytes per second.
        agent_lag: Seconds of writes the agent holds in steady state.
        processing_lag: Seconds from upload to processed at the log data store.
    """

    churn: float
    bandwidth: float
    agent_lag: float = 30.0
    processing_lag: float = 120.0
    backlog: float = 0.0
    stranded: float = 0.0
    flush_done: datetime | None = None
    last_heartbeat: datetime | None = None
    last_write: datetime | None = None
    uploads: list[tuple[datetime, datetime, float]] = field(default_factory=list)

    # -- accounting (called by Replication.sample for each interval) -------------------------
    def flow(self, start: datetime, end: datetime, reachable: bool) -> None:
        """The source ran during ``(start, end]``; the path was open when ``reachable``."""
        seconds = (end - start).total_seconds()
        if seconds <= 0:
            return
        self.last_write = end
        if not reachable:
            self.backlog += self.churn * seconds
            return
        self.last_heartbeat = end
        spare = self.bandwidth - self.churn
        if self.backlog > 0 and spare > 0:
            draining = min(seconds, self.backlog / spare)
            middle = start + timedelta(seconds=draining)
            self._upload(start, middle, self.bandwidth)
            self.backlog = max(0.0, self.backlog - spare * draining)
            self._upload(middle, end, self.churn)
        elif self.backlog > 0:
            self._upload(start, end, self.bandwidth)
            self.backlog += (self.churn - self.bandwidth) * seconds
        else:
            self._upload(start, end, self.churn)

    def shutdown(self, when: datetime, reachable: bool) -> None:
        """The source shut down at ``when``: the agent's last upload, or stranded data."""
        held = self.held_in_agent() + self.backlog
        self.backlog = 0.0
        self.last_write = when
        if reachable and self.bandwidth > 0:
            done = when + timedelta(seconds=held / self.bandwidth)
            self._upload(when, done, self.bandwidth)
            self.flush_done = done
            self.last_heartbeat = done
            self.stranded = 0.0
        else:
            self.stranded = held
            self.flush_done = None

    def restart(self) -> None:
        """The source runs again: what was stranded is sent like a backlog."""
        self.backlog += self.stranded
        self.stranded = 0.0
        self.flush_done = None

    def _upload(self, start: datetime, end: datetime, rate: float) -> None:
        if end <= start or rate <= 0:
            return
        if self.uploads and self.uploads[-1][1] == start and self.uploads[-1][2] == rate:
            self.uploads[-1] = (self.uploads[-1][0], end, rate)
        else:
            self.uploads.append((start, end, rate))
        horizon = end - timedelta(seconds=self.processing_lag)
        while self.uploads and self.uploads[0][1] <= horizon:
            self.uploads.pop(0)

    # -- what the item reports -------------------------------------------------------------
    def held_in_agent(self) -> float:
        """Bytes the agent holds in steady state (while the source runs)."""
        return self.churn * self.agent_lag

    def pending_at_source(self, now: datetime, running: bool) -> float:
        """Bytes written by the guest that have not reached the appliance at ``now``."""
        if running:
            return self.held_in_agent() + self.backlog
        if self.flush_done is not None:
            return max(0.0, (self.flush_done - now).total_seconds() * self.bandwidth)
        return self.stranded

    def pending_in_log_store(self, now: datetime) -> float:
        """Bytes received by the appliance and not yet processed at ``now``."""
        low = now - timedelta(seconds=self.processing_lag)
        total = 0.0
        for start, end, rate in self.uploads:
            overlap = (min(end, now) - max(start, low)).total_seconds()
            if overlap > 0:
                total += overlap * rate
        return total

    def heartbeat(self, now: datetime) -> datetime | None:
        """The agent's last heartbeat as seen at ``now``."""
        if self.last_heartbeat is None:
            return None
        return min(self.last_heartbeat, now)

    def received_until(self, now: datetime, running: bool) -> datetime | None:
        """The guest-write time up to which the appliance has every write at ``now``."""
        last = now if running else self.last_write
        if last is None:
            return None
        pending = self.pending_at_source(now, running)
        if self.churn <= 0 or pending <= 0:
            return last
        return last - timedelta(seconds=pending / self.churn)

    def loss(self, now: datetime, running: bool, point: datetime) -> float:
        """Seconds of guest writes a failover to data up to ``point`` loses, at ``now``: writes
        after the point, up to now (source running) or its last write (stopped)."""
        if self.churn <= 0:
            return 0.0
        last = now if running else (self.last_write or point)
        return max(0.0, (last - point).total_seconds())
