"""The journal's leases (temporary changes to undo) and its event log."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from ec2asr.errors import InvalidInputError, MigrationError
from ec2asr.migration.records import LeaseRecord, dumps, parse_time


def _lease_record(row: sqlite3.Row) -> LeaseRecord:
    return LeaseRecord(
        lease_id=row["lease_id"],
        resource_id=row["resource_id"],
        spec=json.loads(row["spec"]),
        holders=tuple(json.loads(row["holders"])),
        state=row["state"],
        created_at=parse_time(row["created_at"]),
        updated_at=parse_time(row["updated_at"]),
    )


class _Host(Protocol):
    """What these methods need from the journal."""

    _clock: Callable[[], datetime]

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _query(self, sql: str, params: tuple[Any, ...] = ...) -> list[sqlite3.Row]: ...

    def _now(self) -> str: ...


class LeasesAndEvents:
    """Lease and event methods of :class:`~ec2asr.migration.journal.Journal`."""

    # -- leases -----------------------------------------------------------------------------

    def record_lease(
        self: _Host, lease_id: str, resource_id: str, spec: Mapping[str, Any], *, holder: str
    ) -> LeaseRecord:
        """Record (before making it) a temporary change, or add a holder to an existing one.

        A revoked lease that is needed again goes back to ``requested``.

        Raises:
            InvalidInputError: When ``spec`` holds a secret.
        """
        now = self._now()
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM leases WHERE lease_id=?", (lease_id,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO leases (lease_id, resource_id, spec, holders, state, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, 'requested', ?, ?)",
                    (lease_id, resource_id, dumps(dict(spec)), dumps([holder]), now, now),
                )
            else:
                holders = list(json.loads(row["holders"]))
                if holder not in holders:
                    holders.append(holder)
                state = "requested" if row["state"] == "revoked" else row["state"]
                conn.execute(
                    "UPDATE leases SET holders=?, state=?, updated_at=? WHERE lease_id=?",
                    (dumps(holders), state, now, lease_id),
                )
            out = conn.execute("SELECT * FROM leases WHERE lease_id=?", (lease_id,)).fetchone()
            return _lease_record(out)

    def set_lease_state(self: _Host, lease_id: str, state: str) -> LeaseRecord:
        """Mark a lease ``active`` (the change exists) or ``revoked`` (it was undone).

        Raises:
            InvalidInputError: When ``state`` is not one of the lease states.
            MigrationError: When the lease is unknown.
        """
        if state not in ("requested", "active", "revoked"):
            raise InvalidInputError(f"unknown lease state {state!r}")
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE leases SET state=?, updated_at=? WHERE lease_id=?",
                (state, self._now(), lease_id),
            )
            if cur.rowcount == 0:
                raise MigrationError(f"journal lease {lease_id!r} does not exist")
            out = conn.execute("SELECT * FROM leases WHERE lease_id=?", (lease_id,)).fetchone()
            return _lease_record(out)

    def release_lease(self: _Host, lease_id: str, holder: str) -> LeaseRecord:
        """Remove a holder from a lease; the caller revokes it when no holder is left.

        Raises:
            MigrationError: When the lease is unknown.
        """
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM leases WHERE lease_id=?", (lease_id,)).fetchone()
            if row is None:
                raise MigrationError(f"journal lease {lease_id!r} does not exist")
            holders = [h for h in json.loads(row["holders"]) if h != holder]
            conn.execute(
                "UPDATE leases SET holders=?, updated_at=? WHERE lease_id=?",
                (dumps(holders), self._now(), lease_id),
            )
            out = conn.execute("SELECT * FROM leases WHERE lease_id=?", (lease_id,)).fetchone()
            return _lease_record(out)

    def leases(
        self: _Host, *, state: str | None = None, holder: str | None = None
    ) -> list[LeaseRecord]:
        """Return leases, optionally only those in one state and/or held by one machine."""
        rows = self._query("SELECT * FROM leases ORDER BY created_at, lease_id")
        out = [_lease_record(r) for r in rows]
        if state is not None:
            out = [lease for lease in out if lease.state == state]
        if holder is not None:
            out = [lease for lease in out if holder in lease.holders]
        return out

    # -- events -----------------------------------------------------------------------------

    def append_event(
        self: _Host,
        *,
        kind: str,
        message: str,
        instance_id: str | None = None,
        stage: str | None = None,
        data: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Append one progress event to the journal's event log.

        Raises:
            InvalidInputError: When ``data`` holds a secret.
        """
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO events (at, kind, instance_id, stage, message, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (at or self._clock()).isoformat(),
                    kind,
                    instance_id,
                    stage,
                    message,
                    dumps(dict(data or {})),
                ),
            )

    def events(self: _Host, instance_id: str | None = None) -> list[dict[str, Any]]:
        """Return the event log (oldest first) as dictionaries, optionally for one machine."""
        if instance_id is None:
            rows = self._query("SELECT * FROM events ORDER BY id")
        else:
            rows = self._query(
                "SELECT * FROM events WHERE instance_id=? ORDER BY id", (instance_id,)
            )
        return [
            {
                "at": r["at"],
                "kind": r["kind"],
                "instance_id": r["instance_id"],
                "stage": r["stage"],
                "message": r["message"],
                "data": json.loads(r["data"]),
            }
            for r in rows
        ]
