"""Connecting to the journal's database, and the driver's errors as ec2asr's.

Every connection is in autocommit mode (the journal opens explicit transactions), returns rows
as dictionaries, reads ``jsonb`` as text (the journal's shared code parses JSON itself), speaks
UTC, and has the journal's schema as its only ``search_path``. A driver error becomes a
:class:`~ec2asr.errors.JournalError` naming the database without its password; it keeps the
driver's error as its cause unless that error's text shows the password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from ec2asr.errors import JournalCorruptError, JournalError, JournalUnavailableError
from ec2asr.migration._dsn import DatabaseDsn

if TYPE_CHECKING:
    import psycopg

__all__ = ["PgTx", "connect", "driver_error", "raise_from", "translate"]


class PgTx:
    """Runs the shared ``?``-placeholder SQL on a psycopg connection."""

    _converted: dict[str, str] = {}

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: tuple[Any, ...] = (), /) -> psycopg.Cursor[Any]:
        query = self._converted.get(sql)
        if query is None:
            query = self._converted[sql] = sql.replace("?", "%s")
        return self._conn.execute(query, params)


def driver_error() -> type[Exception]:
    """psycopg's base error (imported only when a database journal is used)."""
    import psycopg

    return psycopg.Error


def raise_from(error: JournalError, exc: BaseException, dsn: DatabaseDsn) -> NoReturn:
    """Raise ``error`` from ``exc``, or from nothing when the driver's text shows the password
    (a traceback would print it)."""
    if dsn.scrub(str(exc)) == str(exc):
        raise error from exc
    raise error from None


def connect(
    dsn: DatabaseDsn, schema: str, timeout: float, location: str
) -> psycopg.Connection[Any]:
    """A connection set up for the journal in ``schema``.

    Raises:
        JournalUnavailableError: The server does not answer or refuses the connection (the
            server's reason included, never the password).
    """
    import psycopg
    from psycopg.rows import dict_row
    from psycopg.types.string import TextLoader

    kwargs: dict[str, Any] = dsn.connect_kwargs()
    kwargs.setdefault("connect_timeout", str(max(1, round(timeout))))
    kwargs.setdefault("application_name", "ec2asr")
    try:
        conn = psycopg.connect(autocommit=True, row_factory=dict_row, **kwargs)
    except psycopg.Error as exc:
        reason = dsn.scrub(str(exc)).replace("connection failed: ", "").strip()
        raise_from(
            JournalUnavailableError(
                f"cannot connect to the journal database {dsn.redacted}: "
                f"{reason.splitlines()[0] if reason else type(exc).__name__}. Check that the "
                "server runs and accepts connections from this host, and the user, password "
                "and database name.",
                location=location,
            ),
            exc,
            dsn,
        )
    conn.adapters.register_loader("jsonb", TextLoader)
    conn.execute("SET timezone TO 'UTC'")
    conn.execute("SELECT set_config('search_path', %s, false)", (f'"{schema}"',))
    return conn


def translate(exc: Exception, dsn: DatabaseDsn, location: str) -> JournalError:
    """The :class:`~ec2asr.errors.JournalError` for a driver error (raise it with
    :func:`raise_from`)."""
    from psycopg import OperationalError, errors

    text = dsn.scrub(str(exc).strip())
    if isinstance(exc, (errors.UndefinedTable, errors.UndefinedColumn)):
        return JournalCorruptError(
            f"the journal {location} is damaged: {text}. Nothing was changed; restore the "
            "journal database from its backup.",
            location=location,
        )
    if isinstance(exc, errors.InsufficientPrivilege):
        return JournalUnavailableError(
            f"the journal {location} refused this role: {text}. Grant the workers' role the "
            "privileges listed in 'Running as a team' (docs).",
            location=location,
        )
    if isinstance(exc, OperationalError):
        return JournalUnavailableError(
            f"lost the journal database {location}: {text}. Nothing is lost: run again to "
            "carry on once it answers.",
            location=location,
        )
    return JournalError(
        f"the journal database {location} refused a request: {text}", location=location
    )
