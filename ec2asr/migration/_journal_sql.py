"""What the journal's shared code needs from a database, and its rows read back as records.

Both backends run the same SQL (written with ``?`` placeholders; the PostgreSQL backend turns
them into ``%s``), so the records and their semantics are the same whichever stores them. A row
that cannot be read back (a garbled stage, a JSON value cut short) is a damaged journal:
:class:`~ec2asr.errors.JournalCorruptError`, never a bare ``ValueError`` in the middle of a run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar

from ec2asr.errors import JournalCorruptError
from ec2asr.migration.records import LeaseRecord, MachineRecord, StepRecord, parse_time
from ec2asr.migration.stages import MachineStatus, Stage

Row = Any
"""A result row: ``row["column"]`` (``sqlite3.Row`` or a psycopg ``dict_row``)."""

T = TypeVar("T")


class Cursor(Protocol):
    """The part of a DB-API cursor the journal uses."""

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""

    def fetchone(self) -> Row | None:
        """The next row, or None."""

    def fetchall(self) -> list[Row]:
        """Every remaining row."""


class Tx(Protocol):
    """An open transaction: ``execute`` runs one statement with ``?`` placeholders."""

    def execute(self, sql: str, params: tuple[Any, ...] = ..., /) -> Cursor:
        """Run one statement."""


def _read(table: str, key: object, location: str, build: Callable[[], T]) -> T:
    try:
        return build()
    except (KeyError, TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise JournalCorruptError(
            f"the journal {location} is damaged: its {table} row {key!r} cannot be read "
            f"({type(exc).__name__}: {exc}). Nothing was changed. Restore the journal from its "
            "backup; do not start a new journal for machines that are already migrating (the "
            "journal is what prevents a second failover).",
            location=location,
        ) from exc


def _interned_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {sys.intern(key): value for key, value in pairs}


_DECODER = json.JSONDecoder(object_pairs_hook=_interned_keys)
"""Decodes the journal's JSON with every object key interned: the records of a large wave
(every machine's, held while the run drives it) share one copy of each key instead of a copy
per record (about a third of a decoded record)."""


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        raise TypeError(f"expected JSON text, found {type(value).__name__}")
    return _DECODER.decode(value)


def _object(value: Any) -> dict[str, Any]:
    out = _json(value)
    if not isinstance(out, dict):
        raise TypeError(f"expected a JSON object, found {type(out).__name__}")
    return out


def _list(value: Any) -> list[Any]:
    out = _json(value)
    if not isinstance(out, list):
        raise TypeError(f"expected a JSON list, found {type(out).__name__}")
    return out


def _time(value: Any) -> datetime | None:
    if value is not None and not isinstance(value, (str, datetime)):
        raise TypeError(f"expected a time, found {type(value).__name__}")
    return parse_time(value)


def machine_from_row(row: Row, location: str) -> MachineRecord:
    """Build a :class:`MachineRecord`.

    Raises:
        JournalCorruptError: The row cannot be read.
    """
    return _read(
        "machines",
        row["instance_id"],
        location,
        lambda: MachineRecord(
            instance_id=row["instance_id"],
            name=row["name"],
            stage=Stage(row["stage"]),
            status=MachineStatus(row["status"]),
            data=_object(row["data"]),
            error_type=row["error_type"],
            error_message=row["error_message"],
            created_at=_time(row["created_at"]),
            updated_at=_time(row["updated_at"]),
        ),
    )


def step_from_row(row: Row, location: str) -> StepRecord:
    """Build a :class:`StepRecord`.

    Raises:
        JournalCorruptError: The row cannot be read.
    """
    return _read(
        "steps",
        row["id"],
        location,
        lambda: StepRecord(
            id=int(row["id"]),
            subject=row["subject"],
            step=row["step"],
            state=row["state"],
            job_name=row["job_name"],
            polling_url=row["polling_url"],
            continuation_token=row["continuation_token"],
            detail=_object(row["detail"]),
            error=row["error"],
            started_at=_time(row["started_at"]),
            updated_at=_time(row["updated_at"]),
            ended_at=_time(row["ended_at"]),
        ),
    )


def lease_from_row(row: Row, location: str) -> LeaseRecord:
    """Build a :class:`LeaseRecord`.

    Raises:
        JournalCorruptError: The row cannot be read.
    """
    return _read(
        "leases",
        row["lease_id"],
        location,
        lambda: LeaseRecord(
            lease_id=row["lease_id"],
            resource_id=row["resource_id"],
            spec=_object(row["spec"]),
            holders=tuple(_list(row["holders"])),
            state=row["state"],
            created_at=_time(row["created_at"]),
            updated_at=_time(row["updated_at"]),
        ),
    )


def event_from_row(row: Row, location: str) -> dict[str, Any]:
    """Build one event dictionary (``at`` as ISO text, as recorded).

    Raises:
        JournalCorruptError: The row cannot be read.
    """

    def build() -> dict[str, Any]:
        at = row["at"]
        return {
            "at": at.isoformat() if isinstance(at, datetime) else str(at),
            "kind": row["kind"],
            "instance_id": row["instance_id"],
            "stage": row["stage"],
            "message": row["message"],
            "data": _object(row["data"]),
        }

    return _read("events", row["id"], location, build)


def json_list(value: Any, table: str, key: object, location: str) -> list[Any]:
    """A JSON list column (lease holders) read inside a write.

    Raises:
        JournalCorruptError: It is not a JSON list.
    """

    return _read(table, key, location, lambda: _list(value))


def json_object(value: Any, table: str, key: object, location: str) -> dict[str, Any]:
    """A JSON object column (machine data, step detail) read inside a write.

    Raises:
        JournalCorruptError: It is not a JSON object.
    """

    return _read(table, key, location, lambda: _object(value))


class Host(Protocol):
    """What the journal's mixins (steps, leases, events) need from the journal."""

    _clock: Callable[[], datetime]
    _LOCK_ROW: str

    @property
    def location(self) -> str:
        """Where the journal is (safe to print)."""

    def _tx(self) -> AbstractContextManager[Tx]: ...

    def _query(self, sql: str, params: tuple[Any, ...] = ...) -> list[Row]: ...

    def _insert_id(self, tx: Tx, sql: str, params: tuple[Any, ...]) -> int: ...

    def _now(self) -> Any: ...

    def _time(self, value: datetime) -> Any: ...

    def _fence(self, tx: Tx, subject: str) -> None: ...
