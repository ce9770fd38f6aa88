"""What only the SQLite journal does: one file, WAL, a lock per process, typed errors for every
problem with the file, and the upgrade of schema-1 journals."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ec2asr import SqliteJournal
from ec2asr.errors import (
    JournalCorruptError,
    JournalLockedError,
    JournalSchemaError,
    JournalUnavailableError,
)
from ec2asr.migration._sqlite_schema import TABLES as _TABLES
from ec2asr.migration.stages import Stage


def test_constructor_does_no_io(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "m.sqlite"
    j = SqliteJournal(path)
    assert not path.exists()
    assert not path.parent.exists()
    assert repr(j) == f"SqliteJournal({str(path)!r}, closed)"


def test_open_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with SqliteJournal(path):
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()


def test_second_opener_in_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with SqliteJournal(path), pytest.raises(JournalLockedError, match=f"pid {os.getpid()}"):
        SqliteJournal(path).open()
    # Released on close: opening again works.
    with SqliteJournal(path) as again:
        assert again.is_open


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from ec2asr import SqliteJournal
    j = SqliteJournal(sys.argv[1]).open()
    j.update_machine("i-held", name="held")
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_other_process_is_refused_and_lock_dies_with_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(JournalLockedError, match=f"pid {proc.pid}") as caught:
            SqliteJournal(path).open()
        assert caught.value.location == str(path)
        assert "PostgreSQL journal" in str(caught.value)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            j = SqliteJournal(path).open()
            break
        except JournalLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        rec = j.machine("i-held")
        assert rec is not None
        assert rec.name == "held"
    finally:
        j.close()


def test_not_a_database_and_the_lock_is_released(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalCorruptError, match="not a usable journal") as caught:
        SqliteJournal(path).open()
    assert "restore it from its backup" in str(caught.value)
    path.unlink()
    with SqliteJournal(path):
        pass


def _filled(path: Path, machines: int = 300) -> None:
    with SqliteJournal(path) as j:
        for n in range(machines):
            j.update_machine(f"i-{n:05d}", name=f"web-{n}", data={"pad": "x" * 200})
            j.begin_step(f"i-{n:05d}", "enable-replication", detail={"n": n})
    # Closing the last connection checkpoints the WAL into the file.
    assert not Path(str(path) + "-wal").exists()


def test_truncated_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    _filled(path)
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 2)
    for read_only in (False, True):
        with pytest.raises(JournalCorruptError, match="damaged") as caught:
            SqliteJournal(path, read_only=read_only).open()
        assert caught.value.location == str(path)
        assert "Nothing was changed" in str(caught.value)
    assert path.stat().st_size == size // 2


def test_garbled_pages_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    _filled(path)
    before = path.read_bytes()
    with path.open("r+b") as fh:
        for page in (2, 5, 9):
            fh.seek(page * 4096)
            fh.write(b"\xa5" * 512)
    with pytest.raises(JournalCorruptError, match="damaged"):
        SqliteJournal(path).open()
    assert path.read_bytes() != before  # it was not "repaired" by ec2asr either


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    path.touch()
    with pytest.raises(JournalCorruptError, match="empty") as caught:
        SqliteJournal(path).open()
    assert "delete the file" in str(caught.value)
    assert path.stat().st_size == 0


def test_parent_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("a file, not a directory")
    path = tmp_path / "plain" / "sub" / "m.sqlite"
    with pytest.raises(JournalUnavailableError, match="is a file, not a directory") as caught:
        SqliteJournal(path).open()
    assert not isinstance(caught.value.__cause__, type(None))
    assert isinstance(caught.value.__cause__, OSError)


def test_path_that_is_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    path.mkdir()
    with pytest.raises(JournalUnavailableError, match="is a directory"):
        SqliteJournal(path).open()
    # The lock taken before opening was released.
    path.rmdir()
    with SqliteJournal(path):
        pass


_NO_PERMISSION = textwrap.dedent(
    """
    import os, sys
    from ec2asr import SqliteJournal
    from ec2asr.errors import JournalUnavailableError
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)  # nobody: root would be allowed everything
    try:
        SqliteJournal(sys.argv[1]).open()
    except JournalUnavailableError as exc:
        print("typed:", exc)
    """
)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory anyone may traverse (pytest's own are private to their owner)."""
    base = Path(tempfile.mkdtemp(prefix="ec2asr-perm-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_directory_without_permission(open_dir: Path) -> None:
    locked = open_dir / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    path = locked / "m.sqlite"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", _NO_PERMISSION, str(path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(root)),
        cwd="/",
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("typed:"), out.stdout
    assert "no permission" in out.stdout
    assert "choose another journal path" in out.stdout
    assert list(locked.iterdir()) == []


def _schema_1(path: Path) -> None:
    """A journal as ec2asr wrote it before schema 2 (its exact DDL, schema row '1')."""
    conn = sqlite3.connect(path)
    conn.executescript(_TABLES)
    conn.execute("INSERT INTO meta (key, value) VALUES ('schema', '1')")
    conn.execute(
        "INSERT INTO machines (instance_id, name, stage, status, data, created_at, updated_at) "
        "VALUES ('i-old', 'old', 'replicating', 'in-progress', '{\"k\": 1}', "
        "'2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00')"
    )
    conn.commit()
    conn.close()


def test_schema_1_is_read_as_is_and_upgraded_on_write(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    _schema_1(path)
    with SqliteJournal(path, read_only=True) as reader:
        (record,) = reader.machines()
        assert record.stage is Stage.REPLICATING
        assert reader.get_meta("schema") == "1"
    with SqliteJournal(path) as j:
        assert j.get_meta("schema") == "2"
        record = j.machine("i-old")
        assert record is not None
        assert dict(record.data) == {"k": 1}
        assert record.stage is Stage.REPLICATING
    conn = sqlite3.connect(path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert "events_by_instance" in indexes


def test_a_database_that_is_not_a_journal_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(JournalSchemaError, match="not an ec2asr journal"):
        SqliteJournal(path).open()
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert tables == {"invoices"}
    assert path.read_bytes() == before


def test_a_missing_table_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with SqliteJournal(path) as j:
        j.update_machine("i-1")
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE steps")
    conn.commit()
    conn.close()
    with pytest.raises(JournalCorruptError, match="steps are missing"):
        SqliteJournal(path).open()
