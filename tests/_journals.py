"""Journal fixtures for both backends: a SQLite file, or a fresh PostgreSQL schema.

Every PostgreSQL test gets a schema of its own (``t_<random>``), dropped afterwards, so xdist
workers never collide. The server is the real one (``EC2ASR_TEST_POSTGRES``, default
``postgresql://postgres@127.0.0.1:5432/test``); when it does not answer the tests fail with the
journal's own error, they are never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ec2asr import Journal, PostgresJournal, SqliteJournal

PG_URL = os.environ.get("EC2ASR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def admin() -> psycopg.Connection[Any]:
    """A superuser connection to the test database (autocommit)."""
    return psycopg.connect(PG_URL, autocommit=True)


def new_schema_name() -> str:
    return "t_" + uuid.uuid4().hex[:16]


def drop_schema(name: str) -> None:
    with admin() as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A schema name no other test uses; dropped (with everything in it) afterwards."""
    name = new_schema_name()
    try:
        yield name
    finally:
        drop_schema(name)


def pg_journal(schema: str, **kwargs: Any) -> PostgresJournal:
    return PostgresJournal(PG_URL, schema=schema, **kwargs)


MakeJournal = Callable[..., Journal]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_journal(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> MakeJournal:
    """``make_journal(**kwargs)``: a new (unopened) journal object on one location per test:
    the same SQLite file or the same PostgreSQL schema each call."""
    if backend == "sqlite":
        path = tmp_path / "m.sqlite"
        return lambda **kwargs: SqliteJournal(path, **kwargs)
    schema = request.getfixturevalue("pg_schema")
    return lambda **kwargs: pg_journal(schema, **kwargs)


def sim_journal(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, now: Callable[[], datetime]
) -> Path | PostgresJournal:
    """A journal for a migration on a simulated clock: a SQLite path (``Migration`` gives it the
    migration's clock), or a PostgreSQL journal in a fresh schema keeping time on ``now`` (the
    one ASR's jobs are compared with) and refilling a shared ARM budget on it too."""
    if backend == "sqlite":
        return tmp_path / "migration.sqlite"
    schema = request.getfixturevalue("pg_schema")
    return pg_journal(schema, clock=now, budget_clock="caller")


_A_SECOND = "interval '1 second'"


def expire_claims(schema: str) -> int:
    """What ``claim_ttl`` seconds of the database server's clock do after a worker died: its
    claims and its registration expire (the next worker takes the machines over). Returns
    how many machines were claimed."""
    with admin() as conn:
        conn.execute(
            f'UPDATE "{schema}".workers SET expires_at = now() - {_A_SECOND} '
            "WHERE expires_at > now()"
        )
        cursor = conn.execute(
            f'UPDATE "{schema}".machines SET claim_expires = now() - {_A_SECOND} '
            "WHERE claimed_by IS NOT NULL AND claim_expires > now()"
        )
        return cursor.rowcount


def live_claims(schema: str) -> list[tuple[str, str]]:
    """(instance id, worker) of every claim that has not expired."""
    with admin() as conn:
        rows = conn.execute(
            f'SELECT instance_id, claimed_by FROM "{schema}".machines '
            "WHERE claimed_by IS NOT NULL AND claim_expires > now() ORDER BY instance_id"
        ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


def dump_schema(schema: str) -> bytes:
    """Every row of every table of a PostgreSQL journal, as ``COPY ... TO STDOUT`` writes them
    (each column in PostgreSQL's text form: JSON as stored, nothing re-escaped by Python)."""
    out = bytearray()
    with admin() as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            (schema,),
        ).fetchall()
        assert tables, f"schema {schema} holds no table"
        for (table,) in tables:
            out += f"-- {table}\n".encode()
            with conn.cursor().copy(f'COPY "{schema}"."{table}" TO STDOUT') as copy:
                for chunk in copy:
                    out += bytes(chunk)
    return bytes(out)


def stored_text(journal: Journal) -> str:
    """Everything the journal stored, as text (the SQLite file's bytes, or every row)."""
    if journal.path is not None:
        text = journal.path.read_bytes().decode("latin-1")
        wal = Path(str(journal.path) + "-wal")
        if wal.exists():
            text += wal.read_bytes().decode("latin-1")
        return text
    assert isinstance(journal, PostgresJournal)
    out = []
    with admin() as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (journal.schema,),
        ).fetchall()
        for (table,) in tables:
            rows = conn.execute(f'SELECT * FROM "{journal.schema}"."{table}"').fetchall()
            out.extend(repr(r) for r in rows)
    return "\n".join(out)


def execute(journal: Journal, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run raw SQL against the journal's store, behind ec2asr's back (to damage it)."""
    if journal.path is not None:
        import sqlite3

        conn = sqlite3.connect(journal.path)
        try:
            conn.execute(sql.replace("%s", "?"), params)
            conn.commit()
        finally:
            conn.close()
        return
    assert isinstance(journal, PostgresJournal)
    with admin() as conn:
        conn.execute(f'SET search_path TO "{journal.schema}"')
        conn.execute(sql, params)


def copy_schema(source: str, target: str) -> None:
    """Copy a PostgreSQL journal (every table, its rows and identities) into a new schema."""
    with admin() as conn:
        conn.execute(f'CREATE SCHEMA "{target}"')
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (source,),
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                f'CREATE TABLE "{target}"."{table}" (LIKE "{source}"."{table}" INCLUDING ALL)'
            )
            conn.execute(
                f'INSERT INTO "{target}"."{table}" OVERRIDING SYSTEM VALUE '
                f'SELECT * FROM "{source}"."{table}"'
            )
