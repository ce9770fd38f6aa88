"""What the progress display shows, kept from a run's events, and how it is drawn (no I/O).

:class:`ProgressState` folds :class:`~ec2asr.MigrationEvent` objects into per-machine stages,
failures, waits and initial-replication samples; :func:`render_lines` draws it for a terminal of
a given width (lines never wider than that), :func:`render_html` for Jupyter.
"""

from __future__ import annotations

import html
from collections import Counter
from datetime import datetime
from typing import Any

import attrs
from rich.text import Text

from ec2asr.events import EventKind, MigrationEvent
from ec2asr.migration.stages import MachineStatus, Stage

__all__ = ["ProgressState", "format_duration", "render_html", "render_lines"]

_SEP = " · "
_RECENT = 5


def format_duration(seconds: float) -> str:
    """``"2h05m"``, ``"4m10s"`` or ``"35s"``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, sec = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{sec:02d}s"
    return f"{sec}s"


@attrs.define
class _Machine:
    stage: Stage = Stage.PLANNED
    status: MachineStatus = MachineStatus.PENDING
    percent: float | None = None
    first_sample: tuple[datetime, float] | None = None
    last_sample: tuple[datetime, float] | None = None


@attrs.define
class ProgressState:
    """What the display shows, kept from the events (no I/O).

    The counts are kept up to date event by event (a fleet of thousands redraws cheaply).

    Args:
        total: How many machines the run moves.
        until: The stage the run was asked to reach.
        confirm_cutover: Whether the run may cut over (without it, machines that reach
            ``test-cleaned-up`` are *ready for cutover*: that is the run's goal).
    """

    total: int
    until: Stage = Stage.COMPLETED
    confirm_cutover: bool = True
    machines: dict[str, _Machine] = attrs.field(factory=dict)
    started_at: datetime | None = None
    latest_at: datetime | None = None
    recent: list[str] = attrs.field(factory=list)
    _stages: Counter[Stage] = attrs.field(factory=Counter)
    _flags: Counter[str] = attrs.field(factory=Counter)
    _replicating: set[str] = attrs.field(factory=set)

    @property
    def goal(self) -> str:
        """What "done" means for this run, as shown after the count."""
        if not self.confirm_cutover and self.until > Stage.TEST_CLEANED_UP:
            return "ready for cutover"
        return self.until.value

    def _flags_of(self, m: _Machine) -> tuple[str, ...]:
        ready = (
            not self.confirm_cutover
            and self.until > Stage.TEST_CLEANED_UP
            and m.stage is Stage.TEST_CLEANED_UP
            and m.status is MachineStatus.WAITING
        )
        flags = []
        if m.status is MachineStatus.FAILED:
            flags.append("failed")
        elif m.stage >= self.until or ready:
            flags.append("goal")
        if m.status is MachineStatus.WAITING and not ready:
            flags.append("waiting")
        return tuple(flags)

    def _change(self, iid: str, **changes: Any) -> _Machine:
        """Change one machine, keeping the counts right."""
        machine = self.machines.get(iid)
        if machine is None:
            machine = self.machines[iid] = _Machine()
        else:
            self._stages[machine.stage] -= 1
            self._flags.subtract(self._flags_of(machine))
        for name, value in changes.items():
            setattr(machine, name, value)
        self._stages[machine.stage] += 1
        self._flags.update(self._flags_of(machine))
        if machine.stage is Stage.REPLICATING:
            self._replicating.add(iid)
        else:
            self._replicating.discard(iid)
        return machine

    def seed(self, iid: str, stage: Stage, status: MachineStatus, percent: float | None) -> None:
        """Start from where the journal says a machine is (a resumed run)."""
        self._change(iid, stage=stage, status=status, percent=percent)

    def take(self, event: MigrationEvent) -> bool:
        """Apply one event; True when a machine changed stage, failed or began to wait."""
        if self.started_at is None:
            self.started_at = event.at
        self.latest_at = event.at
        iid = event.instance_id
        if event.kind in (EventKind.FAILED, EventKind.WARNING, EventKind.ACTION_REQUIRED):
            self.recent = [*self.recent, f"{event.kind.value}: {event}"][-_RECENT:]
        if iid is None:
            return False
        machine = self.machines[iid] if iid in self.machines else self._change(iid)
        if event.kind is EventKind.STAGE_REACHED and event.stage:
            stage = Stage(event.stage)
            changed = machine.stage is not stage or machine.status in (
                MachineStatus.FAILED,
                MachineStatus.WAITING,
            )
            status = MachineStatus.DONE if stage >= self.until else MachineStatus.PENDING
            self._change(iid, stage=stage, status=status)
            return changed
        if event.kind is EventKind.PROGRESS and "percent" in event.data:
            percent = float(event.data["percent"])
            machine.percent = percent
            if machine.first_sample is None:
                machine.first_sample = (event.at, percent)
            machine.last_sample = (event.at, percent)
            return False
        for kind, status in (
            (EventKind.FAILED, MachineStatus.FAILED),
            (EventKind.ACTION_REQUIRED, MachineStatus.WAITING),
        ):
            if event.kind is kind:
                changed = machine.status is not status
                self._change(iid, status=status)
                return changed
        return False

    # -- figures ---------------------------------------------------------------------------

    def at_goal(self) -> int:
        """Machines that reached what this run was asked for (failed ones excepted)."""
        return self._flags["goal"]

    def failed(self) -> int:
        """Machines that failed."""
        return self._flags["failed"]

    def waiting(self) -> int:
        """Machines waiting for a person (not counting those ready for cutover)."""
        return self._flags["waiting"]

    def stage_counts(self) -> list[tuple[Stage, int]]:
        """Machines per stage, in stage order, non-zero only."""
        return [(s, self._stages[s]) for s in Stage if self._stages[s] > 0]

    def replication(self) -> tuple[int, float, float | None] | None:
        """Initial replication: (machines, average %, seconds until the last one is done)."""
        running = [self.machines[iid] for iid in self._replicating]
        if not running:
            return None
        average = sum(m.percent or 0.0 for m in running) / len(running)
        remaining: list[float] = []
        for m in running:
            if m.first_sample is None or m.last_sample is None:
                return len(running), average, None
            (t0, p0), (t1, p1) = m.first_sample, m.last_sample
            span = (t1 - t0).total_seconds()
            if p1 >= 100:
                continue
            if span <= 0 or p1 <= p0:
                return len(running), average, None
            elapsed_since = (
                (self.latest_at - t1).total_seconds() if self.latest_at is not None else 0.0
            )
            remaining.append(max(0.0, (100 - p1) * span / (p1 - p0) - elapsed_since))
        return len(running), average, max(remaining) if remaining else 0.0

    def elapsed(self) -> float | None:
        """Seconds since the first event of this run (on the migration's clock)."""
        if self.started_at is None or self.latest_at is None:
            return None
        return (self.latest_at - self.started_at).total_seconds()

    # -- text ------------------------------------------------------------------------------

    def summary_items(self) -> list[str]:
        """The per-stage counts and the exceptions, as short items."""
        items = [f"{stage.value} {n}" for stage, n in self.stage_counts()]
        if self.waiting():
            items.append(f"waiting for a person {self.waiting()}")
        if self.failed():
            items.append(f"failed {self.failed()}")
        return items

    def replication_text(self) -> str | None:
        """``"initial replication 63% (4 machines) · ETA 1h12m"``, or None."""
        figures = self.replication()
        if figures is None:
            return None
        count, average, eta = figures
        noun = "machine" if count == 1 else "machines"
        text = f"initial replication {average:.0f}% ({count} {noun})"
        if eta is not None:
            text += f"{_SEP}ETA {format_duration(eta)}"
        return text

    def line(self) -> str:
        """The state as one line (for logs and notebooks' fallbacks)."""
        parts = [f"{self.at_goal()}/{self.total} {self.goal}", *self.summary_items()]
        replication = self.replication_text()
        if replication:
            parts.append(replication)
        return _SEP.join(parts)


def _fit(items: list[str], width: int) -> list[str]:
    """Greedy line breaking of ``items`` joined by ``_SEP``, each line at most ``width``."""
    lines: list[str] = []
    current = ""
    for item in items:
        if len(item) > width:
            item = item[: max(1, width - 1)] + "…"
        candidate = f"{current}{_SEP}{item}" if current else item
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = item
    if current:
        lines.append(current)
    return lines


def render_lines(state: ProgressState, width: int) -> list[Text]:
    """The terminal display, as lines of at most ``width`` cells (never wrapped by rich)."""
    width = max(20, width)
    done = f" {state.at_goal()}/{state.total} {state.goal}"
    elapsed = state.elapsed()
    if elapsed is not None:
        done += f"{_SEP}{format_duration(elapsed)}"
    if width - len(done) < 20:  # keep a bar worth the name
        done = f" {state.at_goal()}/{state.total}"
    bar_width = max(4, width - len(done))
    filled = round(bar_width * state.at_goal() / state.total) if state.total else bar_width
    bar_text = Text()
    bar_text.append("━" * filled, "green")
    bar_text.append("─" * (bar_width - filled), "bright_black")
    bar_text.append(done, "bold")
    lines = [bar_text]
    counts = _fit(state.summary_items(), width)
    lines.extend(Text(line) for line in counts)
    replication = state.replication_text()
    if replication:
        lines.extend(Text(line, style="cyan") for line in _fit(replication.split(_SEP), width))
    for line in lines:
        line.no_wrap = True
        line.overflow = "ellipsis"
        line.truncate(width, overflow="ellipsis")
    return lines


def render_html(state: ProgressState) -> str:
    """The display for Jupyter: a bar, the counts, replication and the latest warnings."""
    fraction = state.at_goal() / state.total if state.total else 1.0
    counts = "".join(
        f"<span style='margin-right:1em;white-space:nowrap'>{html.escape(item)}</span>"
        for item in state.summary_items()
    )
    replication = state.replication_text()
    recent = "".join(f"<li>{html.escape(r)}</li>" for r in state.recent)
    elapsed = state.elapsed()
    return (
        "<div class='ec2asr-progress' style='font-family:sans-serif;text-align:left'>"
        f"<div><b>{state.at_goal()}/{state.total} {html.escape(state.goal)}</b>"
        + (f" &middot; {format_duration(elapsed)}" if elapsed is not None else "")
        + "</div>"
        "<div style='background:#e0e0e0;height:8px;width:100%;max-width:40em;margin:4px 0'>"
        f"<div style='background:#2e7d32;height:8px;width:{fraction * 100:.1f}%'></div></div>"
        f"<div>{counts}</div>"
        + (f"<div style='color:#00838f'>{html.escape(replication)}</div>" if replication else "")
        + (f"<ul style='margin:4px 0;color:#b26a00'>{recent}</ul>" if recent else "")
        + "</div>"
    )
