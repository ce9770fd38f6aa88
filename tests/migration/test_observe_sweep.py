"""One observation per cycle reads the protected items only when some machine waits on them,
and only those machines' items."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ec2asr.azure.jobs import SweepResult
from ec2asr.migration._observe import observe
from ec2asr.migration._runtime import Live
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


def _reads_items(*lives: Live) -> list[str]:
    tracker = _Tracker()
    rt: Any = SimpleNamespace(tracker=tracker, ops={})
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
