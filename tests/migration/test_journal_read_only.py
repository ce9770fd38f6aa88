"""A read-only journal: reads while another process drives the migration, writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ec2asr.errors import MigrationError
from ec2asr.migration.journal import Journal
from ec2asr.migration.stages import Stage


def test_reads_while_the_writer_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with Journal(path) as writer:
        writer.update_machine("i-1", name="web-01", stage=Stage.REPLICATING)
        with Journal(path, read_only=True) as reader:
            (record,) = reader.machines()
            assert record.stage is Stage.REPLICATING
            writer.update_machine("i-1", stage=Stage.PROTECTED)
            # The reader sees what the writer committed since.
            record = reader.machine("i-1")
            assert record is not None
            assert record.stage is Stage.PROTECTED
            assert "read-only" in repr(reader)
            assert reader.read_only


def test_refuses_every_write(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with Journal(path) as writer:
        writer.update_machine("i-1")
    with Journal(path, read_only=True) as reader:
        with pytest.raises(MigrationError, match="read-only"):
            reader.update_machine("i-1", stage=Stage.COMPLETED)
        with pytest.raises(MigrationError, match="read-only"):
            reader.set_meta("k", "v")
    with Journal(path) as writer:
        record = writer.machine("i-1")
        assert record is not None
        assert record.stage is Stage.PLANNED


def test_missing_journal_is_an_error_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.sqlite"
    with pytest.raises(MigrationError, match="no migration journal"):
        Journal(path, read_only=True).open()
    assert list(tmp_path.iterdir()) == []


def test_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(MigrationError, match="not a usable journal"):
        Journal(path, read_only=True).open()


def test_schema_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with Journal(path) as j:
        j.set_meta("schema", "999")
    with pytest.raises(MigrationError, match="schema 999"):
        Journal(path, read_only=True).open()
