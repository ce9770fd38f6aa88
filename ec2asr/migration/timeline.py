"""``MigrationTimeline``: a migration's stages over time, one row per machine.

Built from a :class:`~ec2asr.MigrationReport` (hence from the journal: each machine's
``stage_times``, its initial replication %, when its source was asked to stop and what the
failover lost). :meth:`MigrationTimeline.to_html` draws one self-contained page (inline CSS and
SVG, no script, nothing fetched): a Gantt-style bar per machine, the cutover window on it, the
data-loss figure beside it, and the blocked machines grouped apart. In Jupyter it renders
inline (``_repr_html_``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import attrs

from ec2asr.migration.report import MachineReport
from ec2asr.migration.stages import MachineStatus, Stage

__all__ = ["MachineTimeline", "MigrationTimeline", "StageSpan"]

_OPEN = (MachineStatus.PENDING, MachineStatus.IN_PROGRESS, MachineStatus.WAITING)


@attrs.frozen
class StageSpan:
    """The time a machine spent in one stage (from reaching it to reaching the next).

    Attributes:
        stage: The stage reached at ``start``.
        start: When it was reached.
        end: When the next stage was reached (or the report's time, for the stage a machine
            is still in; ``start`` for the last stage of a machine that is done).
    """

    stage: Stage
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        """How long it lasted."""
        return (self.end - self.start).total_seconds()


@attrs.frozen
class MachineTimeline:
    """One machine's row of the timeline.

    Attributes:
        machine: The report's machine.
        spans: Its stages over time, in order.
        cutover: ``(stop requested, failed over)`` when it was cut over (the end is None while
            the failover is under way): the window the source was down.
    """

    machine: MachineReport
    spans: tuple[StageSpan, ...]
    cutover: tuple[datetime, datetime | None] | None = None

    @property
    def start(self) -> datetime | None:
        """When its first recorded stage was reached."""
        return self.spans[0].start if self.spans else None

    @property
    def end(self) -> datetime | None:
        """When its last span ends."""
        return self.spans[-1].end if self.spans else None

    @property
    def downtime_seconds(self) -> float | None:
        """Seconds from the stop request to the failover, once it failed over."""
        if self.cutover is None or self.cutover[1] is None:
            return None
        return (self.cutover[1] - self.cutover[0]).total_seconds()

    @classmethod
    def from_machine(cls, machine: MachineReport, *, now: datetime | None) -> MachineTimeline:
        """Build the row of one machine; ``now`` closes the stage it is still in."""
        times = list(machine.stage_times)
        spans: list[StageSpan] = []
        for i, (stage, start) in enumerate(times):
            if i + 1 < len(times):
                end = times[i + 1][1]
            elif machine.status in _OPEN and now is not None and now > start:
                end = now
            else:
                end = start
            spans.append(StageSpan(Stage(stage), start, max(start, end)))
        cutover = None
        if machine.stop_requested_at is not None:
            failed_over = dict(times).get(Stage.FAILED_OVER.value)
            cutover = (machine.stop_requested_at, failed_over)
        return cls(machine=machine, spans=tuple(spans), cutover=cutover)


@attrs.frozen
class MigrationTimeline:
    """A migration's timeline: the machines that move, and the blocked ones apart.

    Iterating yields the :class:`MachineTimeline` rows of the machines that move.

    Attributes:
        rows: One row per machine that is not blocked, in the journal's order.
        blocked: The machines not migrated, with their blockers.
        generated_at: When the report was made (it closes the stages still under way).
    """

    rows: tuple[MachineTimeline, ...]
    blocked: tuple[MachineReport, ...]
    generated_at: datetime | None = None

    @classmethod
    def from_machines(
        cls, machines: tuple[MachineReport, ...], *, generated_at: datetime | None = None
    ) -> MigrationTimeline:
        """Build from a report's machines."""
        rows = tuple(
            MachineTimeline.from_machine(m, now=generated_at)
            for m in machines
            if m.status is not MachineStatus.BLOCKED
        )
        blocked = tuple(m for m in machines if m.status is MachineStatus.BLOCKED)
        return cls(rows=rows, blocked=blocked, generated_at=generated_at)

    def __iter__(self) -> Iterator[MachineTimeline]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def start(self) -> datetime | None:
        """The earliest recorded stage of any machine."""
        starts = [r.start for r in self.rows if r.start is not None]
        return min(starts) if starts else None

    @property
    def end(self) -> datetime | None:
        """The latest end of any row."""
        ends = [r.end for r in self.rows if r.end is not None]
        return max(ends) if ends else None

    def to_html(self, *, title: str = "ec2asr migration timeline") -> str:
        """One self-contained HTML page (inline CSS and SVG; nothing fetched, no script)."""
        from ec2asr.migration._timeline_html import page

        return page(self, title=title)

    def _repr_html_(self) -> str:
        from ec2asr.migration._timeline_html import fragment

        return fragment(self)
