"""A read-only journal reads while another process drives the migration and writes nothing
(both backends)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ec2asr import SqliteJournal
from ec2asr.errors import JournalCorruptError, JournalUnavailableError, MigrationError
from ec2asr.migration.stages import Stage
from tests._journals import MakeJournal, admin


def test_reads_while_the_writer_works(make_journal: MakeJournal) -> None:
    with make_journal() as writer:
        writer.update_machine("i-1", name="web-01", stage=Stage.REPLICATING)
        with make_journal(read_only=True) as reader:
            (record,) = reader.machines()
            assert record.stage is Stage.REPLICATING
            writer.update_machine("i-1", stage=Stage.PROTECTED)
            # The reader sees what the writer committed since.
            record = reader.machine("i-1")
            assert record is not None
            assert record.stage is Stage.PROTECTED
            assert "read-only" in repr(reader)
            assert reader.read_only


def test_refuses_every_write(make_journal: MakeJournal) -> None:
    with make_journal() as writer:
        writer.update_machine("i-1")
        step = writer.begin_step("i-1", "x")
    with make_journal(read_only=True) as reader:
        with pytest.raises(MigrationError, match="read-only"):
            reader.update_machine("i-1", stage=Stage.COMPLETED)
        with pytest.raises(MigrationError, match="read-only"):
            reader.set_meta("k", "v")
        with pytest.raises(MigrationError, match="read-only"):
            reader.end_step(step.id, succeeded=True)
        with pytest.raises(MigrationError, match="read-only"):
            reader.append_event(kind="info", message="m")
    with make_journal() as writer:
        record = writer.machine("i-1")
        assert record is not None
        assert record.stage is Stage.PLANNED
        assert writer.open_steps("i-1") != []
        assert writer.events() == []


def test_missing_journal_is_an_error_and_nothing_is_created(make_journal: MakeJournal) -> None:
    reader = make_journal(read_only=True)
    with pytest.raises(JournalUnavailableError, match="no migration journal"):
        reader.open()
    assert not reader.exists()
    if reader.path is not None:
        assert list(reader.path.parent.iterdir()) == []
    else:
        with admin() as conn:
            found = conn.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                (getattr(reader, "schema", ""),),
            ).fetchall()
        assert found == []


def test_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalCorruptError, match="not a usable journal"):
        SqliteJournal(path, read_only=True).open()
