"""Text and HTML renderings of a :class:`~ec2asr.assessment.ReadinessReport`."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ec2asr._html import notebook_safe

if TYPE_CHECKING:
    from ec2asr.assessment.report import ReadinessReport

# (header, width); width 0 = last column, not padded.
COLUMNS = (("INSTANCE", 19), ("NAME", 20), ("OS", 26), ("VERDICT", 19), ("TOP REASONS", 0))
_HTML_HEADERS = ("Instance", "Name", "OS", "Verdict", "Top reasons", "Findings")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table_rows(report: ReadinessReport) -> list[tuple[str, str, str, str, str]]:
    """One row per machine: instance, name, OS, verdict, top reasons."""
    return [
        (
            m.instance_id,
            m.name or "-",
            m.os_label,
            m.verdict.value,
            ", ".join(m.top_reasons()) or "-",
        )
        for m in report.machines
    ]


def render_table(report: ReadinessReport) -> list[str]:
    """The fixed-width table alone (one line per machine)."""
    lines = []
    header = [name.ljust(width) if width else name for name, width in COLUMNS]
    lines.append("  ".join(header).rstrip())
    lines.append("  ".join("-" * (width or 40) for _, width in COLUMNS))
    for row in table_rows(report):
        cells = [
            _clip(value, width).ljust(width) if width else value
            for value, (_, width) in zip(row, COLUMNS, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_text(report: ReadinessReport) -> str:
    """A fixed-width table, then every machine's findings, then the summary line."""
    lines = render_table(report)
    for m in report.machines:
        if not m.findings:
            continue
        title = f"{m.name} ({m.instance_id})" if m.name else m.instance_id
        lines.append("")
        lines.append(f"{title}: {m.verdict.value}")
        for f in m.findings:
            lines.append(f"  [{f.severity.value}] {f.code}: {f.message}")
            # One fact often backs several OS fields (family, name, version): show it once.
            shown = dict.fromkeys(str(e) for e in f.evidence)
            lines.extend(f"      evidence: {e}" for e in shown)
            if f.remediation:
                lines.append(f"      fix: {f.remediation}")
    lines.append("")
    lines.append(report.summary())
    return "\n".join(lines)


def render_html(report: ReadinessReport) -> str:
    """An HTML table (every value escaped) for Jupyter's ``_repr_html_``."""
    esc = html.escape
    out = [
        '<table class="ec2asr-readiness">',
        f"<caption>{esc(report.summary())}</caption>",
        "<thead><tr>" + "".join(f"<th>{h}</th>" for h in _HTML_HEADERS) + "</tr></thead>",
        "<tbody>",
    ]
    for m, row in zip(report.machines, table_rows(report), strict=True):
        items = "".join(
            f"<li><b>{esc(f.severity.value)}</b> <code>{esc(f.code)}</code>: {esc(f.message)}"
            + (f"<br><i>fix:</i> {esc(f.remediation)}" if f.remediation else "")
            + "</li>"
            for f in m.findings
        )
        cells = "".join(
            f'<td class="iid">{esc(value)}</td>' if i == 0 else f"<td>{esc(value)}</td>"
            for i, value in enumerate(row)
        )
        findings = f"<td><ul>{items}</ul></td>" if items else "<td></td>"
        out.append(f'<tr data-verdict="{esc(m.verdict.value)}">{cells}{findings}</tr>')
    out.append("</tbody>")
    out.append("</table>")
    return notebook_safe("\n".join(out))
