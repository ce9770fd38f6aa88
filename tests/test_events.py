from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ec2asr.events import EventDispatcher, EventKind, MigrationEvent
from ec2asr.migration.journal import Journal


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
