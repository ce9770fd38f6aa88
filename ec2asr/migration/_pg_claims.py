"""Workers and machine claims of the PostgreSQL journal.

Each worker (a process running :meth:`~ec2asr.Migration.run` on the journal) registers in
``workers`` and claims machines in ``machines.claimed_by``/``claim_expires``:

- a claim is taken with ``SELECT ... FOR UPDATE SKIP LOCKED`` among machines that no live worker
  holds, and lasts ``claim_ttl`` seconds **on the database server's clock** (``now()``), never
  the worker's: a worker whose clock is wrong cannot see a live claim as expired;
- a live worker renews its claims every cycle, and with every write about the machine;
- every write about a machine is *fenced*: made only while no other live worker holds it, and
  refused with :class:`~ec2asr.errors.ClaimLostError` when this worker held it but another took
  it over (its claim had expired: it stalled longer than ``claim_ttl``). The refusal comes
  before the write-ahead step is recorded, so the request is never sent;
- a machine whose claim expired (its worker died) is taken by the next worker that looks, which
  reconciles it with AWS and Azure before doing anything, exactly as a re-run does.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ec2asr.errors import ClaimLostError, MachineClaimedError
from ec2asr.migration._journal_sql import Tx, machine_from_row
from ec2asr.migration.records import ClaimView, MachineRecord

if TYPE_CHECKING:
    from ec2asr.migration._journal_pg import PostgresJournal
    from ec2asr.migration._journal_team import Eligible

logger = logging.getLogger("ec2asr")

_TTL = "now() + ? * interval '1 second'"


def new_worker_id() -> str:
    """``host:pid:random``: unique per journal object, readable in messages."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def register_worker(journal: PostgresJournal) -> None:
    """Announce this worker (renewed every cycle) and mark the start of its run.

    Machines that settled (failed, waiting for a person) *before* this moment are retried
    by this run, as a re-run retries them; those that settle during it are not.
    """
    with journal._tx() as tx:
        row = tx.execute(
            "INSERT INTO workers (worker_id, host, pid, expires_at) "
            f"VALUES (?, ?, ?, {_TTL}) ON CONFLICT (worker_id) DO UPDATE SET "
            "expires_at = excluded.expires_at, started_at = now() RETURNING started_at",
            (journal.worker_id, socket.gethostname(), os.getpid(), journal.claim_ttl),
        ).fetchone()
    assert row is not None
    journal._run_started = row["started_at"]


def unregister_worker(journal: PostgresJournal) -> None:
    """Release every claim of this worker and withdraw it (idempotent)."""
    if not journal.is_open or journal._read_only:
        return
    journal.release_claims()
    with journal._tx() as tx:
        # Expired rather than deleted: ec2asr never deletes a journal row (workers need no
        # DELETE privilege), and the row tells who worked on the migration.
        tx.execute(
            "UPDATE workers SET expires_at = now() WHERE worker_id = ?", (journal.worker_id,)
        )
    journal._run_started = None


def live_workers(journal: PostgresJournal) -> int:
    """Workers whose registration has not expired (at least this one once registered)."""
    rows = journal._query("SELECT count(*) AS n FROM workers WHERE expires_at > now()")
    return max(1, int(rows[0]["n"]))


def claim(
    journal: PostgresJournal,
    instance_ids: Collection[str],
    *,
    eligible: Eligible | None = None,
    limit: int | None = None,
    all_or_nothing: bool = False,
    on_takeover: Callable[[str, str], None] | None = None,
) -> list[MachineRecord]:
    """:meth:`PostgresJournal.claim <ec2asr.PostgresJournal.claim>`."""
    ids = list(dict.fromkeys(instance_ids))
    if not ids:
        return []
    lock = " FOR UPDATE" if all_or_nothing else " FOR UPDATE SKIP LOCKED"
    me = journal.worker_id
    taken_over: list[tuple[str, str]] = []
    with journal._tx() as tx:
        rows = tx.execute(
            "SELECT *, (claimed_by IS NOT NULL AND claimed_by <> ? AND claim_expires > now())"
            " AS held_elsewhere, touched_at < COALESCE(?, now()) AS before_run "
            "FROM machines WHERE instance_id = ANY(?) ORDER BY created_at, seq" + lock,
            (me, journal._run_started, ids),
        ).fetchall()
        chosen: list[tuple[Any, MachineRecord]] = []
        for row in rows:
            record = machine_from_row(row, journal.location)
            if eligible is not None and not eligible(record, bool(row["before_run"])):
                continue
            if row["held_elsewhere"]:
                if all_or_nothing:
                    return []
                continue
            chosen.append((row, record))
        chosen.sort(key=lambda pair: pair[0]["claimed_by"] != me)  # mine first
        if limit is not None:
            chosen = chosen[: max(0, limit)]
        take = [row["instance_id"] for row, _ in chosen]
        for row, _ in chosen:
            if row["claimed_by"] not in (None, me):
                taken_over.append((row["instance_id"], row["claimed_by"]))
        if take:
            tx.execute(
                f"UPDATE machines SET claimed_by = ?, claim_expires = {_TTL} "
                "WHERE instance_id = ANY(?)",
                (me, journal.claim_ttl, take),
            )
    journal._held.update(take)
    for instance_id, previous in taken_over:
        logger.warning("worker %s takes %s over from %s", me, instance_id, previous)
        if on_takeover is not None:
            on_takeover(instance_id, previous)
    return [record for _, record in chosen]


def survey(journal: PostgresJournal, instance_ids: Collection[str]) -> list[ClaimView]:
    """:meth:`PostgresJournal.survey <ec2asr.PostgresJournal.survey>`."""
    rows = journal._query(
        "SELECT *, CASE WHEN claimed_by <> ? AND claim_expires > now() THEN claimed_by END"
        " AS holder, touched_at < COALESCE(?, now()) AS before_run "
        "FROM machines WHERE instance_id = ANY(?) ORDER BY created_at, seq",
        (journal.worker_id, journal._run_started, list(instance_ids)),
    )
    return [
        ClaimView(
            machine_from_row(row, journal.location),
            changed_before_run=bool(row["before_run"]),
            holder=row["holder"],
        )
        for row in rows
    ]


def renew_claims(journal: PostgresJournal) -> frozenset[str]:
    """Extend this worker's registration and claims; return the machines it lost.

    A claim that expired but was not taken over is still this worker's (nobody else has
    written about the machine since) and is renewed.
    """
    if not journal._held and journal._run_started is None:
        return frozenset()
    with journal._tx() as tx:
        tx.execute(
            f"UPDATE workers SET expires_at = {_TTL} WHERE worker_id = ?",
            (journal.claim_ttl, journal.worker_id),
        )
        rows = tx.execute(
            f"UPDATE machines SET claim_expires = {_TTL} WHERE claimed_by = ? "
            "RETURNING instance_id",
            (journal.claim_ttl, journal.worker_id),
        ).fetchall()
    kept = {str(r["instance_id"]) for r in rows}
    lost = frozenset(journal._held - kept)
    journal._held = kept
    return lost


def release_claims(journal: PostgresJournal, instance_ids: Collection[str] | None = None) -> None:
    """Give machines back (all of this worker's when None)."""
    if not journal.is_open or journal._read_only:
        return
    ids = list(journal._held if instance_ids is None else instance_ids)
    with journal._tx() as tx:
        if instance_ids is None:
            tx.execute(
                "UPDATE machines SET claimed_by = NULL, claim_expires = NULL WHERE claimed_by = ?",
                (journal.worker_id,),
            )
        elif ids:
            tx.execute(
                "UPDATE machines SET claimed_by = NULL, claim_expires = NULL "
                "WHERE claimed_by = ? AND instance_id = ANY(?)",
                (journal.worker_id, ids),
            )
    journal._held.difference_update(ids)


def holders(
    journal: PostgresJournal, instance_ids: Collection[str] | None = None
) -> dict[str, str]:
    """Machines held by *other* live workers: instance id -> worker."""
    sql = (
        "SELECT instance_id, claimed_by FROM machines WHERE claimed_by IS NOT NULL "
        "AND claimed_by <> ? AND claim_expires > now()"
    )
    params: tuple[Any, ...] = (journal.worker_id,)
    if instance_ids is not None:
        sql += " AND instance_id = ANY(?)"
        params += (list(instance_ids),)
    return {str(r["instance_id"]): str(r["claimed_by"]) for r in journal._query(sql, params)}


def fence(journal: PostgresJournal, tx: Tx, subject: str) -> None:
    row = tx.execute(
        "SELECT claimed_by, claim_expires > now() AS live FROM machines "
        "WHERE instance_id = ? FOR UPDATE",
        (subject,),
    ).fetchone()
    if row is None:
        return  # a new machine, or a recovery plan's steps
    holder = row["claimed_by"]
    if holder == journal.worker_id:
        tx.execute(
            f"UPDATE machines SET claim_expires = {_TTL} WHERE instance_id = ?",
            (journal.claim_ttl, subject),
        )
        return
    if subject in journal._held:
        journal._held.discard(subject)
        raise ClaimLostError(
            f"worker {journal.worker_id} lost its claim on {subject} to "
            f"{holder or 'nobody (released)'}: its lease expired (the worker stalled for "
            f"longer than claim_ttl={journal.claim_ttl:g} s); it stops driving the machine and "
            "nothing was written",
            holders={subject: str(holder)},
            location=journal.location,
        )
    if holder is not None and row["live"]:
        raise MachineClaimedError(
            f"{subject} is held by the live worker {holder}: nothing was written; wait for "
            "it to finish with the machine or stop that worker",
            holders={subject: str(holder)},
            location=journal.location,
        )


@contextmanager
def exclusive(
    journal: PostgresJournal, name: str, sleep: Callable[[float], None] | None, poll: float
) -> Iterator[None]:
    """:meth:`PostgresJournal.exclusive <ec2asr.PostgresJournal.exclusive>`."""
    wait = sleep or time.sleep
    key = (journal.schema, name)
    take = "SELECT pg_try_advisory_lock(hashtext(?), hashtext(?)) AS got"
    while not journal._query(take, key)[0]["got"]:
        wait(poll)
    try:
        yield
    finally:
        if journal.is_open:
            journal._query("SELECT pg_advisory_unlock(hashtext(?), hashtext(?)) AS done", key)
