from __future__ import annotations

import io
import logging
import sys
import types
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ec2asr.events import EventDispatcher, EventKind, MigrationEvent
from ec2asr.migration.journal import Journal
from ec2asr.migration.progress import ProgressBar


def test_dispatch_reaches_callbacks_logger_and_journal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[MigrationEvent] = []
    at = datetime(2026, 11, 26, tzinfo=timezone.utc)
    with Journal(tmp_path / "j.sqlite") as journal:
        bus = EventDispatcher([seen.append], sink=journal, clock=lambda: at)
        with caplog.at_level(logging.DEBUG, logger="ec2asr"):
            bus.emit(EventKind.STAGE_REACHED, "replicating", instance_id="i-1", stage="replicating")
            bus.emit(EventKind.PROGRESS, "42%", instance_id="i-1", data={"percent": 42})
        assert [e.kind for e in seen] == [EventKind.STAGE_REACHED, EventKind.PROGRESS]
        assert seen[0].at == at
        assert str(seen[0]) == "i-1: replicating"
        # Progress ticks are not written to the journal; stage changes are.
        assert [e["message"] for e in journal.events()] == ["replicating"]
    assert "i-1: replicating" in caplog.text
    assert any(r.levelno == logging.DEBUG and "42%" in r.message for r in caplog.records)


def test_a_raising_callback_does_not_stop_others(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[MigrationEvent] = []

    def bad(event: MigrationEvent) -> None:
        raise RuntimeError("display broke")

    bus = EventDispatcher([bad, seen.append])
    with caplog.at_level(logging.ERROR, logger="ec2asr"):
        bus.emit(EventKind.FAILED, "boom", instance_id="i-9")
    assert len(seen) == 1
    assert "callback raised" in caplog.text


def test_event_data_is_read_only() -> None:
    event = MigrationEvent(kind=EventKind.INFO, message="m", data={"a": 1})
    with pytest.raises(TypeError):
        event.data["a"] = 2  # type: ignore[index]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _stage(iid: str, stage: str) -> MigrationEvent:
    return MigrationEvent(kind=EventKind.STAGE_REACHED, message=stage, instance_id=iid, stage=stage)


def test_progress_line_counts_stages_and_percentages() -> None:
    bar = ProgressBar(3, stream=io.StringIO(), notebook=False)
    bar(_stage("i-1", "replicating"))
    bar(_stage("i-2", "replicating"))
    bar(
        MigrationEvent(kind=EventKind.PROGRESS, message="", instance_id="i-1", data={"percent": 50})
    )
    bar(
        MigrationEvent(
            kind=EventKind.PROGRESS, message="", instance_id="i-2", data={"percent": 100}
        )
    )
    assert "0/3 completed" in bar.line()
    assert "replicating 2 (avg 75%)" in bar.line()
    bar(_stage("i-1", "completed"))
    bar(MigrationEvent(kind=EventKind.FAILED, message="x", instance_id="i-3"))
    line = bar.line()
    assert "1/3 completed" in line
    assert "failed 1" in line
    assert line.startswith("[" + "#" * 8 + "-" * 16 + "]")


def test_progress_in_a_terminal_rewrites_one_line() -> None:
    tty = _Tty()
    bar = ProgressBar(1, stream=tty, notebook=False)
    bar(_stage("i-1", "replicating"))
    bar(_stage("i-1", "completed"))
    bar.close()
    out = tty.getvalue()
    assert out.count("\r") == 2
    assert out.endswith("\n")
    assert "1/1 completed" in out


def test_progress_without_a_terminal_prints_stage_changes_only() -> None:
    stream = io.StringIO()
    bar = ProgressBar(1, stream=stream, notebook=False)
    bar(_stage("i-1", "replicating"))
    bar(
        MigrationEvent(kind=EventKind.PROGRESS, message="", instance_id="i-1", data={"percent": 10})
    )
    bar(_stage("i-1", "protected"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "\r" not in stream.getvalue()


def test_progress_in_jupyter_updates_one_display(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[Any] = []
    updates: list[Any] = []

    class Handle:
        def update(self, obj: Any) -> None:
            updates.append(obj)

    def display(obj: Any, display_id: bool = False) -> Handle:
        shown.append(obj)
        return Handle()

    fake = types.ModuleType("IPython.display")
    fake.HTML = lambda s: ("html", s)  # type: ignore[attr-defined]
    fake.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    pkg = types.ModuleType("IPython")
    pkg.display = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", pkg)
    bar = ProgressBar(2, notebook=True)
    bar(_stage("i-1", "replicating"))
    bar(_stage("i-2", "completed"))
    assert len(shown) == 1
    assert len(updates) == 1
    assert shown[0][1].startswith("<pre>[")
    assert "1/2 completed" in updates[0][1]
