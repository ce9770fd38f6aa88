"""The PostgreSQL journal's schema: created, checked and (in time) upgraded by ec2asr.

Everything lives in one PostgreSQL schema (``ec2asr`` unless named), so a journal never mixes
with other tables of the database. The version is the ``schema`` row of ``meta``, as in a
SQLite journal. Opening a journal read-write:

- an empty (or missing) schema is created, when the role may (``CREATE`` on the database or
  the schema); otherwise :class:`~ec2asr.errors.JournalSchemaError` says to open it once as the
  schema's owner;
- the current version is checked: tables only, no DDL, so least-privileged workers open it;
- an older version is upgraded in one transaction (``UPGRADES``), a newer or unknown one is
  refused with :class:`~ec2asr.errors.JournalSchemaError`;
- a missing table is :class:`~ec2asr.errors.JournalCorruptError`.

Workers that open a fresh database together serialise on a transaction-scoped advisory lock.
The connection's ``search_path`` is the journal's schema alone, so the SQL names no schema.
"""

from __future__ import annotations

import re
from typing import Any

from ec2asr.errors import (
    InvalidInputError,
    JournalCorruptError,
    JournalSchemaError,
    JournalUnavailableError,
)
from ec2asr.migration.journal import SCHEMA_VERSION

__all__ = ["check_schema", "check_schema_name", "create_or_upgrade"]

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

TABLES = """
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE machines (
    instance_id   text PRIMARY KEY,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    name          text,
    stage         text NOT NULL,
    status        text NOT NULL,
    data          jsonb NOT NULL DEFAULT '{}',
    error_type    text,
    error_message text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    claimed_by    text,
    claim_expires timestamptz,
    touched_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX machines_by_claim ON machines (claimed_by);
CREATE TABLE steps (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject            text NOT NULL,
    step               text NOT NULL,
    state              text NOT NULL,
    job_name           text,
    polling_url        text,
    continuation_token text,
    detail             jsonb NOT NULL DEFAULT '{}',
    error              text,
    started_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    ended_at           timestamptz
);
CREATE INDEX steps_by_subject ON steps (subject, step, state);
CREATE TABLE leases (
    lease_id    text PRIMARY KEY,
    resource_id text NOT NULL,
    spec        jsonb NOT NULL,
    holders     jsonb NOT NULL DEFAULT '[]',
    state       text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    kind        text NOT NULL,
    instance_id text,
    stage       text,
    message     text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_instance ON events (instance_id, id);
CREATE TABLE workers (
    worker_id  text PRIMARY KEY,
    host       text NOT NULL,
    pid        integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE TABLE arm_budget (
    bucket text PRIMARY KEY,
    tokens double precision NOT NULL,
    stamp  double precision NOT NULL
)
"""
"""Schema 2 (the first PostgreSQL schema; schema 1 was SQLite only)."""

REQUIRED = ("meta", "machines", "steps", "leases", "events", "workers", "arm_budget")

UPGRADES: dict[str, str] = {}
"""Schema version -> the SQL that takes it to the next one. None yet: 2 is the first."""


def check_schema_name(schema: object) -> str:
    """Validate a PostgreSQL schema name (lower-case letters, digits and ``_``).

    Raises:
        InvalidInputError: It is not such a name.
    """
    if not isinstance(schema, str) or not _NAME.match(schema):
        raise InvalidInputError(
            f"schema must be a PostgreSQL schema name of lower-case letters, digits and '_' "
            f"(at most 63, not starting with a digit), not {schema!r}"
        )
    return schema


def _tables(tx: Any, schema: str) -> set[str]:
    rows = tx.execute(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = %s",
        (schema,),
    ).fetchall()
    return {str(r["name"]) for r in rows}


def _version(tx: Any, schema: str, location: str, tables: set[str]) -> str:
    if "meta" not in tables:
        raise JournalSchemaError(
            f"the schema {schema} of {location} holds tables but is not an ec2asr journal (no "
            "meta table): give the journal its own schema (PostgresJournal(schema=...))",
            location=location,
            expected=SCHEMA_VERSION,
        )
    row = tx.execute("SELECT value FROM meta WHERE key = %s", ("schema",)).fetchone()
    if row is None:
        raise JournalCorruptError(
            f"the journal {location} is damaged: its schema version is missing from the meta "
            "table. Nothing was changed; restore the journal database from its backup.",
            location=location,
        )
    return str(row["value"])


def _refuse(found: str, location: str) -> JournalSchemaError:
    newer = found.isdigit() and int(found) > int(SCHEMA_VERSION)
    hint = (
        "it was written by a newer ec2asr: upgrade ec2asr on this host"
        if newer
        else "this ec2asr cannot read or upgrade it"
    )
    return JournalSchemaError(
        f"the journal {location} has schema {found}, this ec2asr uses schema {SCHEMA_VERSION}: "
        f"{hint}. Nothing was changed.",
        location=location,
        found=found,
        expected=SCHEMA_VERSION,
    )


def check_schema(tx: Any, schema: str, location: str) -> str | None:
    """The journal's schema version, checked; None when the schema holds no journal yet.

    Raises:
        JournalSchemaError: Not an ec2asr journal, or another version.
        JournalCorruptError: A table or the version row is missing.
    """
    tables = _tables(tx, schema)
    if not tables:
        return None
    version = _version(tx, schema, location, tables)
    if version != SCHEMA_VERSION and version not in UPGRADES:
        raise _refuse(version, location)
    missing = [t for t in REQUIRED if t not in tables]
    if missing and version == SCHEMA_VERSION:
        raise JournalCorruptError(
            f"the journal {location} is damaged: its table(s) {', '.join(missing)} are missing. "
            "Nothing was changed; restore the journal database from its backup.",
            location=location,
        )
    return version


def create_or_upgrade(tx: Any, schema: str, location: str, role: str) -> None:
    """Create the journal in ``schema`` (or upgrade it); a current one is only checked.

    Runs inside the caller's transaction, after a transaction-scoped advisory lock so that
    workers opening a fresh database together create it once.

    Raises:
        JournalSchemaError: Another version, or the role may not create or upgrade it.
        JournalCorruptError: A table or the version row is missing.
    """
    from psycopg import errors as pg_errors

    tx.execute("SELECT pg_advisory_xact_lock(hashtext('ec2asr-schema'), hashtext(%s))", (schema,))
    version = check_schema(tx, schema, location)
    if version == SCHEMA_VERSION:
        return
    try:
        if version is None:
            found = tx.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            if found.fetchone() is None:  # the DBA may have made it, owned by the owner role
                tx.execute(f'CREATE SCHEMA "{schema}"')
            for statement in TABLES.split(";"):
                tx.execute(statement)
            tx.execute("INSERT INTO meta (key, value) VALUES (%s, %s)", ("schema", SCHEMA_VERSION))
            return
        while version in UPGRADES:  # pragma: no cover - no upgrade exists yet (schema 2)
            tx.execute(UPGRADES[version])
            version = str(int(version) + 1)
        tx.execute("UPDATE meta SET value = %s WHERE key = %s", (SCHEMA_VERSION, "schema"))
    except pg_errors.InsufficientPrivilege as exc:
        raise JournalSchemaError(
            f"the journal {location} needs its schema {schema} "
            f"{'created' if version is None else 'upgraded'} (to version {SCHEMA_VERSION}), "
            f"and role {role} may not ({exc.diag.message_primary}): open it once as the schema's "
            "owner role (see 'Running as a team' in the docs), then the workers' role can use it",
            location=location,
            found=version,
            expected=SCHEMA_VERSION,
        ) from None


def missing_journal(location: str, schema: str) -> JournalUnavailableError:
    """The error for a read-only open of a database without a journal."""
    return JournalUnavailableError(
        f"there is no migration journal in {location} (schema {schema} holds no ec2asr tables)",
        location=location,
    )
