"""One ARM budget for every worker of a PostgreSQL journal: token buckets in the database.

ARM limits requests per subscription (reads 250 burst / 25 per second, writes 200 / 10), not
per process: N workers each with its own client-side bucket would together send N times the
limit and earn 429s. :class:`PostgresBudget` keeps the buckets' state in the journal's database
(table ``arm_budget``, one row per bucket, named ``<subscription>/reads|writes``) and takes
tokens atomically (the row is locked for the few statements of the refill-and-take), so every
worker draws from the same buckets. It is a :class:`~ec2asr.azure._budget.BudgetStore`: a take
reserves the token and answers the one wait before it may be used (see that module).

The refill uses the **database server's clock** by default: the workers' clocks are not
comparable (``time.monotonic()`` means nothing on another host, wall clocks drift), the
server's is one clock for all. ``clock="caller"`` uses the ``now`` each caller passes instead,
for workers that share one simulated clock (benchmarks). ``ArmRateLimiter.share(store)`` plugs
it into the client.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal

from ec2asr.azure._budget import MIN_WAIT, BudgetStore, check_bucket, reserve
from ec2asr.errors import InvalidInputError
from ec2asr.migration._pg_schema import create_or_upgrade

if TYPE_CHECKING:
    import psycopg

    from ec2asr.migration._journal_pg import PostgresJournal

__all__ = ["MIN_WAIT", "BudgetStore", "PostgresBudget"]


class PostgresBudget:
    """ARM token buckets in the journal's database, shared by every worker.

    Args:
        journal: The PostgreSQL journal (its database, schema and credentials are used; the
            budget has a connection of its own, opened on first use).
        clock: ``"server"``: refill on the database server's clock (ignores ``now``);
            ``"caller"``: on the ``now`` passed to :meth:`take` (a shared simulated clock).

    Raises:
        InvalidInputError: An unknown ``clock``.
    """

    def __init__(
        self, journal: PostgresJournal, *, clock: Literal["server", "caller"] = "server"
    ) -> None:
        if clock not in ("server", "caller"):
            raise InvalidInputError("clock must be 'server' or 'caller'")
        self._journal = journal
        self._clock = clock
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self.takes = 0
        """Tokens taken (or reserved) through this store (for benchmarks and reports)."""

    def __repr__(self) -> str:
        return f"PostgresBudget({self._journal.location!r}, clock={self._clock!r})"

    def take(self, bucket: str, capacity: int, rate: float, now: float) -> float:
        """Refill ``bucket`` up to now and take (reserve) one token.

        Returns:
            0.0 when the token may be used now, else the seconds to wait before using it
            (>= ``MIN_WAIT``; the token is reserved: the caller does not ask again).

        Raises:
            InvalidInputError: ``capacity`` < 1 or ``rate`` <= 0.
            JournalUnavailableError: The database cannot be reached.
        """
        check_bucket(capacity, rate)
        with self._lock:
            try:
                conn = self._live()
                with conn.transaction():
                    wait = self._take(conn, bucket, float(capacity), float(rate), float(now))
            except self._journal._driver_error() as exc:
                self._close_quietly()
                self._journal._raise(self._journal._translate(exc), exc)
        self.takes += 1
        return wait

    def _take(
        self, conn: psycopg.Connection[Any], bucket: str, capacity: float, rate: float, now: float
    ) -> float:
        clock = "extract(epoch FROM clock_timestamp())" if self._clock == "server" else "%s"
        args: tuple[Any, ...] = () if self._clock == "server" else (now,)
        select = f"SELECT tokens, stamp, {clock}::float8 AS now FROM arm_budget WHERE bucket = %s"
        row = conn.execute(select + " FOR UPDATE", (*args, bucket)).fetchone()
        if row is None:
            inserted = conn.execute(
                f"INSERT INTO arm_budget (bucket, tokens, stamp) VALUES (%s, %s, {clock}) "
                "ON CONFLICT (bucket) DO NOTHING",
                (bucket, capacity - 1.0, *args),
            )
            if inserted.rowcount == 1:
                return 0.0  # a fresh bucket is full: this is its first token
            row = conn.execute(select + " FOR UPDATE", (*args, bucket)).fetchone()
            assert row is not None
        tokens, stamp, wait = reserve(
            float(row["tokens"]), float(row["stamp"]), capacity, rate, float(row["now"])
        )
        conn.execute(
            "UPDATE arm_budget SET tokens = %s, stamp = %s WHERE bucket = %s",
            (tokens, stamp, bucket),
        )
        return wait

    def _live(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.broken or self._conn.closed:
            self._close_quietly()
            conn = self._journal._connect()
            try:
                # The budget may be drawn on before the journal was opened: make sure its
                # table exists (a check only, once the journal's schema is current).
                with conn.transaction():
                    row = conn.execute("SELECT current_user AS role").fetchone()
                    role = str(row["role"]) if row else "?"
                    create_or_upgrade(conn, self._journal.schema, self._journal.location, role)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _close_quietly(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Disconnect (idempotent; the next :meth:`take` reconnects)."""
        with self._lock:
            self._close_quietly()
