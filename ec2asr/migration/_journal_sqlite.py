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
    JournalUnavailableError,
    MigrationError,
)
from ec2asr.migration._filelock import FileLock
from ec2asr.migration._journal_sql import Tx
from ec2asr.migration._sqlite_schema import (
    CORRUPT_HINTS,
    READABLE,
    check,
    corrupt_message,
    inspect,
    prepare,
    schema_error,
    version_of,
)
from ec2asr.migration.journal import Journal
from ec2asr.migration.records import utcnow

__all__ = ["SqliteJournal"]


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
            check(conn, self.location)
            version = inspect(conn, self.location)  # refuses before anything is changed
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            prepare(conn, version)
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

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
            check(conn, self.location)
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            version = version_of(conn, tables, self.location)
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc) from exc
        except BaseException:
            conn.close()
            raise
        if version not in READABLE:
            conn.close()
            raise schema_error(version, "reads", self.location)
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

    def _translate(self, exc: sqlite3.Error) -> JournalError:
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and not any(
            hint in text.lower() for hint in CORRUPT_HINTS
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
        return JournalCorruptError(corrupt_message(self.location, text), location=self.location)

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
