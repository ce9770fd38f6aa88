"""The journal's leases (temporary changes to undo) and its event log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ec2asr.errors import InvalidInputError, MigrationError
from ec2asr.migration._journal_sql import Host, event_from_row, json_list, lease_from_row
from ec2asr.migration.records import LeaseRecord, dumps


class LeasesAndEvents:
    """Lease and event methods of :class:`~ec2asr.migration.journal.Journal`."""

    # -- leases -----------------------------------------------------------------------------

    def record_lease(
        self: Host, lease_id: str, resource_id: str, spec: Mapping[str, Any], *, holder: str
    ) -> LeaseRecord:
        """Record (before making it) a temporary change, or add a holder to an existing one.

        A revoked lease that is needed again goes back to ``requested``.

        Raises:
            InvalidInputError: When ``spec`` holds a secret.
        """
        text = dumps(dict(spec))  # refuses a secret before anything is written
        now = self._now()
        select = f"SELECT * FROM leases WHERE lease_id=?{self._LOCK_ROW}"
        with self._tx() as tx:
            self._fence(tx, holder)
            row = tx.execute(select, (lease_id,)).fetchone()
            if row is None:
                cur = tx.execute(
                    "INSERT INTO leases (lease_id, resource_id, spec, holders, state, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, 'requested', ?, ?) "
                    "ON CONFLICT(lease_id) DO NOTHING",
                    (lease_id, resource_id, text, dumps([holder]), now, now),
                )
                if cur.rowcount != 1:  # another worker recorded it first
                    row = tx.execute(select, (lease_id,)).fetchone()
            if row is not None:
                holders = json_list(row["holders"], "leases", lease_id, self.location)
                if holder not in holders:
                    holders.append(holder)
                state = "requested" if row["state"] == "revoked" else row["state"]
                tx.execute(
                    "UPDATE leases SET holders=?, state=?, updated_at=? WHERE lease_id=?",
                    (dumps(holders), state, now, lease_id),
                )
            out = tx.execute("SELECT * FROM leases WHERE lease_id=?", (lease_id,)).fetchone()
            return lease_from_row(out, self.location)

    def set_lease_state(self: Host, lease_id: str, state: str) -> LeaseRecord:
        """Mark a lease ``active`` (the change exists) or ``revoked`` (it was undone).

        Raises:
            InvalidInputError: When ``state`` is not one of the lease states.
            MigrationError: When the lease is unknown.
        """
        if state not in ("requested", "active", "revoked"):
            raise InvalidInputError(f"unknown lease state {state!r}")
        with self._tx() as tx:
            cur = tx.execute(
                "UPDATE leases SET state=?, updated_at=? WHERE lease_id=?",
                (state, self._now(), lease_id),
            )
            if cur.rowcount == 0:
                raise MigrationError(f"journal lease {lease_id!r} does not exist")
            out = tx.execute("SELECT * FROM leases WHERE lease_id=?", (lease_id,)).fetchone()
            return lease_from_row(out, self.location)

    def release_lease(self: Host, lease_id: str, holder: str) -> LeaseRecord:
        """Remove a holder from a lease; the caller revokes it when no holder is left.

        Raises:
            MigrationError: When the lease is unknown.
        """
        with self._tx() as tx:
            self._fence(tx, holder)
            row = tx.execute(
                f"SELECT * FROM leases WHERE lease_id=?{self._LOCK_ROW}", (lease_id,)
            ).fetchone()
            if row is None:
                raise MigrationError(f"journal lease {lease_id!r} does not exist")
            holders = json_list(row["holders"], "leases", lease_id, self.location)
            holders = [h for h in holders if h != holder]
            tx.execute(
                "UPDATE leases SET holders=?, updated_at=? WHERE lease_id=?",
                (dumps(holders), self._now(), lease_id),
            )
            out = tx.execute("SELECT * FROM leases WHERE lease_id=?", (lease_id,)).fetchone()
            return lease_from_row(out, self.location)

    def leases(
        self: Host, *, state: str | None = None, holder: str | None = None
    ) -> list[LeaseRecord]:
        """Return leases, optionally only those in one state and/or held by one machine."""
        rows = self._query("SELECT * FROM leases ORDER BY created_at, lease_id")
        out = [lease_from_row(r, self.location) for r in rows]
        if state is not None:
            out = [lease for lease in out if lease.state == state]
        if holder is not None:
            out = [lease for lease in out if holder in lease.holders]
        return out

    # -- events -----------------------------------------------------------------------------

    def append_event(
        self: Host,
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
        text = dumps(dict(data or {}))  # refuses a secret before anything is written
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO events (at, kind, instance_id, stage, message, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (self._time(at or self._clock()), kind, instance_id, stage, message, text),
            )

    def events(self: Host, instance_id: str | None = None) -> list[dict[str, Any]]:
        """Return the event log (oldest first) as dictionaries, optionally for one machine."""
        if instance_id is None:
            rows = self._query("SELECT * FROM events ORDER BY id")
        else:
            rows = self._query(
                "SELECT * FROM events WHERE instance_id=? ORDER BY id", (instance_id,)
            )
        return [event_from_row(r, self.location) for r in rows]
