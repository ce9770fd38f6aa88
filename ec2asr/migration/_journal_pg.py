"""The PostgreSQL journal: one migration shared by a team of workers, on one host or many.

The same records and SQL as the SQLite journal (see :mod:`ec2asr.migration.journal`), in a
PostgreSQL schema of their own (:mod:`ec2asr.migration._pg_schema`), plus what a team needs:
per-machine claims with leases on the server's clock (:mod:`ec2asr.migration._pg_claims`), an
advisory lock around fleet preparation, and the ARM token buckets shared by every worker
(:mod:`ec2asr.migration._pg_budget`). There is no journal-wide lock: ``status`` reads while
workers run.

psycopg 3 is an optional dependency: ``pip install 'ec2asr[postgres]'``.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from ec2asr._secret import Secret
from ec2asr.errors import (
    InvalidInputError,
    JournalError,
    JournalUnavailableError,
    MigrationError,
)
from ec2asr.migration import _pg_claims, _pg_schema
from ec2asr.migration._dsn import DatabaseDsn
from ec2asr.migration._journal_sql import Tx
from ec2asr.migration._journal_team import Eligible
from ec2asr.migration._pg_claims import new_worker_id
from ec2asr.migration._pg_connection import (
    PgTx,
    connect,
    driver_error,
    raise_from,
    translate,
)
from ec2asr.migration.journal import Journal
from ec2asr.migration.records import ClaimView, MachineRecord, utcnow

if TYPE_CHECKING:
    import psycopg

    from ec2asr.migration._pg_budget import PostgresBudget

__all__ = ["PostgresJournal"]

logger = logging.getLogger("ec2asr")


class PostgresJournal(Journal):
    """The migration journal in a PostgreSQL database, shared by a team of workers.

    Several processes (on one host or many) may run :meth:`~ec2asr.Migration.run` on the same
    plan with the same journal: they split the wave, each machine claimed by one worker at a
    time; when a worker dies its machines are taken over once its claims expire. ``status``,
    ``rollback`` and ``abort`` work from any host meanwhile (the last two take the machines'
    claims, or refuse while a live worker holds them). The constructor does no I/O.

    Args:
        dsn: A ``postgresql://user@host:port/dbname`` URL or a libpq keyword string. Leave the
            password out (libpq reads ``PGPASSWORD``, ``~/.pgpass``, ``PGSERVICE``) or pass it
            as ``password``; one written in the DSN is taken out and never shown.
        schema: The PostgreSQL schema holding the journal (one per migration).
        clock: Returns the current time (UTC) recorded with each row; injectable for tests.
            Claims never use it: they use the database server's clock.
        read_only: Only read: nothing is created, no worker registers, every write is refused.
        claim_ttl: Seconds a worker's claim on a machine lasts unless renewed (every cycle):
            how long a dead worker's machines wait before another worker takes them over.
        worker_id: How this worker is named in claims (default ``host:pid:random``).
        password: The database password.
        connect_timeout: Seconds to wait for the server to answer.
        budget_clock: Whose clock refills the shared ARM token buckets: ``"server"`` (the
            database's, right across hosts) or ``"caller"`` (the limiter's, for a simulated
            clock shared by every worker).

    Raises:
        InvalidInputError: A bad DSN, schema name or setting (never showing the password).
        JournalUnavailableError: psycopg is not installed.
    """

    _ROW_ORDER = "seq"
    _LOCK_ROW = " FOR UPDATE"
    _TOUCH = ", touched_at=now()"

    def __init__(
        self,
        dsn: str | DatabaseDsn,
        *,
        schema: str = "ec2asr",
        clock: Callable[[], datetime] = utcnow,
        read_only: bool = False,
        claim_ttl: float = 120.0,
        worker_id: str | None = None,
        password: Secret | None = None,
        connect_timeout: float = 10.0,
        budget_clock: Literal["server", "caller"] = "server",
    ) -> None:
        if importlib.util.find_spec("psycopg") is None:
            raise JournalUnavailableError(
                "the PostgreSQL journal needs psycopg 3: pip install 'ec2asr[postgres]'"
            )
        if not isinstance(dsn, DatabaseDsn):
            dsn = DatabaseDsn.parse(dsn, password=password)
        self._dsn = dsn
        super().__init__(self._dsn.redacted, clock=clock, read_only=read_only)
        self.schema = _pg_schema.check_schema_name(schema)
        for label, value in (("claim_ttl", claim_ttl), ("connect_timeout", connect_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidInputError(f"{label} must be a positive number of seconds")
        if worker_id is not None and (not isinstance(worker_id, str) or not worker_id.strip()):
            raise InvalidInputError("worker_id must be a non-empty string")
        if budget_clock not in ("server", "caller"):
            raise InvalidInputError("budget_clock must be 'server' or 'caller'")
        self.claim_ttl = float(claim_ttl)
        self._worker_id = worker_id or new_worker_id()
        self._connect_timeout = connect_timeout
        self._budget_clock: Literal["server", "caller"] = budget_clock
        self._conn: psycopg.Connection[Any] | None = None
        self._held: set[str] = set()
        self._run_started: datetime | None = None
        self._budget: PostgresBudget | None = None

    # -- identity ---------------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The database URL without the password, and the schema."""
        return f"{self._dsn.redacted} (schema {self.schema})"

    @property
    def dsn(self) -> DatabaseDsn:
        """The parsed DSN (its password is a :class:`~ec2asr.Secret`)."""
        return self._dsn

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._conn is not None

    @property
    def shared(self) -> bool:
        """True: several workers may drive a PostgreSQL journal at once."""
        return True

    @property
    def worker_id(self) -> str:
        """This worker's name in claims and messages."""
        return self._worker_id

    def reader(self) -> PostgresJournal:
        """A read-only journal on the same database and schema (not opened yet)."""
        return PostgresJournal(
            self._dsn,
            schema=self.schema,
            clock=self._clock,
            read_only=True,
            claim_ttl=self.claim_ttl,
            connect_timeout=self._connect_timeout,
        )

    # -- connecting -------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        return connect(self._dsn, self.schema, self._connect_timeout, self.location)

    def _raise(self, error: JournalError, exc: BaseException) -> NoReturn:
        raise_from(error, exc, self._dsn)

    def open(self) -> PostgresJournal:
        """Connect and create, check or upgrade the journal's schema.

        Returns:
            The journal itself.

        Raises:
            JournalUnavailableError: The server does not answer, refuses the credentials, or
                the database does not exist; (read-only) there is no journal in the schema.
            JournalSchemaError: Another ec2asr schema version, tables that are not a journal,
                or a schema this role may not create or upgrade.
            JournalCorruptError: A journal table or its version row is missing.
        """
        with self._mutex:
            if self._conn is not None:
                return self
            conn = self._connect()
            try:
                with conn.transaction():
                    if self._read_only:
                        if _pg_schema.check_schema(conn, self.schema, self.location) is None:
                            raise _pg_schema.missing_journal(self.location, self.schema)
                    else:
                        row = conn.execute("SELECT current_user AS role").fetchone()
                        role = str(row["role"]) if row else "?"
                        _pg_schema.create_or_upgrade(conn, self.schema, self.location, role)
                if self._read_only:
                    conn.execute("SET default_transaction_read_only = on")
            except BaseException as exc:
                conn.close()
                if isinstance(exc, self._driver_error()):
                    self._raise(self._translate(exc), exc)
                raise
            self._conn = conn
            return self

    def exists(self) -> bool:
        """True when the schema holds a journal (connects briefly; creates nothing).

        Raises:
            JournalUnavailableError: The database cannot be reached.
        """
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                "AND table_name = 'meta'",
                (self.schema,),
            ).fetchall()
            return bool(rows)
        finally:
            conn.close()

    def close(self) -> None:
        """Withdraw this worker, release its claims and disconnect (idempotent)."""
        with self._mutex:
            if self._conn is None:
                return
            try:
                if not self._conn.broken:
                    self.unregister_worker()
            except JournalError as exc:
                logger.warning("could not withdraw worker %s: %s", self.worker_id, exc)
            finally:
                if self._budget is not None:
                    self._budget.close()
                    self._budget = None
                self._conn.close()
                self._conn = None

    # -- statements -------------------------------------------------------------------------

    @staticmethod
    def _driver_error() -> type[Exception]:
        return driver_error()

    def _live(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise MigrationError("the journal is not open; call open() first")
        if self._conn.broken or self._conn.closed:
            logger.warning("reconnecting to the journal database %s", self.location)
            self._conn.close()
            self._conn = self._connect()
            if self._read_only:
                self._conn.execute("SET default_transaction_read_only = on")
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[Tx]:
        with self._mutex:
            self._refuse_read_only()
            conn = self._live()
            try:
                with conn.transaction():
                    yield PgTx(conn)
            except self._driver_error() as exc:
                self._raise(self._translate(exc), exc)

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._mutex:
            conn = self._live()
            try:
                return list(PgTx(conn).execute(sql, params).fetchall())
            except self._driver_error() as exc:
                self._raise(self._translate(exc), exc)

    def _insert_id(self, tx: Tx, sql: str, params: tuple[Any, ...]) -> int:
        row = tx.execute(sql + " RETURNING id", params).fetchone()
        assert row is not None
        return int(row["id"])

    def _time(self, value: datetime) -> Any:
        return value

    def _translate(self, exc: Exception) -> JournalError:
        return translate(exc, self._dsn, self.location)

    # -- team -------------------------------------------------------------------------------

    def register_worker(self) -> None:
        """Announce this worker (renewed every cycle) and mark the start of its run.

        Machines that settled (failed, waiting for a person) *before* this moment are retried
        by this run, as a re-run retries them; those that settle during it are not.

        Raises:
            JournalUnavailableError: The database cannot be reached.
        """
        _pg_claims.register_worker(self)

    def unregister_worker(self) -> None:
        """Release every claim of this worker and withdraw it (idempotent)."""
        _pg_claims.unregister_worker(self)

    def live_workers(self) -> int:
        """Workers whose registration has not expired (at least 1)."""
        return _pg_claims.live_workers(self)

    def claim(
        self,
        instance_ids: Collection[str],
        *,
        eligible: Eligible | None = None,
        limit: int | None = None,
        all_or_nothing: bool = False,
        on_takeover: Callable[[str, str], None] | None = None,
    ) -> list[MachineRecord]:
        """Claim machines no live worker holds (``FOR UPDATE SKIP LOCKED``), each for
        ``claim_ttl`` seconds of the server's clock; return the eligible ones this worker holds.

        Args:
            instance_ids: The machines wanted (unknown ones are ignored).
            eligible: Which machines to take: ``(record, changed_before_this_run)``.
            limit: Hold at most this many eligible machines (those already held count).
            all_or_nothing: Take every eligible machine or none (a recovery plan): none while
                another live worker holds one of them.
            on_takeover: Called ``(instance_id, previous_worker)`` for each machine taken over
                from a worker whose claim expired (after the claim is committed).

        Raises:
            JournalUnavailableError: The database cannot be reached.
        """
        return _pg_claims.claim(
            self,
            instance_ids,
            eligible=eligible,
            limit=limit,
            all_or_nothing=all_or_nothing,
            on_takeover=on_takeover,
        )

    def survey(self, instance_ids: Collection[str]) -> list[ClaimView]:
        """The known machines of ``instance_ids`` as a worker deciding what to claim sees
        them: record, changed before this run (server clock), held by another live worker."""
        return _pg_claims.survey(self, instance_ids)

    def renew_claims(self) -> frozenset[str]:
        """Extend this worker's registration and claims; return the machines it lost.

        A claim that expired but was not taken over is still this worker's (nobody else has
        written about the machine since) and is renewed.
        """
        return _pg_claims.renew_claims(self)

    def release_claims(self, instance_ids: Collection[str] | None = None) -> None:
        """Give machines back (all of this worker's when None)."""
        _pg_claims.release_claims(self, instance_ids)

    def holders(self, instance_ids: Collection[str] | None = None) -> dict[str, str]:
        """Machines held by *other* live workers: instance id -> worker."""
        return _pg_claims.holders(self, instance_ids)

    def _fence(self, tx: Tx, subject: str) -> None:
        _pg_claims.fence(self, tx, subject)

    def exclusive(
        self, name: str, *, sleep: Callable[[float], None] | None = None, poll: float = 1.0
    ) -> AbstractContextManager[None]:
        """One worker at a time in the block named ``name``: a session advisory lock keyed by
        the schema and the name (released with the block, or when the worker's connection
        ends); the others poll it every ``poll`` seconds through ``sleep``."""
        return _pg_claims.exclusive(self, name, sleep, poll)

    def budget_store(self) -> PostgresBudget:
        """The ARM token buckets in this database, shared by every worker (its own
        connection, opened on first use)."""
        from ec2asr.migration._pg_budget import PostgresBudget

        if self._budget is None:
            self._budget = PostgresBudget(self, clock=self._budget_clock)
        return self._budget
