"""The progress display: what it counts, how it fits a terminal, logs above it, no terminal,
Jupyter."""

from __future__ import annotations

import io
import logging
import re
import sys
import types
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from rich.console import Console

from ec2asr.events import EventKind, MigrationEvent
from ec2asr.migration._progress_state import render_lines
from ec2asr.migration.progress import ProgressBar
from ec2asr.migration.stages import MachineStatus, Stage

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def stage(iid: str, name: str, minutes: float = 0) -> MigrationEvent:
    return MigrationEvent(
        kind=EventKind.STAGE_REACHED,
        message=name,
        instance_id=iid,
        stage=name,
        at=T0 + timedelta(minutes=minutes),
    )


def percent(iid: str, value: float, minutes: float) -> MigrationEvent:
    return MigrationEvent(
        kind=EventKind.PROGRESS,
        message=f"initial replication {value}%",
        instance_id=iid,
        data={"percent": value},
        at=T0 + timedelta(minutes=minutes),
    )


def event(kind: EventKind, iid: str, message: str, stage_name: str | None = None) -> MigrationEvent:
    return MigrationEvent(kind=kind, message=message, instance_id=iid, stage=stage_name, at=T0)


def quiet_bar(total: int, **kwargs: Any) -> ProgressBar:
    return ProgressBar(total, stream=io.StringIO(), notebook=False, **kwargs)


def busy_fleet(bar: ProgressBar, n: int) -> None:
    """n machines spread over every stage, some failed, some waiting, some replicating."""
    stages = [s for s in Stage if s is not Stage.PLANNED]
    for i in range(n):
        iid = f"i-{i:017x}"
        for k, s in enumerate(stages[: i % len(stages) + 1]):
            bar(stage(iid, s.value, minutes=k))
        if i % len(stages) == stages.index(Stage.REPLICATING):
            bar(percent(iid, 10, 10))
            bar(percent(iid, 10 + i % 50, 40))
        if i % 17 == 0:
            bar(event(EventKind.FAILED, iid, "enable-replication failed: boom"))
        elif i % 13 == 0:
            bar(event(EventKind.ACTION_REQUIRED, iid, "add the server on the appliance"))


# -- what it counts --------------------------------------------------------------------------


def test_a_run_without_cutover_ends_ready_for_cutover_not_at_zero_completed() -> None:
    bar = quiet_bar(2, until=Stage.COMPLETED, confirm_cutover=False)
    for iid in ("i-1", "i-2"):
        for s in ("prepared", "replicating", "protected", "test-migrated", "test-cleaned-up"):
            bar(stage(iid, s))
    assert bar.line().startswith("0/2 ready for cutover")
    bar(event(EventKind.ACTION_REQUIRED, "i-1", "ready for cutover: ...", "test-cleaned-up"))
    bar(event(EventKind.ACTION_REQUIRED, "i-2", "ready for cutover: ...", "test-cleaned-up"))
    assert bar.line().startswith("2/2 ready for cutover")
    assert "waiting for a person" not in bar.line()  # confirming a cutover is the goal here


def test_the_goal_is_the_runs_until_stage() -> None:
    bar = quiet_bar(2, until=Stage.PROTECTED)
    bar(stage("i-1", "protected"))
    bar(stage("i-2", "replicating"))
    assert bar.line().startswith("1/2 protected")
    bar(event(EventKind.FAILED, "i-1", "boom"))
    assert bar.line().startswith("0/2 protected")
    assert "failed 1" in bar.line()


def test_per_stage_counts_waiting_and_failed() -> None:
    bar = quiet_bar(4)
    bar(stage("i-1", "replicating"))
    bar(stage("i-2", "replicating"))
    bar(stage("i-3", "protected"))
    bar(event(EventKind.ACTION_REQUIRED, "i-4", "add it on the appliance", "prepared"))
    bar(event(EventKind.FAILED, "i-3", "test failover failed"))
    line = bar.line()
    assert "replicating 2" in line
    assert "protected 1" in line
    assert "waiting for a person 1" in line
    assert "failed 1" in line
    bar(stage("i-3", "test-migrated"))  # a re-run carried it on
    assert "failed" not in bar.line()


def test_initial_replication_average_and_eta() -> None:
    bar = quiet_bar(2)
    bar(stage("i-1", "replicating"))
    bar(stage("i-2", "replicating"))
    bar(percent("i-1", 10, 0))
    bar(percent("i-2", 50, 0))
    assert "initial replication 30% (2 machines)" in bar.line()
    assert "ETA" not in bar.line()  # one sample each: no rate yet
    bar(percent("i-1", 40, 30))  # 30 points in 30 min: 60 min to go
    bar(percent("i-2", 90, 30))  # 40 points in 30 min: 7.5 min to go
    assert "initial replication 65% (2 machines) · ETA 1h00m" in bar.line()


def test_a_resumed_run_starts_from_the_journal() -> None:
    bar = quiet_bar(3, until=Stage.TEST_CLEANED_UP)
    bar.seed(
        [
            ("i-1", Stage.TEST_CLEANED_UP, MachineStatus.DONE, None),
            ("i-2", Stage.REPLICATING, MachineStatus.IN_PROGRESS, 42.0),
            ("i-3", Stage.DISCOVERED, MachineStatus.PENDING, None),
        ]
    )
    assert bar.line().startswith("1/3 test-cleaned-up")
    assert "initial replication 42% (1 machine)" in bar.line()


# -- a terminal ------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 60, 132])
def test_the_display_fits_the_terminal_and_never_wraps(width: int) -> None:
    bar = quiet_bar(1000, confirm_cutover=False)
    busy_fleet(bar, 1000)
    lines = render_lines(bar.state, width)
    assert len(lines) >= 3  # the bar, the counts, replication
    assert all(line.cell_len <= width for line in lines)
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(bar.render(width))
    printed = console.export_text().rstrip("\n").split("\n")
    assert len(printed) == len(lines)  # nothing wrapped onto an extra line
    assert all(len(line) <= width for line in printed)
    assert re.search(r"━+─+ \d+/1000 ready for cutover", printed[0])
    text = "\n".join(printed)
    for fragment in ("replicating", "failed", "waiting for a person", "initial replication"):
        assert fragment in text


def screen(raw: str, height: int = 200) -> list[str]:
    """What a terminal shows after ``raw``: enough of VT100 for rich's live display (carriage
    return, newline, cursor up, erase line; colours and cursor visibility are ignored)."""
    rows: list[str] = [""]
    row = col = 0
    for token in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)", raw):
        if not token:
            continue
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            if row == len(rows):
                rows.append("")
        elif token.startswith("\x1b["):
            code, arg = token[-1], token[2:-1]
            if code == "A":
                row = max(0, row - int(arg or 1))
            elif code == "K":
                rows[row] = rows[row][:col] if arg in ("", "0") else ""
        else:
            line = rows[row].ljust(col)
            rows[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    return rows[-height:]


def tty_console(width: int = 80) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=width, force_terminal=True, color_system=None), out


@pytest.fixture
def ec2asr_handler() -> Iterator[logging.StreamHandler[Any]]:
    logger = logging.getLogger("ec2asr")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_log_records_go_above_the_live_display_on_lines_of_their_own(
    ec2asr_handler: logging.StreamHandler[Any],
) -> None:
    console, out = tty_console()
    ec2asr_handler.setStream(console.file)  # the handler writes to the same terminal
    bar = ProgressBar(2, stream=console.file, console=console)
    bar(stage("i-1", "prepared"))
    assert ec2asr_handler.stream is not console.file  # routed through the display meanwhile
    logging.getLogger("ec2asr").warning("i-1: replication health: something odd")
    bar(stage("i-1", "replicating"))
    logging.getLogger("ec2asr").warning("i-2: another record")
    bar.close()
    assert ec2asr_handler.stream is console.file  # given back
    shown = [line.rstrip() for line in screen(out.getvalue()) if line.strip()]
    assert shown[:2] == [
        "WARNING ec2asr: i-1: replication health: something odd",
        "WARNING ec2asr: i-2: another record",
    ]  # records on lines of their own, above the display, nothing glued to them
    assert shown[2].endswith(" 0/2 completed · 0s")  # the display, once, below them
    assert shown[3:] == ["replicating 1", "initial replication 0% (1 machine)"]
    assert all(len(line) <= 80 for line in shown)


def test_close_restores_logging_even_when_the_run_raises(
    ec2asr_handler: logging.StreamHandler[Any],
) -> None:
    console, _ = tty_console()
    ec2asr_handler.setStream(console.file)
    bar = ProgressBar(1, stream=console.file, console=console)
    try:
        bar(stage("i-1", "prepared"))
        raise RuntimeError("the run broke")
    except RuntimeError:
        bar.close()
    assert ec2asr_handler.stream is console.file
    bar(stage("i-1", "replicating"))  # after close: nothing is drawn, nothing breaks


# -- no terminal -----------------------------------------------------------------------------


def test_without_a_terminal_one_line_per_change() -> None:
    stream = io.StringIO()
    bar = ProgressBar(2, stream=stream, notebook=False)
    bar(stage("i-1", "replicating"))
    for value in (10, 20, 30):
        bar(percent("i-1", value, value))  # progress ticks print nothing
    bar(stage("i-1", "replicating"))  # no change
    bar(stage("i-1", "protected", 40))
    bar(event(EventKind.FAILED, "i-2", "boom"))
    bar(event(EventKind.FAILED, "i-2", "boom again"))  # already failed
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert "\r" not in stream.getvalue()
    assert "\x1b" not in stream.getvalue()
    assert lines[0].startswith("12:00:00  i-1: replicating  [0/2 completed")
    assert "i-1: protected" in lines[1]
    assert lines[2] == "12:00:00  i-2: failed  [0/2 completed · planned 1 · protected 1 · failed 1]"


# -- Jupyter ---------------------------------------------------------------------------------


def test_in_jupyter_one_output_is_updated_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[Any] = []
    updates: list[Any] = []

    class Handle:
        def update(self, obj: Any) -> None:
            updates.append(obj)

    def display(obj: Any, display_id: bool = False) -> Handle:
        assert display_id is True
        shown.append(obj)
        return Handle()

    fake = types.ModuleType("IPython.display")
    fake.HTML = lambda s: ("html", s)  # type: ignore[attr-defined]
    fake.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    pkg = types.ModuleType("IPython")
    pkg.display = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", pkg)
    bar = ProgressBar(2, notebook=True, confirm_cutover=False)
    bar(stage("i-1", "replicating"))
    bar(percent("i-1", 40, 5))
    bar(event(EventKind.WARNING, "i-2", "replication health: <odd>"))
    bar(stage("i-2", "test-cleaned-up"))
    bar.close()
    assert len(shown) == 1
    assert len(updates) == 3
    last = updates[-1][1]
    assert "0/2 ready for cutover" in last
    assert "initial replication 40% (1 machine)" in last
    assert "replication health: &lt;odd&gt;" in last  # the latest warnings, escaped
    assert "text-align:left" in last
