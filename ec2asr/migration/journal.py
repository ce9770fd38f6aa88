"""The migration journal: a write-ahead record of every per-machine step.

Every step is recorded *before* it runs (``begin_step``), again when Azure or AWS accepted it
(``step_accepted``: the ASR job name, the polling URL and the LRO continuation token) and when it
ended (``end_step``). After a crash, a new process opens the same journal, sees which steps were
begun but not ended, reconciles them with AWS and Azure, and resumes. Temporary security-group
rules are recorded as *leases* so they are revoked even after a crash.

:class:`Journal` is the type every part of ec2asr works with; two implementations share its code
(the same SQL, so the same records and the same semantics):

- :class:`~ec2asr.SqliteJournal` (the default): one SQLite file in WAL mode, driven by one
  process at a time (a ``<journal>.lock`` file lock; the second gets
  :class:`~ec2asr.errors.JournalLockedError`);
- :class:`~ec2asr.PostgresJournal`: a PostgreSQL database shared by a *team*: several worker
  processes, on one host or many, run the same migration; each machine is *claimed* by one
  worker at a time with a lease that expires on the database server's clock (see
  ``docs/team.md``).

``Journal(location)`` picks the implementation, as :class:`pathlib.Path` picks a flavour: a
``postgresql://`` (or ``postgres://``) URL opens a :class:`~ec2asr.PostgresJournal`, anything
else is the path of a SQLite file.

Secrets never reach the journal: any :class:`~ec2asr._secret.Secret` in the data is refused.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from ec2asr.errors import InvalidInputError, MigrationError
from ec2asr.migration._journal_leases import LeasesAndEvents
from ec2asr.migration._journal_sql import Tx, json_object, machine_from_row
from ec2asr.migration._journal_steps import Steps
from ec2asr.migration._journal_team import Team
from ec2asr.migration.records import (
    LeaseRecord,
    MachineRecord,
    StepRecord,
    StepState,
    dumps,
    utcnow,
)
from ec2asr.migration.stages import MachineStatus, Stage

__all__ = ["Journal", "LeaseRecord", "MachineRecord", "StepRecord", "StepState"]

SCHEMA_VERSION = "2"
"""The journal schema this ec2asr reads and writes (1: ec2asr before team mode, upgraded)."""


def is_database_url(location: object) -> bool:
    """True when ``location`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and location.lower().startswith(
        ("postgresql://", "postgres://")
    )


class Journal(Team, Steps, LeasesAndEvents):
    """The migration journal (SQLite by default; PostgreSQL for a team of workers).

    ``Journal(location)`` returns a :class:`~ec2asr.SqliteJournal` for a file path and a
    :class:`~ec2asr.PostgresJournal` for a ``postgresql://`` URL. Constructors do no I/O;
    :meth:`open` (or ``with journal:``) connects, takes the lock (SQLite) and prepares the
    schema. The :class:`~ec2asr.Migration` facade opens it for you.

    Args:
        location: A file path (SQLite) or a ``postgresql://`` URL.
        clock: Returns the current time (UTC) recorded with each row; injectable for tests.
        read_only: Only read an existing journal: no lock is taken, nothing is created, and
            every write is refused.

    Raises:
        InvalidInputError: When ``location`` is empty or not a path or URL.
    """

    _ROW_ORDER = "rowid"
    _LOCK_ROW = ""
    _TOUCH = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Journal:
        if cls is Journal:
            from ec2asr.migration._journal_pg import PostgresJournal
            from ec2asr.migration._journal_sqlite import SqliteJournal

            location = args[0] if args else kwargs.get("path", kwargs.get("dsn"))
            cls = PostgresJournal if is_database_url(location) else SqliteJournal
        return super().__new__(cls)

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        clock: Callable[[], datetime] = utcnow,
        read_only: bool = False,
    ) -> None:
        if not isinstance(location, (str, os.PathLike)) or not str(location):
            raise InvalidInputError(
                f"the journal must be a file path or a postgresql:// URL, not {location!r}"
            )
        if not callable(clock):
            raise InvalidInputError("clock must be a callable returning the time")
        if read_only is not True and read_only is not False:
            raise InvalidInputError(f"read_only must be True or False, not {read_only!r}")
        self._clock = clock
        self._read_only = read_only
        self._mutex = threading.RLock()

    # -- what each backend provides --------------------------------------------------------

    @property
    def location(self) -> str:
        """The journal's file, or its database URL without the password (safe to print)."""
        raise NotImplementedError  # pragma: no cover - every backend defines it

    @property
    def path(self) -> Path | None:
        """The SQLite file (None for a database journal)."""
        return None

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        raise NotImplementedError  # pragma: no cover - every backend defines it

    def open(self) -> Journal:
        """Connect, take the lock (SQLite) and create or upgrade the schema.

        Returns:
            The journal itself, so ``journal = Journal(p).open()`` works.

        Raises:
            JournalLockedError: Another process holds this (SQLite) journal.
            JournalUnavailableError: The file or database cannot be opened.
            JournalCorruptError: The journal is damaged.
            JournalSchemaError: It was written by another ec2asr schema version.
        """
        raise NotImplementedError  # pragma: no cover - every backend defines it

    def close(self) -> None:
        """Disconnect and release the lock (idempotent)."""
        raise NotImplementedError  # pragma: no cover - every backend defines it

    def exists(self) -> bool:
        """True when there is a journal at this location (reads only; creates nothing).

        Raises:
            JournalUnavailableError: The database cannot be reached.
        """
        raise NotImplementedError  # pragma: no cover - every backend defines it

    def reader(self) -> Journal:
        """A read-only journal at the same location (not opened yet)."""
        raise NotImplementedError  # pragma: no cover - every backend defines it

    def _tx(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError  # pragma: no cover - every backend defines it

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError  # pragma: no cover - every backend defines it

    def _insert_id(self, tx: Tx, sql: str, params: tuple[Any, ...]) -> int:
        raise NotImplementedError  # pragma: no cover - every backend defines it

    def _time(self, value: datetime) -> Any:
        """A time as this database stores it."""
        return value.isoformat()

    def _now(self) -> Any:
        return self._time(self._clock())

    def _fence(self, tx: Tx, subject: str) -> None:
        """Refuse a write about ``subject`` this process may not make (claims; see Postgres)."""

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        if self._read_only:
            state += ", read-only"
        return f"{type(self).__name__}({self.location!r}, {state})"

    @property
    def read_only(self) -> bool:
        """True when this journal only reads (no lock, no writes)."""
        return self._read_only

    def _refuse_read_only(self) -> None:
        if self._read_only:
            raise MigrationError(f"the journal {self.location} was opened read-only")

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
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    # -- machines ---------------------------------------------------------------------------

    def machine(self, instance_id: str) -> MachineRecord | None:
        """Return one machine's record, or None when the journal has never seen it."""
        rows = self._query("SELECT * FROM machines WHERE instance_id=?", (instance_id,))
        return machine_from_row(rows[0], self.location) if rows else None

    def machines(self) -> list[MachineRecord]:
        """Return every machine's record, in the order they were first recorded."""
        rows = self._query(f"SELECT * FROM machines ORDER BY created_at, {self._ROW_ORDER}")
        return [machine_from_row(r, self.location) for r in rows]

    def _machines_in_batches(self, batch: int = 500) -> Iterator[MachineRecord]:
        """Every machine's record in the order of :meth:`machines`, read ``batch`` rows at a
        time: a report of 10,000 machines never holds every row and record at once."""
        order = self._query(
            f"SELECT instance_id FROM machines ORDER BY created_at, {self._ROW_ORDER}"
        )
        ids = [row["instance_id"] for row in order]
        del order
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            marks = ", ".join("?" * len(chunk))
            rows = self._query(
                f"SELECT * FROM machines WHERE instance_id IN ({marks})", tuple(chunk)
            )
            by_id = {row["instance_id"]: row for row in rows}
            for instance_id in chunk:
                row = by_id.get(instance_id)
                if row is not None:  # never deleted today; a vanished row is simply not shown
                    yield machine_from_row(row, self.location)

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
            MachineClaimedError: Another live worker holds the machine (PostgreSQL).
        """
        fresh = dumps(dict(data or {}))  # refuses a secret before anything is written
        now = self._now()
        with self._tx() as tx:
            self._fence(tx, instance_id)
            select = f"SELECT * FROM machines WHERE instance_id=?{self._LOCK_ROW}"
            row = tx.execute(select, (instance_id,)).fetchone()
            if row is None:
                cur = tx.execute(
                    "INSERT INTO machines (instance_id, name, stage, status, data, error_type, "
                    "error_message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(instance_id) DO NOTHING",
                    (
                        instance_id,
                        name,
                        (stage or Stage.PLANNED).value,
                        (status or MachineStatus.PENDING).value,
                        fresh,
                        type(error).__name__ if error else None,
                        str(error) if error else None,
                        now,
                        now,
                    ),
                )
                if cur.rowcount != 1:  # another worker recorded it first: merge into theirs
                    row = tx.execute(select, (instance_id,)).fetchone()
            if row is not None:
                self._merge_machine(tx, row, name, stage, status, data, error, clear_error, now)
            out = tx.execute("SELECT * FROM machines WHERE instance_id=?", (instance_id,))
            return machine_from_row(out.fetchone(), self.location)

    def _merge_machine(
        self,
        tx: Tx,
        row: Any,
        name: str | None,
        stage: Stage | None,
        status: MachineStatus | None,
        data: Mapping[str, Any] | None,
        error: BaseException | None,
        clear_error: bool,
        now: Any,
    ) -> None:
        merged = json_object(row["data"], "machines", row["instance_id"], self.location)
        merged.update(data or {})
        error_type, error_message = row["error_type"], row["error_message"]
        if clear_error:
            error_type = error_message = None
        if error is not None:
            error_type, error_message = type(error).__name__, str(error)
        tx.execute(
            "UPDATE machines SET name=?, stage=?, status=?, data=?, error_type=?, "
            f"error_message=?, updated_at=?{self._TOUCH} WHERE instance_id=?",
            (
                name if name is not None else row["name"],
                stage.value if stage is not None else row["stage"],
                status.value if status is not None else row["status"],
                dumps(merged),
                error_type,
                error_message,
                now,
                row["instance_id"],
            ),
        )
