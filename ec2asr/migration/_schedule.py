"""Which machine acts first, how many ASR writes a cycle sends, and through which appliance.

What holds a large migration back is what ASR and ARM limit, not the number of machines:

- **Finish first.** Each cycle acts on machines from the last stage back to the first (plan order
  within a stage), so a machine already under way takes a freed slot before a new machine is
  enabled: machines started are finished before new ones start.
- **Longest path first among new machines.** Machines waiting to be enabled go in order of their
  disk size, largest first: initial replication is the only stage whose length differs between
  machines, so when the write budget spaces the enables out, the machines with the longest way to
  go start first instead of finishing last.
- **Slots are ASR operations (jobs) in flight**, not machines: a machine in initial replication
  holds none. ``concurrency`` is the user's cap on them (``None``: no cap of ec2asr's own).
- **A cycle's writes** are bounded by about one polling interval's worth of ARM's write budget
  (the burst plus the refill over one interval): the client-side token bucket paces them, and a
  cycle never blocks on it for much longer than an interval (a team worker renews its claims
  every cycle).
- **Appliance room.** A machine replicates through one appliance's process server, which holds
  about :data:`~ec2asr.azure.models.APPLIANCE_CAPACITY` machines (Microsoft: "An appliance that
  uses an in-built process server to protect the workload can handle up to 200 virtual
  machines"). A machine is assigned to the healthy process server with the most room when its
  replication is enabled; the assignment is journaled (a re-run keeps it), and the machine counts
  against that appliance from then until it fails over, completes, or its replication is
  disabled. A machine for which no appliance has room waits. The load from outside this run is
  ASR's count at the start; a team's worker (shared journal) reads it again in every cycle in
  which a machine waits for an appliance, as the other workers enable machines too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ec2asr.azure.models import APPLIANCE_CAPACITY, ApplianceFabric
from ec2asr.migration.stages import MachineStatus, Stage

if TYPE_CHECKING:
    from ec2asr.migration._runtime import Live

__all__ = [
    "ARM_WRITE_BURST",
    "ARM_WRITE_RATE",
    "Placement",
    "Room",
    "assigned_server",
    "disk_gib",
    "finish_first",
    "holds_room",
    "writes_per_cycle",
]

ARM_WRITE_BURST = 200
"""ARM's per-subscription write burst (used when the client's budget does not say)."""

ARM_WRITE_RATE = 10.0
"""ARM's per-subscription write refill per second (used when the client's budget does not say)."""

_INACTIVE = frozenset({MachineStatus.FAILED, MachineStatus.BLOCKED, MachineStatus.ROLLED_BACK})
_LAST_FIRST = tuple(reversed(list(Stage)))
_REPLICATING = frozenset(s for s in Stage if Stage.REPLICATING <= s < Stage.FAILED_OVER)
_FAILED_OVER = frozenset(s for s in Stage if Stage.FAILED_OVER <= s < Stage.COMPLETED)


def finish_first(lives: Iterable[Live]) -> list[Live]:
    """The machines that may act this cycle (nothing in flight, not failed, blocked or rolled
    back), latest stage first, plan order within a stage, except that machines waiting to be
    enabled go longest path first (see :func:`disk_gib`). One pass over ``lives``."""
    buckets: dict[Stage, list[Live]] = {}
    for live in lives:
        record = live.record
        if live.op_key is not None or record.status in _INACTIVE:
            continue
        bucket = buckets.get(record.stage)
        if bucket is None:
            buckets[record.stage] = bucket = []
        bucket.append(live)
    to_enable = buckets.get(Stage.DISCOVERED)
    if to_enable and len(to_enable) > 1:
        to_enable.sort(key=disk_gib, reverse=True)  # stable: plan order among equals
    return [live for stage in _LAST_FIRST for live in buckets.get(stage, ())]


def disk_gib(live: Live) -> int:
    """The GiB initial replication copies for a machine: what sets how long its path is.

    Every stage after initial replication takes the same time for every machine, so the
    machine with the most disk has the longest way to go from its enable. When ARM's write
    budget binds (thousands of machines), enabling those first keeps them from finishing last:
    in the 10,000-machine benchmark a machine with 1,050 GiB enabled last adds its whole
    75-minute initial replication to the end of the run.
    """
    return sum(volume.size_gib for volume in live.plan.machine.volumes)


def writes_per_cycle(budget: Any, interval: float) -> int:
    """About one polling interval's worth of the write budget: its burst plus its refill over
    ``interval`` seconds (ARM's limits when ``budget`` does not report them); at least 1."""
    burst = getattr(budget, "capacity", None) or ARM_WRITE_BURST
    rate = getattr(budget, "rate", None) or ARM_WRITE_RATE
    return max(1, int(burst + rate * max(0.0, interval)))


def assigned_server(live: Live) -> str | None:
    """The process server a machine was assigned to (journaled), lower-cased, or None."""
    appliance = live.record.data.get("appliance")
    if not appliance:
        return None
    server = appliance.get("process_server_id") if hasattr(appliance, "get") else None
    return str(server).lower() if server else None


def holds_room(live: Live) -> bool:
    """True while a machine counts against its appliance: from the assignment (enable about to
    be sent, in flight, or its answer lost) through replication, until it fails over, completes
    or is rolled back; a machine whose enable failed holds none."""
    record = live.record
    if record.status is MachineStatus.ROLLED_BACK:
        return False
    if record.stage in _REPLICATING:
        return True
    if record.stage is Stage.DISCOVERED:
        return record.status is not MachineStatus.FAILED or live.op_key is not None
    return False


def _has_item(live: Live) -> bool:
    """True when the machine's protected item exists in ASR (ASR counts it on the server)."""
    if live.record.status is MachineStatus.ROLLED_BACK:
        return False
    return holds_room(live) or live.record.stage in _FAILED_OVER


@attrs.define
class Room:
    """One appliance's process server and how many machines replicate through it.

    Attributes:
        process_server_id: The process server's id (the enable request names it).
        name: The appliance's name.
        capacity: About how many machines it replicates at once.
        others: Machines replicating through it outside this run (ASR's count at the start,
            minus this run's machines it already counted).
        ours: This run's machines that count against it now.
    """

    process_server_id: str
    name: str
    capacity: int
    others: int = 0
    ours: int = 0

    @property
    def free(self) -> int:
        """How many more machines it can take."""
        return self.capacity - self.others - self.ours


class Placement:
    """The appliances' process servers of the fabric, and which machine replicates where.

    Args:
        fabric: The InMageRcm fabric (its process servers, with ASR's protected-item counts).
        capacity: Machines per process server (default: ``APPLIANCE_CAPACITY``).
    """

    def __init__(self, fabric: ApplianceFabric, *, capacity: int | None = None) -> None:
        capacity = capacity or APPLIANCE_CAPACITY
        self.rooms: dict[str, Room] = {
            ps.id.lower(): Room(ps.id, ps.name, capacity) for ps in fabric.process_servers
        }
        self._open = [self.rooms[ps.id.lower()] for ps in fabric.usable_process_servers]
        """Where new machines go: the healthy servers (every server when none reports so)."""
        self._reported = {ps.id.lower(): ps.protected_item_count for ps in fabric.process_servers}
        self._baseline = False

    def __repr__(self) -> str:
        rooms = ", ".join(
            f"{r.name}: {r.capacity - r.free}/{r.capacity}" for r in self.rooms.values()
        )
        return f"Placement({rooms})"

    def count(self, lives: Sequence[Live]) -> None:
        """Recount this run's machines per process server (one pass over ``lives``). The first
        call also sets each server's load from outside this run."""
        for room in self.rooms.values():
            room.ours = 0
        existing: dict[str, int] = {}
        for live in lives:
            found = self.room_of(live)
            if found is None:
                continue
            room = found
            if holds_room(live):
                room.ours += 1
            if not self._baseline and _has_item(live):
                existing[room.process_server_id.lower()] = (
                    existing.get(room.process_server_id.lower(), 0) + 1
                )
        if not self._baseline:
            for key, room in self.rooms.items():
                room.others = max(0, self._reported.get(key, 0) - existing.get(key, 0))
            self._baseline = True

    def refresh(self, fabric: ApplianceFabric) -> None:
        """Take ASR's current protected-item counts (the next :meth:`count` measures the load
        from outside this run again): a team's workers share the appliances."""
        self._reported = {ps.id.lower(): ps.protected_item_count for ps in fabric.process_servers}
        self._baseline = False

    def room_of(self, live: Live) -> Room | None:
        """The process server a machine was assigned to, if it still exists."""
        server = assigned_server(live)
        return self.rooms.get(server) if server else None

    def take(self) -> Room | None:
        """Reserve a place on the healthy process server with the most room (the first such
        server on a tie); None when every one is full."""
        best: Room | None = None
        for room in self._open:
            if best is None or room.free > best.free:
                best = room
        if best is None or best.free <= 0:
            return None
        best.ours += 1
        return best

    @property
    def capacity(self) -> int:
        """Machines the healthy process servers replicate at once, in total."""
        return sum(room.capacity for room in self._open)
