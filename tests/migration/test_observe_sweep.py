"""One observation per cycle reads the protected items only when some machine waits on them,
and only those machines' items."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from ec2asr.azure.jobs import SweepResult
from ec2asr.migration._observe import IR_QUIET_MAX, observe
from ec2asr.migration._runtime import Live, RunOptions
from ec2asr.migration.journal import MachineRecord
from ec2asr.migration.stages import MachineStatus, Stage


class _Tracker:
    def __init__(self) -> None:
        self.read_items: list[Any] = []

    def sweep(self, *, read_items: Any = False) -> SweepResult:
        self.read_items.append(list(read_items))
        return SweepResult(finished=())


def _live(iid: str, stage: Stage, status: MachineStatus, op_key: str | None = None) -> Live:
    record = MachineRecord(instance_id=iid, name=None, stage=stage, status=status)
    plan: Any = SimpleNamespace(instance_id=iid)
    return Live(plan=plan, record=record, op_key=op_key)


NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def _reads_items(*lives: Live, now: datetime = NOW) -> list[str]:
    tracker = _Tracker()
    rt: Any = SimpleNamespace(tracker=tracker, ops={}, now=lambda: now)
    observe(rt, list(lives), 30.0)
    assert len(tracker.read_items) == 1  # one sweep per cycle, whatever the fleet
    return tracker.read_items[0]


@pytest.mark.parametrize(
    ("stage", "status", "op_key", "expected"),
    [
        # Waiting on item state: initial replication, a recovery point after the stop.
        (Stage.REPLICATING, MachineStatus.IN_PROGRESS, None, True),
        (Stage.SOURCE_STOPPED, MachineStatus.PENDING, None, True),
        (Stage.FAILED_OVER, MachineStatus.PENDING, None, True),
        # A job in flight: the job list says when it ends.
        (Stage.PROTECTED, MachineStatus.IN_PROGRESS, "i-1:test-failover", False),
        (Stage.COMMITTED, MachineStatus.IN_PROGRESS, "i-1:complete-migration", False),
        # Nothing more to do for it in this run.
        (Stage.COMMITTED, MachineStatus.DONE, None, False),
        (Stage.REPLICATING, MachineStatus.FAILED, None, False),
        # Not replicating yet.
        (Stage.DISCOVERED, MachineStatus.PENDING, None, False),
    ],
)
def test_items_are_read_only_when_a_machine_waits_on_them(
    stage: Stage, status: MachineStatus, op_key: str | None, expected: bool
) -> None:
    assert _reads_items(_live("i-1", stage, status, op_key)) == (["i-1"] if expected else [])


def test_one_waiting_machine_is_enough() -> None:
    busy = [
        _live(f"i-{n}", Stage.TEST_MIGRATED, MachineStatus.IN_PROGRESS, f"i-{n}:cleanup")
        for n in range(5)
    ]
    assert _reads_items(*busy) == []
    waiting = _live("i-9", Stage.REPLICATING, MachineStatus.IN_PROGRESS)
    assert _reads_items(*busy, waiting) == ["i-9"]  # the waiting machine's item, no other


class _Progress:
    """Just what ``observe`` uses for a machine in initial replication: its tracker answers
    with the item at the time of each sweep."""

    def __init__(self, clock: list[datetime], finish: timedelta) -> None:
        self.clock = clock
        self.finish = finish
        self.ops: dict[str, str] = {}
        self.options = RunOptions()
        self.events = SimpleNamespace(emit=lambda *a, **k: None)
        self.tracker = SimpleNamespace(sweep=self.sweep)
        self.reads = 0
        self.read_at: list[datetime] = []
        self.reached: list[datetime] = []

    def now(self) -> datetime:
        return self.clock[0]

    def sweep(self, *, read_items: Any = False) -> SweepResult:
        if not read_items:
            return SweepResult(finished=())
        self.read_at.append(self.now())
        done = self.now() - NOW >= self.finish
        percent = min(100, int(100 * (self.now() - NOW) / self.finish))
        item: Any = SimpleNamespace(
            health_errors=(),
            is_protected=done,
            initial_replication_percent=None if done else percent,
            last_rpo_seconds=None,
        )
        return SweepResult(finished=(), items=dict.fromkeys(read_items, item))

    def update(self, live: Live, **changes: Any) -> MachineRecord:
        data = {**live.record.data, **changes.get("data", {})}
        live.record = MachineRecord(
            live.iid, None, live.record.stage, live.record.status, data=data
        )
        return live.record

    def reach(self, live: Live, stage: Stage, message: str, **data: Any) -> None:
        self.reached.append(self.now())
        live.record = MachineRecord(live.iid, None, stage, MachineStatus.PENDING)


def test_initial_replication_is_read_when_due_and_its_end_in_the_cycle_it_comes() -> None:
    # 6,000 s of initial replication at a steady rate, a cycle every 30 s: the item is read
    # at most every 10 minutes, more often near the end, and the end is seen when it comes.
    clock = [NOW]
    rt = _Progress(clock, timedelta(seconds=6_000))
    live = _live("i-1", Stage.REPLICATING, MachineStatus.IN_PROGRESS)
    for cycle in range(1, 400):
        clock[0] = NOW + timedelta(seconds=30 * cycle)
        if live.stage is not Stage.REPLICATING:
            break
        observe(rt, [live], 30.0)  # type: ignore[arg-type]
    assert rt.reached == [NOW + timedelta(seconds=6_000)]  # seen in the cycle it finished
    gaps = [b - a for a, b in zip([NOW, *rt.read_at], rt.read_at, strict=False)]
    assert max(gaps) <= IR_QUIET_MAX
    assert len(rt.read_at) < 200 / 4  # 200 cycles; a read every cycle before


def test_a_machine_whose_progress_is_not_due_is_not_read() -> None:
    live = _live("i-1", Stage.REPLICATING, MachineStatus.IN_PROGRESS)
    live.item_due = NOW + timedelta(minutes=5)
    assert _reads_items(live) == []
    assert _reads_items(live, now=NOW + timedelta(minutes=5)) == ["i-1"]
    stopped = _live("i-2", Stage.SOURCE_STOPPED, MachineStatus.PENDING)
    stopped.item_due = NOW + timedelta(minutes=5)  # only initial replication waits
    assert _reads_items(stopped) == ["i-2"]


def test_the_appliances_discovered_machines_are_let_go_once_nothing_waits_for_discovery() -> None:
    refreshed: list[int] = []
    listed = {"/m/1": SimpleNamespace(id="/m/1", ip_addresses=("10.0.0.1",))}
    rt: Any = SimpleNamespace(tracker=_Tracker(), ops={}, now=lambda: NOW, discovered=dict(listed))
    rt.refresh_discovered = lambda: refreshed.append(1) or list(listed.values())
    lives = [
        _live("i-1", Stage.PROTECTED, MachineStatus.IN_PROGRESS),
        _live("i-2", Stage.COMPLETED, MachineStatus.DONE),
    ]
    observe(rt, lives, 30.0)
    assert rt.discovered == {}  # a wave's thousands of records are not held for the run
    assert refreshed == []  # and nothing was read for it
