"""A team of workers on one journal: the claim methods of
:class:`~ec2asr.migration.journal.Journal`, as a SQLite journal has them.

A SQLite journal has one worker, the process holding its lock: it holds every machine, so
claiming returns every known machine and nothing is ever lost or held by anyone else.
:class:`~ec2asr.PostgresJournal` overrides each method with real claims
(:mod:`ec2asr.migration._pg_claims`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Protocol

from ec2asr.migration.records import ClaimView, MachineRecord

if TYPE_CHECKING:
    from ec2asr.azure._budget import BudgetStore

Eligible = Callable[[MachineRecord, bool], bool]
"""Decides whether a worker takes a machine: ``(record, changed_before_this_run)``."""


class _Host(Protocol):
    def machines(self) -> list[MachineRecord]: ...

    def release_claims(self, instance_ids: Collection[str] | None = None) -> None: ...


class Team:
    """Claim methods of :class:`~ec2asr.migration.journal.Journal` (one worker: SQLite)."""

    @property
    def shared(self) -> bool:
        """True when several worker processes may drive this journal at once (PostgreSQL)."""
        return False

    @property
    def worker_id(self) -> str:
        """How this process is named in claims and messages."""
        return f"pid {os.getpid()}"

    def register_worker(self) -> None:
        """Announce this worker (PostgreSQL) so others share the wave with it."""

    def unregister_worker(self: _Host) -> None:
        """Withdraw this worker and release its claims (idempotent)."""
        self.release_claims()

    def live_workers(self) -> int:
        """How many workers share this journal now (1 for SQLite)."""
        return 1

    def claim(
        self: _Host,
        instance_ids: Collection[str],
        *,
        eligible: Eligible | None = None,
        limit: int | None = None,
        all_or_nothing: bool = False,
        on_takeover: Callable[[str, str], None] | None = None,
    ) -> list[MachineRecord]:
        """Claim machines for this worker; return the records of those it now holds.

        A SQLite journal's lock already gives this process every machine, so every known
        machine of ``instance_ids`` that is ``eligible`` is returned. A PostgreSQL journal takes
        only machines no live worker holds (``FOR UPDATE SKIP LOCKED``), with a lease that
        expires on the server's clock unless renewed.

        Args:
            instance_ids: The machines wanted (unknown ones are ignored).
            eligible: Which machines to take: ``(record, changed_before_this_run)``.
            limit: Take at most this many (machines already held count).
            all_or_nothing: Take every eligible machine or none (a recovery plan).
            on_takeover: Called ``(instance_id, previous_worker)`` for each machine taken over
                from a worker whose claim expired (never for SQLite).

        Raises:
            JournalUnavailableError: The database cannot be reached.
        """
        wanted = set(instance_ids)
        records = [r for r in self.machines() if r.instance_id in wanted]
        if eligible is not None:
            records = [r for r in records if eligible(r, True)]
        return records if limit is None else records[:limit]

    def survey(self: _Host, instance_ids: Collection[str]) -> list[ClaimView]:
        """The known machines of ``instance_ids`` (in the journal's order) as a worker deciding
        what to claim sees them: record, changed before this run, held by another live worker.
        """
        wanted = set(instance_ids)
        return [ClaimView(r) for r in self.machines() if r.instance_id in wanted]

    def renew_claims(self) -> frozenset[str]:
        """Extend this worker's leases; return the machines it lost to another worker."""
        return frozenset()

    def release_claims(self, instance_ids: Collection[str] | None = None) -> None:
        """Give machines back (all of this worker's when None)."""

    def holders(self, instance_ids: Collection[str] | None = None) -> dict[str, str]:
        """Machines held by *other* live workers: instance id -> worker (none for SQLite)."""
        return {}

    def exclusive(
        self, name: str, *, sleep: Callable[[float], None] | None = None, poll: float = 1.0
    ) -> AbstractContextManager[None]:
        """One worker at a time in the block named ``name`` (fleet preparation, changes to the
        leased security-group rules). A SQLite journal's process is alone; a PostgreSQL journal
        takes an advisory lock, polling with ``sleep`` every ``poll`` seconds while another
        worker holds it."""
        return nullcontext()

    def fleet_lock(
        self, *, sleep: Callable[[float], None] | None = None
    ) -> AbstractContextManager[None]:
        """Serialise fleet-wide preparation (policy, mapping) across workers:
        ``exclusive("fleet")``."""
        return self.exclusive("fleet", sleep=sleep)

    def budget_store(self) -> BudgetStore | None:
        """Where the ARM token buckets live when workers share one budget (PostgreSQL)."""
        return None
