"""Drawing a :class:`~ec2asr.migration.timeline.MigrationTimeline` as HTML (inline CSS and SVG).

Everything is escaped; nothing is fetched and no script runs, so the page can be mailed,
archived or shown in Jupyter as it is. The styles are scoped under ``div.ec2asr-report`` (more
specific than a notebook's own ``td`` rules, which right-align cells) and ids never wrap.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import TYPE_CHECKING

from ec2asr._html import notebook_safe
from ec2asr.migration._progress_state import format_duration
from ec2asr.migration.stages import MachineStatus, Stage

if TYPE_CHECKING:
    from ec2asr.migration.timeline import MachineTimeline, MigrationTimeline

__all__ = ["fragment", "page"]

_WIDTH = 1000  # SVG user units across the timeline column

STAGE_COLOURS = {
    Stage.PLANNED: "#d0d7de",
    Stage.PREPARED: "#afb8c1",
    Stage.AGENT_INSTALLED: "#8fd3e0",
    Stage.DISCOVERED: "#54aeff",
    Stage.REPLICATING: "#218bff",
    Stage.PROTECTED: "#4ac26b",
    Stage.TEST_MIGRATED: "#c297ff",
    Stage.TEST_CLEANED_UP: "#a475f9",
    Stage.SOURCE_STOPPED: "#fb8f44",
    Stage.FAILED_OVER: "#e16f24",
    Stage.COMMITTED: "#1a7f37",
    Stage.COMPLETED: "#116329",
}
"""The colour of the time a machine spends in each stage (until it reaches the next)."""

_STATUS_CLASS = {
    MachineStatus.FAILED: "bad",
    MachineStatus.WAITING: "wait",
    MachineStatus.ROLLED_BACK: "wait",
    MachineStatus.DONE: "good",
}


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(at: datetime, *, with_day: bool) -> str:
    return at.strftime("%Y-%m-%d %H:%M") + "Z" if with_day else at.strftime("%H:%M") + "Z"


def _x(at: datetime, start: datetime, total: float) -> float:
    return (at - start).total_seconds() / total * _WIDTH if total > 0 else 0.0


def _bar(row: MachineTimeline, start: datetime, total: float) -> str:
    shapes = []
    for span in row.spans:
        if span.seconds <= 0:
            continue
        x = _x(span.start, start, total)
        width = max(2.0, _x(span.end, start, total) - x)
        colour = STAGE_COLOURS.get(span.stage, "#d0d7de")
        tip = (
            f"{span.stage.value}: {_when(span.start, with_day=True)} to "
            f"{_when(span.end, with_day=True)} ({format_duration(span.seconds)})"
        )
        shapes.append(
            f'<rect class="span" data-stage="{span.stage.value}" x="{x:.1f}" y="3" '
            f'width="{width:.1f}" height="16" fill="{colour}"><title>{_esc(tip)}</title></rect>'
        )
    if row.cutover is not None:
        stopped, failed_over = row.cutover
        end = failed_over or row.end or stopped
        x = _x(stopped, start, total)
        width = max(3.0, _x(end, start, total) - x)
        tip = f"cutover window: source stop requested {_when(stopped, with_day=True)}"
        if failed_over is not None:
            tip += f", failed over {_when(failed_over, with_day=True)}"
        shapes.append(
            f'<rect class="cutover" x="{x:.1f}" y="1" width="{width:.1f}" height="20" '
            'fill="none" stroke="#cf222e" stroke-width="2" vector-effect="non-scaling-stroke">'
            f"<title>{_esc(tip)}</title></rect>"
        )
    label = f"timeline of {row.machine.name or row.machine.instance_id}"
    return (
        f'<svg viewBox="0 0 {_WIDTH} 22" preserveAspectRatio="none" role="img" '
        f'aria-label="{_esc(label)}">{"".join(shapes)}</svg>'
    )


def _figures(row: MachineTimeline) -> str:
    m = row.machine
    lines = []
    if row.cutover is not None:
        downtime = row.downtime_seconds
        if downtime is not None:
            lines.append(f"downtime {format_duration(downtime)}")
        else:
            lines.append(f"source stopped {_when(row.cutover[0], with_day=True)}")
    if m.data_loss_window_seconds is not None:
        loss = m.data_loss_window_seconds
        text = "data loss 0 s (no write lost)" if loss == 0 else f"data loss up to {loss:.0f} s"
        lines.append(f'<span class="{"good" if loss == 0 else "bad"}">{text}</span>')
    elif m.failover_recovery_point_id is not None or m.stage >= Stage.FAILED_OVER:
        lines.append("data loss unknown")
    if m.rpo_at_failover_seconds is not None:
        lines.append(f"RPO at failover {m.rpo_at_failover_seconds} s")
    return "<br>".join(lines) or "&ndash;"


def _row(row: MachineTimeline, start: datetime | None, total: float) -> str:
    m = row.machine
    status_class = _STATUS_CLASS.get(m.status, "")
    stage = [f"<div>{_esc(m.stage.value)}</div>"]
    stage.append(f'<div class="status {status_class}">{_esc(m.status.value)}</div>')
    if m.stage is Stage.REPLICATING and m.initial_replication_percent is not None:
        stage.append(f"<div>initial replication {m.initial_replication_percent:.0f}%</div>")
    bar = _bar(row, start, total) if start is not None else ""
    note = m.error or m.waiting or (m.note if m.status is MachineStatus.ROLLED_BACK else "")
    cells = (
        f'<td class="machine"><div class="name">{_esc(m.name or m.instance_id)}</div>'
        f'<div class="iid">{_esc(m.instance_id)}</div></td>'
        f'<td class="stage">{"".join(stage)}</td>'
        f'<td class="bar">{bar}</td>'
        f'<td class="fig">{_figures(row)}</td>'
    )
    attrs = f'data-instance-id="{_esc(m.instance_id)}" data-status="{_esc(m.status.value)}"'
    if not note:
        return f'<tr class="machine" {attrs}>{cells}</tr>'
    return (
        f'<tr class="machine has-note" {attrs}>{cells}</tr>'
        f'<tr class="note" data-note-for="{_esc(m.instance_id)}"><td></td>'
        f'<td colspan="3" class="{status_class}">{_esc(note)}</td></tr>'
    )


def _legend(timeline: MigrationTimeline) -> str:
    seen = {span.stage for row in timeline for span in row.spans if span.seconds > 0}
    items = [
        f'<span><i class="swatch" style="background:{STAGE_COLOURS[s]}"></i>{_esc(s.value)}</span>'
        for s in Stage
        if s in seen
    ]
    if any(row.cutover for row in timeline):
        items.append('<span><i class="swatch cut"></i>cutover window (source stopped)</span>')
    return f'<div class="legend">{"".join(items)}</div>' if items else ""


def _blocked(timeline: MigrationTimeline) -> str:
    if not timeline.blocked:
        return ""
    rows = []
    for m in timeline.blocked:
        reasons = m.blockers or ((m.waiting or "").removeprefix("blocked: "),)
        items = "".join(f"<li>{_esc(r)}</li>" for r in reasons if r)
        rows.append(
            f'<tr class="blocked" data-instance-id="{_esc(m.instance_id)}">'
            f'<td class="machine"><div class="name">{_esc(m.name or m.instance_id)}</div>'
            f'<div class="iid">{_esc(m.instance_id)}</div></td><td><ul>{items}</ul></td></tr>'
        )
    return (
        f'<h2 id="blocked">Not migrated: {len(timeline.blocked)} blocked</h2>'
        '<table class="blocked"><thead><tr><th>Machine</th><th>Blockers</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _summary(timeline: MigrationTimeline) -> str:
    rows = list(timeline)
    done = sum(1 for r in rows if r.machine.stage is Stage.COMPLETED)
    failed = sum(1 for r in rows if r.machine.status is MachineStatus.FAILED)
    parts = [f"{len(rows)} machines migrating ({done} completed, {failed} failed)"]
    if timeline.blocked:
        parts.append(f"{len(timeline.blocked)} blocked")
    start, end = timeline.start, timeline.end
    if start is not None and end is not None:
        parts.append(
            f"{_when(start, with_day=True)} to {_when(end, with_day=True)} "
            f"({format_duration((end - start).total_seconds())})"
        )
    if timeline.generated_at is not None:
        parts.append(f"as of {_when(timeline.generated_at, with_day=True)}")
    return " &middot; ".join(_esc(p) for p in parts)


def fragment(timeline: MigrationTimeline, *, title: str = "ec2asr migration timeline") -> str:
    """The timeline as an HTML fragment with its own scoped styles (Jupyter's output)."""
    start, end = timeline.start, timeline.end
    total = (end - start).total_seconds() if start is not None and end is not None else 0.0
    with_day = start is not None and end is not None and start.date() != end.date()
    axis = ""
    if start is not None and end is not None:
        axis = (
            f'<span class="axis"><span>{_when(start, with_day=with_day)}</span>'
            f"<span>{_when(end, with_day=with_day)}</span></span>"
        )
    rows = "".join(_row(r, start, total) for r in timeline)
    table = (
        '<table class="timeline"><thead><tr><th>Machine</th><th>Stage</th>'
        f"<th>Timeline (UTC){axis}</th><th>Cutover</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>No machine is migrating.</p>"
    )
    return notebook_safe(
        f'<h1>{_esc(title)}</h1><p class="summary">{_summary(timeline)}</p>'
        f"{_legend(timeline)}{table}{_blocked(timeline)}"
    )


def page(timeline: MigrationTimeline, *, title: str) -> str:
    """The timeline as one self-contained HTML page."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title></head>"
        f'<body style="margin:16px">{fragment(timeline, title=title)}</body></html>\n'
    )
