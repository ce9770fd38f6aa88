"""The migration journal: a write-ahead record of every per-machine step, in one SQLite file.

Every step is recorded *before* it runs (``begin_step``), again when Azure or AWS accepted it
(``step_accepted``: the ASR job name, the polling URL and the LRO continuation token) and when it
ended (``end_step``). After a crash, a new process opens the same file, sees which steps were
begun but not ended, reconciles them with AWS and Azure, and resumes. Temporary security-group
rules are recorded as *leases* so they are revoked even after a crash.

The journal is SQLite in WAL mode (one file plus SQLite's ``-wal``/``-shm`` companions), with
``synchronous=NORMAL``: a committed write survives a crash of the process (SIGKILL included);
only an operating-system crash may lose the last transactions, which reconciliation recovers.

A lock file (``<journal>.lock``, an OS advisory lock released by the kernel when the process
dies) stops two processes from driving one journal; the second gets :class:`JournalLockedError`.
A read-only journal (``Journal(path, read_only=True)``) takes no lock and writes nothing: it
reads the latest committed state while another process drives the migration.

Secrets never reach the journal: any :class:`~ec2asr._secret.Secret` in the data is refused.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from ec2asr.errors import InvalidInputError, MigrationError
from ec2asr.migration._filelock import FileLock
from ec2asr.migration._journal_leases import LeasesAndEvents
from ec2asr.migration.records import (
    LeaseRecord,
    MachineRecord,
    StepRecord,
    StepState,
    dumps,
    parse_time,
    utcnow,
)
from ec2asr.migration.stages import MachineStatus, Stage

__all__ = ["Journal", "LeaseRecord", "MachineRecord", "StepRecord", "StepState"]

SCHEMA_VERSION = "1"

_SCHEMA = """
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


class Journal(LeasesAndEvents):
    """The SQLite migration journal.

    The constructor does no I/O; :meth:`open` (or ``with journal:``) creates the file, takes the
    lock and prepares the schema. The :class:`~ec2asr.Migration` facade opens it for you.

    Args:
        path: The journal file (created if missing), e.g. ``"migration.sqlite"``.
        clock: Returns the current time (UTC); injectable for tests.
        read_only: Only read an existing journal: no lock is taken (another process may be
            driving the migration), nothing is created, and every write is refused.

    Raises:
        InvalidInputError: When ``path`` is empty.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], datetime] = utcnow,
        read_only: bool = False,
    ):
        if not str(path):
            raise InvalidInputError("the journal path must not be empty")
        self._path = Path(path)
        self._clock = clock
        self._read_only = read_only
        self._conn: sqlite3.Connection | None = None
        self._lock = FileLock(Path(str(self._path) + ".lock"))
        self._mutex = threading.RLock()

    def __repr__(self) -> str:
        state = "open" if self._conn is not None else "closed"
        if self._read_only:
            state += ", read-only"
        return f"Journal({str(self._path)!r}, {state})"

    @property
    def read_only(self) -> bool:
        """True when this journal only reads (no lock, no writes)."""
        return self._read_only

    @property
    def path(self) -> Path:
        """The journal file."""
        return self._path

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._conn is not None

    def open(self) -> Journal:
        """Take the lock, open (or create) the file and prepare the schema.

        Returns:
            The journal itself, so ``journal = Journal(p).open()`` works.

        Raises:
            JournalLockedError: Another process holds this journal.
            MigrationError: The file is not an ec2asr journal or is from a newer version, or
                (read-only) it does not exist.
        """
        with self._mutex:
            if self._conn is not None:
                return self
            if self._read_only:
                self._conn = self._open_read_only()
                return self
            self._lock.acquire()
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    str(self._path), check_same_thread=False, isolation_level=None, timeout=30
                )
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
                row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
                    )
                elif row["value"] != SCHEMA_VERSION:
                    conn.close()
                    raise MigrationError(
                        f"{self._path} has journal schema {row['value']}, this ec2asr writes "
                        f"schema {SCHEMA_VERSION}"
                    )
            except sqlite3.DatabaseError as exc:
                self._lock.release()
                raise MigrationError(f"{self._path} is not a usable journal: {exc}") from exc
            except BaseException:
                self._lock.release()
                raise
            self._conn = conn
            return self

    def _open_read_only(self) -> sqlite3.Connection:
        if not self._path.is_file():
            raise MigrationError(f"there is no migration journal at {self._path}")
        conn = sqlite3.connect(
            f"{self._path.resolve().as_uri()}?mode=ro",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            timeout=30,
        )
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise MigrationError(f"{self._path} is not a usable journal: {exc}") from exc
        if row is None or row["value"] != SCHEMA_VERSION:
            conn.close()
            found = "no" if row is None else row["value"]
            raise MigrationError(
                f"{self._path} has journal schema {found}, this ec2asr reads schema "
                f"{SCHEMA_VERSION}"
            )
        return conn

    def close(self) -> None:
        """Close the file and release the lock (idempotent)."""
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._lock.release()

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            if self._conn is None:
                raise MigrationError("the journal is not open; call open() first")
            if self._read_only:
                raise MigrationError(f"the journal {self._path} was opened read-only")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._mutex:
            if self._conn is None:
                raise MigrationError("the journal is not open; call open() first")
            return list(self._conn.execute(sql, params).fetchall())

    def _now(self) -> str:
        return self._clock().isoformat()

    # -- meta -------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """Return a journal-wide setting, or None."""
        rows = self._query("SELECT value FROM meta WHERE key=?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Record a journal-wide setting.

        Raises:
            InvalidInputError: When ``value`` is not a plain string (a secret, for one).
        """
        raw: object = value
        if not isinstance(raw, str):
            raise InvalidInputError("journal settings are plain strings, never secrets")
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    # -- machines ---------------------------------------------------------------------------

    @staticmethod
    def _machine(row: sqlite3.Row) -> MachineRecord:
        return MachineRecord(
            instance_id=row["instance_id"],
            name=row["name"],
            stage=Stage(row["stage"]),
            status=MachineStatus(row["status"]),
            data=json.loads(row["data"]),
            error_type=row["error_type"],
            error_message=row["error_message"],
            created_at=parse_time(row["created_at"]),
            updated_at=parse_time(row["updated_at"]),
        )

    def machine(self, instance_id: str) -> MachineRecord | None:
        """Return one machine's record, or None when the journal has never seen it."""
        rows = self._query("SELECT * FROM machines WHERE instance_id=?", (instance_id,))
        return self._machine(rows[0]) if rows else None

    def machines(self) -> list[MachineRecord]:
        """Return every machine's record, in the order they were first recorded."""
        return [
            self._machine(r)
            for r in self._query("SELECT * FROM machines ORDER BY created_at, rowid")
        ]

    def update_machine(
        self,
        instance_id: str,
        *,
        name: str | None = None,
        stage: Stage | None = None,
        status: MachineStatus | None = None,
        data: Mapping[str, Any] | None = None,
        error: BaseException | None = None,
        clear_error: bool = False,
    ) -> MachineRecord:
        """Create or update a machine's record; ``data`` is merged key by key.

        Args:
            instance_id: The machine.
            name: Its Name tag (kept when omitted).
            stage: The new stage (kept when omitted; ``PLANNED`` for a new record).
            status: The new status (kept when omitted; ``PENDING`` for a new record).
            data: Facts to merge into the record's data.
            error: A permanent failure to record (its class name and message).
            clear_error: Forget a previously recorded error.

        Returns:
            The record as stored.

        Raises:
            InvalidInputError: When ``data`` holds a secret.
        """
        now = self._now()
        with self._tx() as conn:
            row = conn.execute(
                "SELECT * FROM machines WHERE instance_id=?", (instance_id,)
            ).fetchone()
            if row is None:
                merged = dict(data or {})
                conn.execute(
                    "INSERT INTO machines (instance_id, name, stage, status, data, error_type, "
                    "error_message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        instance_id,
                        name,
                        (stage or Stage.PLANNED).value,
                        (status or MachineStatus.PENDING).value,
                        dumps(merged),
                        type(error).__name__ if error else None,
                        str(error) if error else None,
                        now,
                        now,
                    ),
                )
            else:
                merged = json.loads(row["data"])
                merged.update(data or {})
                error_type, error_message = row["error_type"], row["error_message"]
                if clear_error:
                    error_type = error_message = None
                if error is not None:
                    error_type, error_message = type(error).__name__, str(error)
                conn.execute(
                    "UPDATE machines SET name=?, stage=?, status=?, data=?, error_type=?, "
                    "error_message=?, updated_at=? WHERE instance_id=?",
                    (
                        name if name is not None else row["name"],
                        stage.value if stage is not None else row["stage"],
                        status.value if status is not None else row["status"],
                        dumps(merged),
                        error_type,
                        error_message,
                        now,
                        instance_id,
                    ),
                )
            out = conn.execute("SELECT * FROM machines WHERE instance_id=?", (instance_id,))
            return self._machine(out.fetchone())

    # -- steps ------------------------------------------------------------------------------

    @staticmethod
    def _step(row: sqlite3.Row) -> StepRecord:
        return StepRecord(
            id=row["id"],
            subject=row["subject"],
            step=row["step"],
            state=row["state"],
            job_name=row["job_name"],
            polling_url=row["polling_url"],
            continuation_token=row["continuation_token"],
            detail=json.loads(row["detail"]),
            error=row["error"],
            started_at=parse_time(row["started_at"]),
            updated_at=parse_time(row["updated_at"]),
            ended_at=parse_time(row["ended_at"]),
        )

    def begin_step(
        self, subject: str, step: str, *, detail: Mapping[str, Any] | None = None
    ) -> StepRecord:
        """Record that a step is about to run (write-ahead). Call it *before* the request.

        Raises:
            InvalidInputError: When ``detail`` holds a secret.
        """
        now = self._now()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO steps (subject, step, state, detail, started_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (subject, step, StepState.STARTED, dumps(dict(detail or {})), now, now),
            )
            row = conn.execute("SELECT * FROM steps WHERE id=?", (cur.lastrowid,)).fetchone()
            return self._step(row)

    def step_accepted(
        self,
        step_id: int,
        *,
        job_name: str | None = None,
        polling_url: str | None = None,
        continuation_token: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> StepRecord:
        """Record that AWS/Azure accepted the step, with what is needed to follow it.

        Raises:
            InvalidInputError: When ``detail`` holds a secret.
        """
        return self._update_step(
            step_id,
            state=StepState.ACCEPTED,
            job_name=job_name,
            polling_url=polling_url,
            continuation_token=continuation_token,
            detail=detail,
        )

    def end_step(
        self,
        step_id: int,
        *,
        succeeded: bool,
        error: str | None = None,
        abandoned: bool = False,
        detail: Mapping[str, Any] | None = None,
    ) -> StepRecord:
        """Record how a step ended.

        Args:
            step_id: The step.
            succeeded: Whether it succeeded.
            error: The error message when it failed.
            abandoned: Reconciliation found it was never sent (or superseded).
            detail: Extra facts to merge.

        Raises:
            InvalidInputError: When ``detail`` holds a secret.
        """
        state = (
            StepState.ABANDONED
            if abandoned
            else (StepState.SUCCEEDED if succeeded else StepState.FAILED)
        )
        return self._update_step(step_id, state=state, error=error, detail=detail, ended=True)

    def _update_step(
        self,
        step_id: int,
        *,
        state: str,
        job_name: str | None = None,
        polling_url: str | None = None,
        continuation_token: str | None = None,
        detail: Mapping[str, Any] | None = None,
        error: str | None = None,
        ended: bool = False,
    ) -> StepRecord:
        now = self._now()
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM steps WHERE id=?", (step_id,)).fetchone()
            if row is None:
                raise MigrationError(f"journal step {step_id} does not exist")
            merged = json.loads(row["detail"])
            merged.update(detail or {})
            conn.execute(
                "UPDATE steps SET state=?, job_name=?, polling_url=?, continuation_token=?, "
                "detail=?, error=?, updated_at=?, ended_at=? WHERE id=?",
                (
                    state,
                    job_name if job_name is not None else row["job_name"],
                    polling_url if polling_url is not None else row["polling_url"],
                    continuation_token
                    if continuation_token is not None
                    else row["continuation_token"],
                    dumps(merged),
                    error if error is not None else row["error"],
                    now,
                    now if ended else row["ended_at"],
                    step_id,
                ),
            )
            return self._step(conn.execute("SELECT * FROM steps WHERE id=?", (step_id,)).fetchone())

    def steps(self, subject: str | None = None, *, step: str | None = None) -> list[StepRecord]:
        """Return steps, oldest first, optionally for one subject and/or one step name."""
        sql, params = "SELECT * FROM steps WHERE 1=1", []
        if subject is not None:
            sql += " AND subject=?"
            params.append(subject)
        if step is not None:
            sql += " AND step=?"
            params.append(step)
        return [self._step(r) for r in self._query(sql + " ORDER BY id", tuple(params))]

    def open_steps(self, subject: str | None = None) -> list[StepRecord]:
        """Return steps begun but not ended (what a crash interrupted), oldest first."""
        return [s for s in self.steps(subject) if s.is_open]

    def last_step(self, subject: str, step: str) -> StepRecord | None:
        """Return the most recent record of one step for one subject, or None."""
        found = self.steps(subject, step=step)
        return found[-1] if found else None
