"""The SQLite journal: one file in WAL mode, driven by one process at a time.

WAL with ``synchronous=NORMAL``: a committed write survives a crash of the process (SIGKILL
included); only an operating-system crash may lose the last transactions, which reconciliation
recovers. A lock file (``<journal>.lock``, an OS advisory lock released by the kernel when the
process dies) stops two processes from driving one journal. A read-only journal takes no lock
and writes nothing: it reads the latest committed state while another process drives the
migration.

Every problem with the file is a :class:`~ec2asr.errors.JournalError` naming it and saying what
to do: a missing or unwritable directory (:class:`~ec2asr.errors.JournalUnavailableError`), a
truncated or garbled file (:class:`~ec2asr.errors.JournalCorruptError`, found by SQLite's
``quick_check`` when it is opened, before anything is written), another schema version
(:class:`~ec2asr.errors.JournalSchemaError`). Schema 1 (ec2asr before team mode) is upgraded in
place.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from ec2asr.errors import (
    JournalCorruptError,
    JournalError,
    JournalSchemaError,
    JournalUnavailableError,
    MigrationError,
)
from ec2asr.migration._filelock import FileLock
from ec2asr.migration._journal_sql import Tx
from ec2asr.migration.journal import SCHEMA_VERSION, Journal
from ec2asr.migration.records import utcnow

__all__ = ["SqliteJournal"]

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS machines (
    instance_id   TEXT PRIMARY KEY,
    name          TEXT,
    stage         TEXT NOT NULL,
    status        TEXT NOT NULL,
    data          TEXT NOT NULL DEFAULT '{}',
    error_type    TEXT,
    error_message TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    subject            TEXT NOT NULL,
    step               TEXT NOT NULL,
    state              TEXT NOT NULL,
    job_name           TEXT,
    polling_url        TEXT,
    continuation_token TEXT,
    detail             TEXT NOT NULL DEFAULT '{}',
    error              TEXT,
    started_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    ended_at           TEXT
);
CREATE INDEX IF NOT EXISTS steps_by_subject ON steps (subject, step, state);
CREATE TABLE IF NOT EXISTS leases (
    lease_id    TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL,
    spec        TEXT NOT NULL,
    holders     TEXT NOT NULL DEFAULT '[]',
    state       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    instance_id TEXT,
    stage       TEXT,
    message     TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}'
);
"""

_UPGRADES = {
    "1": "CREATE INDEX IF NOT EXISTS events_by_instance ON events (instance_id, id);",
}
"""Schema version -> the SQL that takes it to the next one (the last gives SCHEMA_VERSION)."""

_REQUIRED = frozenset({"meta", "machines", "steps", "leases", "events"})
_READABLE = frozenset({"1", SCHEMA_VERSION})
_CORRUPT_HINTS = ("malformed", "not a database", "corrupt", "no such table", "no such column")


def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run DDL statement by statement (``executescript`` would commit the transaction)."""
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def _rollback(conn: sqlite3.Connection) -> None:
    # Nothing to roll back (SQLite ended it), or the file is beyond reading.
    with contextlib.suppress(sqlite3.Error):
        conn.execute("ROLLBACK")


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: tuple[Any, ...] = (), /) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)


class SqliteJournal(Journal):
    """The migration journal in one SQLite file (the default).

    The constructor does no I/O; :meth:`open` (or ``with journal:``) creates the file, takes the
    lock and prepares the schema. One process drives a SQLite journal at a time; to share a
    migration between several processes or hosts use a :class:`~ec2asr.PostgresJournal`.

    Args:
        path: The journal file (created if missing), e.g. ``"migration.sqlite"``.
        clock: Returns the current time (UTC); injectable for tests.
        read_only: Only read an existing journal: no lock is taken (another process may be
            driving the migration), nothing is created, and every write is refused.

    Raises:
        InvalidInputError: When ``path`` is empty or not a path.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], datetime] = utcnow,
        read_only: bool = False,
    ) -> None:
        super().__init__(path, clock=clock, read_only=read_only)
        self._path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = FileLock(Path(str(self._path) + ".lock"))

    @property
    def location(self) -> str:
        """The journal file."""
        return str(self._path)

    @property
    def path(self) -> Path:
        """The journal file."""
        return self._path

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._conn is not None

    def exists(self) -> bool:
        """True when the journal file exists (False when it cannot even be looked at: opening
        it then says why)."""
        try:
            return self._path.is_file()
        except OSError:
            return False

    def reader(self) -> SqliteJournal:
        """A read-only journal on the same file (not opened yet)."""
        return SqliteJournal(self._path, clock=self._clock, read_only=True)

    def open(self) -> SqliteJournal:
        """Take the lock, open (or create) the file and prepare the schema.

        Returns:
            The journal itself, so ``journal = SqliteJournal(p).open()`` works.

        Raises:
            JournalLockedError: Another process holds this journal.
            JournalUnavailableError: The file cannot be created or opened (its directory is
                missing or a file, no permission), or (read-only) it does not exist.
            JournalCorruptError: The file is truncated, garbled or not a journal database.
            JournalSchemaError: It is not an ec2asr journal, or is from a newer ec2asr.
        """
        with self._mutex:
            if self._conn is not None:
                return self
            if self._read_only:
                try:
                    self._conn = self._open_read_only()
                except OSError as exc:
                    raise self._os_error(exc, "read") from exc
                return self
            try:
                self._lock.acquire()
            except OSError as exc:
                raise self._os_error(exc, "open") from exc
            try:
                self._conn = self._open_read_write()
            except OSError as exc:
                self._lock.release()
                raise self._os_error(exc, "open") from exc
            except BaseException:
                self._lock.release()
                raise
            return self

    def _refuse_empty(self) -> None:
        if self._path.is_file() and self._path.stat().st_size == 0:
            raise JournalCorruptError(
                f"{self._path} is not a usable journal: it is empty (0 bytes), so it was "
                "truncated (ec2asr never leaves a journal empty). Nothing was changed. Restore "
                "it from its backup; if no migration ever ran with it, delete the file and run "
                "again.",
                location=self.location,
            )

    def _open_read_write(self) -> sqlite3.Connection:
        self._refuse_empty()
        try:
            conn = sqlite3.connect(
                str(self._path), check_same_thread=False, isolation_level=None, timeout=30
            )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        try:
            conn.row_factory = sqlite3.Row
            self._check(conn)
            version = self._inspect(conn)  # refuses before anything is changed
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._prepare_schema(conn, version)
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _inspect(self, conn: sqlite3.Connection) -> str | None:
        """The journal's schema version (None for an empty database), refusing what this
        ec2asr cannot write."""
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return None
        version = self._version(conn, tables)
        if version != SCHEMA_VERSION and version not in _UPGRADES:
            raise self._schema_error(version, "writes")
        return version

    def _prepare_schema(self, conn: sqlite3.Connection, version: str | None) -> None:
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        if version is None:
            _script(conn, _TABLES + "".join(_UPGRADES.values()))
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        else:
            while version in _UPGRADES:
                _script(conn, _UPGRADES[version])
                version = str(int(version) + 1)
            conn.execute("UPDATE meta SET value=? WHERE key='schema'", (SCHEMA_VERSION,))
        conn.execute("COMMIT")

    def _version(self, conn: sqlite3.Connection, tables: set[str]) -> str:
        if "meta" not in tables:
            raise JournalSchemaError(
                f"{self._path} is a SQLite database but not an ec2asr journal (it has no meta "
                "table); give the migration its own journal file",
                location=self.location,
                expected=SCHEMA_VERSION,
            )
        row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            raise JournalCorruptError(
                f"{self._path} is not a usable journal: its schema version is missing from the "
                "meta table. Nothing was changed; restore the journal from its backup.",
                location=self.location,
            )
        missing = sorted(_REQUIRED - tables)
        if missing and str(row["value"]) in _READABLE:
            raise JournalCorruptError(
                f"{self._path} is not a usable journal: its table(s) {', '.join(missing)} are "
                "missing. Nothing was changed; restore the journal from its backup.",
                location=self.location,
            )
        return str(row["value"])

    def _schema_error(self, found: str, verb: str) -> JournalSchemaError:
        newer = found.isdigit() and int(found) > int(SCHEMA_VERSION)
        hint = (
            "it was written by a newer ec2asr: upgrade ec2asr on this host"
            if newer
            else "it was not written by a release of ec2asr this one can read"
        )
        return JournalSchemaError(
            f"{self._path} has journal schema {found}, this ec2asr {verb} schema "
            f"{SCHEMA_VERSION}: {hint}. Nothing was changed.",
            location=self.location,
            found=found,
            expected=SCHEMA_VERSION,
        )

    def _check(self, conn: sqlite3.Connection) -> None:
        """SQLite's quick integrity check: a truncated or garbled file is refused at once."""
        problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise JournalCorruptError(self._corrupt_message("; ".join(problems[:3])))

    def _open_read_only(self) -> sqlite3.Connection:
        if not self._path.is_file():
            raise JournalUnavailableError(
                f"there is no migration journal at {self._path}", location=self.location
            )
        self._refuse_empty()
        try:
            conn = sqlite3.connect(
                f"{self._path.resolve().as_uri()}?mode=ro",
                uri=True,
                check_same_thread=False,
                isolation_level=None,
                timeout=30,
            )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        conn.row_factory = sqlite3.Row
        try:
            self._check(conn)
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            version = self._version(conn, tables)
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc) from exc
        except BaseException:
            conn.close()
            raise
        if version not in _READABLE:
            conn.close()
            raise self._schema_error(version, "reads")
        return conn

    def close(self) -> None:
        """Close the file and release the lock (idempotent)."""
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._lock.release()

    @contextmanager
    def _tx(self) -> Iterator[Tx]:
        with self._mutex:
            if self._conn is None:
                raise MigrationError("the journal is not open; call open() first")
            self._refuse_read_only()
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
            try:
                yield _SqliteTx(conn)
            except sqlite3.Error as exc:
                _rollback(conn)
                raise self._translate(exc) from exc
            except BaseException:
                _rollback(conn)
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._mutex:
            if self._conn is None:
                raise MigrationError("the journal is not open; call open() first")
            try:
                return list(self._conn.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc

    def _insert_id(self, tx: Tx, sql: str, params: tuple[Any, ...]) -> int:
        cur = tx.execute(sql, params)
        return int(getattr(cur, "lastrowid", 0) or 0)

    # -- errors ---------------------------------------------------------------------------

    def _corrupt_message(self, reason: str) -> str:
        return (
            f"{self._path} is not a usable journal: SQLite reports it damaged ({reason}). "
            "Nothing was changed. Stop every process using it, then restore it from its backup "
            "(to see what SQLite can still read: sqlite3 FILE .recover). Do not start a new "
            "journal for machines that are already migrating: the journal is what prevents a "
            "second failover."
        )

    def _translate(self, exc: sqlite3.Error) -> JournalError:
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and not any(
            hint in text.lower() for hint in _CORRUPT_HINTS
        ):
            if self._path.is_dir():
                why = "it is a directory: give the journal a file path"
            elif "readonly" in text or "read-only" in text:
                why = (
                    f"it cannot be written ({text}): run as a user who may write to "
                    f"{self._path.parent}, or choose another journal path"
                )
            elif "locked" in text:
                why = f"another program holds a SQLite lock on it ({text})"
            else:
                why = (
                    f"SQLite cannot open it ({text}): check that {self._path.parent} exists "
                    "and that this user may write to it"
                )
            return JournalUnavailableError(
                f"the migration journal {self._path} cannot be used: {why}",
                location=self.location,
            )
        return JournalCorruptError(self._corrupt_message(text), location=self.location)

    def _os_error(self, exc: OSError, doing: str) -> JournalError:
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            why = (
                f"a part of its directory {self._path.parent} is a file, not a directory: "
                "choose another journal path"
            )
        elif isinstance(exc, PermissionError):
            why = (
                f"no permission ({exc.strerror}): run as a user who may write to "
                f"{self._path.parent}, or choose another journal path"
            )
        elif isinstance(exc, IsADirectoryError):
            why = f"{exc.filename} is a directory: give the journal a file path"
        else:
            why = f"{exc.strerror or exc}"
        return JournalUnavailableError(
            f"cannot {doing} the migration journal {self._path}: {why}", location=self.location
        )
