"""The emulator's critical path: the least simulated time a migration of N machines can take.

Two bounds, and the critical path is the larger:

**One machine's path.** The slowest machine (the one with the most disk bytes) goes through every
stage, each as long as the emulator's :class:`~ec2asr.testing.Timings` make it:

=====================  ======================================================================
stage                  simulated seconds
=====================  ======================================================================
enable                 ``enable_protection`` (the enable job; replication starts at its end)
initial replication    ``sum(disk GiB) * 2**30 * 8 / (bandwidth_mbps * 10**6)``
test failover          ``test_failover``
cleanup                ``test_failover_cleanup``
drain after stop       ``churn_mbps * agent_lag / bandwidth_mbps`` (the agent uploads what it
                       holds) ``+ processing_lag`` (the log data store applies it): no data
                       pending and a heartbeat after the stop
failover               ``unplanned_failover``
commit                 ``failover_commit``
complete               ``disable_protection`` (``remove`` with ``MigrationComplete``)
=====================  ======================================================================

A client sees the end of a stage only when it polls, so each stage is rounded up to a whole
number of polling intervals: ``path = sum(ceil(stage / interval) * interval)``. The sum without
rounding (``floor``) is printed too: no client can beat it.

**ARM's budget.** ARM refills a subscription's write bucket at 10 per second after a burst of
200 (reads: 25 per second after 250). A migration needs ``W = writes_per_machine * N + fixed``
writes (6 per machine: enable, test failover, cleanup, failover, commit, complete; 2 for the
fleet: policy and container mapping), so its last write cannot be sent before
``(W - 200) / 10`` s, and the machine it belongs to then still has at least its last stage to go
(``complete``, rounded to the polling interval)::

    write_bound = max(0, W - write_burst) / write_rate
                  + ceil(disable_protection / interval) * interval
    read_bound  = max(0, R - read_burst) / read_rate     with R = reads_per_machine * N

``reads_per_machine`` is the issue's target (3): the read bound says what that target costs in
time, not what the client must read.

**The enables.** The write budget also spaces out the enables, and a machine's path only starts
with its enable. Whatever the order, the ``k``-th enable (after the fleet's 2 writes) cannot be
sent before ``(2 + k - 200) / 10`` s; the order that makes the latest finish earliest puts the
longest paths first, so with each machine's own path (its initial replication from its own
disks) sorted longest first, ``p_1 >= p_2 >= ...``::

    enable_bound = max over k of  max(0, 2 + k - write_burst) / write_rate + p_k

(at 10,000 machines with 953 of 1,050 GiB: the 953rd enable at 75 s, plus 6,420 s).

``critical path = max(path, write_bound, enable_bound, read_bound)``: each is a time no
schedule can beat, so the largest is one too. It is a lower bound, not the optimum: the writes
after the enables compete with the enables and with each other, which no term here charges.

The emulator does not model an appliance's capacity (about 200 replicating machines) today, so
no bound for it is included.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from ec2asr.testing import Timings

__all__ = ["CriticalPath", "critical_path"]

WRITES_PER_MACHINE = 6
FLEET_WRITES = 2
READS_PER_MACHINE_TARGET = 3


@attrs.frozen
class CriticalPath:
    """The critical path of one fleet (see the module docstring)."""

    machines: int
    interval: float
    slowest: str
    slowest_gib: int
    stages: tuple[tuple[str, float, float], ...]  # (stage, seconds, rounded to polling)
    write_bound: float
    enable_bound: float
    read_bound: float
    writes_needed: int
    reads_assumed: int
    limits: tuple[tuple[float, float], tuple[float, float]]  # (reads, writes): (burst, rate)

    @property
    def floor(self) -> float:
        """One machine's path without polling granularity (seconds)."""
        return sum(s for _, s, _ in self.stages)

    @property
    def path(self) -> float:
        """One machine's path, each stage rounded up to the polling interval (seconds)."""
        return sum(p for _, _, p in self.stages)

    @property
    def seconds(self) -> float:
        """The critical path: ``max(path, write_bound, enable_bound, read_bound)``."""
        return max(self.path, self.write_bound, self.enable_bound, self.read_bound)

    @property
    def binding(self) -> str:
        """Which bound sets the critical path."""
        best = self.seconds
        if best == self.path:
            return "one machine's path"
        if best == self.write_bound:
            return "ARM's write budget"
        return (
            "ARM's write budget for the enables"
            if best == self.enable_bound
            else ("ARM's read budget")
        )

    def lines(self) -> list[str]:
        """The computation, printable."""
        (rb, rr), (wb, wr) = self.limits
        out = [
            f"critical path for N = {self.machines:,} ({self.binding} binds): "
            f"{self.seconds:,.0f} s = {self.seconds / 3600:.2f} h",
            f"  one machine's path: {self.slowest} ({self.slowest_gib:,} GiB of disks), "
            f"stages rounded up to the {self.interval:g}-s polling interval:",
        ]
        for name, seconds, polled in self.stages:
            out.append(f"    {name:<20} {seconds:>9,.1f} s  -> {polled:>7,.0f} s")
        out.append(
            f"    {'total':<20} {self.floor:>9,.1f} s  -> {self.path:>7,.0f} s "
            f"({self.path / 3600:.2f} h)"
        )
        out.append(
            f"  ARM write budget: ({self.writes_needed:,} writes - {wb:g} burst) / {wr:g} per s "
            f"+ the last stage = {self.write_bound:,.0f} s"
        )
        out.append(
            f"  ARM write budget for the enables, longest path first: {self.enable_bound:,.0f} s"
        )
        out.append(
            f"  ARM read budget: ({self.reads_assumed:,} reads at {READS_PER_MACHINE_TARGET} a "
            f"machine - {rb:g} burst) / {rr:g} per s = {self.read_bound:,.0f} s"
        )
        return out

    def to_json(self) -> dict[str, Any]:
        """The computation as JSON."""
        return {
            "seconds": self.seconds,
            "hours": self.seconds / 3600,
            "binding": self.binding,
            "path_seconds": self.path,
            "floor_seconds": self.floor,
            "write_bound_seconds": self.write_bound,
            "enable_bound_seconds": self.enable_bound,
            "read_bound_seconds": self.read_bound,
            "writes_needed": self.writes_needed,
            "reads_assumed": self.reads_assumed,
            "interval": self.interval,
            "slowest_machine": self.slowest,
            "slowest_gib": self.slowest_gib,
            "stages": [{"stage": n, "seconds": s, "polled": p} for n, s, p in self.stages],
        }


def critical_path(
    timings: Timings,
    disks_gib: Mapping[str, int],
    *,
    interval: float,
    read_limits: tuple[float, float] = (250, 25),
    write_limits: tuple[float, float] = (200, 10),
) -> CriticalPath:
    """The critical path of migrating the machines ``disks_gib`` (instance id -> total GiB).

    Raises:
        ValueError: With no machine, or a polling interval that is not positive.
    """
    if not disks_gib:
        raise ValueError("no machine")
    if interval <= 0:
        raise ValueError("the polling interval must be positive")
    n = len(disks_gib)
    slowest = max(sorted(disks_gib), key=lambda i: disks_gib[i])
    gib = disks_gib[slowest]
    bandwidth = timings.bandwidth_mbps * 1_000_000 / 8  # bytes per second
    churn = timings.churn_mbps * 1_000_000 / 8
    stages = [
        ("enable", timings.enable_protection),
        ("initial replication", gib * 1024**3 / bandwidth),
        ("test failover", timings.test_failover),
        ("cleanup", timings.test_failover_cleanup),
        ("drain after stop", churn * timings.agent_lag / bandwidth + timings.processing_lag),
        ("failover", timings.unplanned_failover),
        ("commit", timings.failover_commit),
        ("complete", timings.disable_protection),
    ]

    def polled(seconds: float) -> float:
        return math.ceil(seconds / interval - 1e-9) * interval

    fixed = sum(polled(s) for name, s in stages if name != "initial replication")
    per_gib: dict[int, float] = {}  # GiB -> its machine's path (a fleet has few sizes)
    for size in set(disks_gib.values()):
        per_gib[size] = fixed + polled(size * 1024**3 / bandwidth)
    paths = sorted((per_gib[size] for size in disks_gib.values()), reverse=True)
    wb, wr = write_limits
    enable_bound = max(max(0.0, FLEET_WRITES + k + 1 - wb) / wr + p for k, p in enumerate(paths))
    writes = WRITES_PER_MACHINE * n + FLEET_WRITES
    reads = READS_PER_MACHINE_TARGET * n
    write_bound = max(0.0, writes - write_limits[0]) / write_limits[1]
    write_bound += polled(timings.disable_protection)
    read_bound = max(0.0, reads - read_limits[0]) / read_limits[1]
    return CriticalPath(
        machines=n,
        interval=interval,
        slowest=slowest,
        slowest_gib=gib,
        stages=tuple((name, float(s), polled(s)) for name, s in stages),
        write_bound=write_bound,
        enable_bound=enable_bound,
        read_bound=read_bound,
        writes_needed=writes,
        reads_assumed=reads,
        limits=(read_limits, write_limits),
    )
