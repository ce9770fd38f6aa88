"""The SQLite journal's schema: its DDL, its upgrades, and the checks made when it is opened.

The version is the ``schema`` row of ``meta``. Schema 1 (ec2asr before team mode) is read as it
is and upgraded in place when opened for writing; a newer or unknown version, a database that
is not a journal, a missing table or version row are refused before anything is written.
"""

from __future__ import annotations

import sqlite3

from ec2asr.errors import JournalCorruptError, JournalSchemaError
from ec2asr.migration.journal import SCHEMA_VERSION

__all__ = [
    "CORRUPT_HINTS",
    "READABLE",
    "TABLES",
    "UPGRADES",
    "check",
    "corrupt_message",
    "inspect",
    "prepare",
    "schema_error",
    "version_of",
]

TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS machines (
    instance_id   TEXT PRIMARY KEY,
    name          TEXT,
    stage         TEXT NOT NULL,
    status        TEXT NOT NULL,
    data          TEXT NOT NULL DEFAULT '{}',
    error_type    TEXT,
    error_message TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    subject            TEXT NOT NULL,
    step               TEXT NOT NULL,
    state              TEXT NOT NULL,
    job_name           TEXT,
    polling_url        TEXT,
    continuation_token TEXT,
    detail             TEXT NOT NULL DEFAULT '{}',
    error              TEXT,
    started_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    ended_at           TEXT
);
CREATE INDEX IF NOT EXISTS steps_by_subject ON steps (subject, step, state);
CREATE TABLE IF NOT EXISTS leases (
    lease_id    TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL,
    spec        TEXT NOT NULL,
    holders     TEXT NOT NULL DEFAULT '[]',
    state       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    instance_id TEXT,
    stage       TEXT,
    message     TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}'
);
"""

UPGRADES = {
    "1": "CREATE INDEX IF NOT EXISTS events_by_instance ON events (instance_id, id);",
}
"""Schema version -> the SQL that takes it to the next one (the last gives SCHEMA_VERSION)."""

REQUIRED = frozenset({"meta", "machines", "steps", "leases", "events"})
READABLE = frozenset({"1", SCHEMA_VERSION})
CORRUPT_HINTS = ("malformed", "not a database", "corrupt", "no such table", "no such column")


def script(conn: sqlite3.Connection, sql: str) -> None:
    """Run DDL statement by statement (``executescript`` would commit the transaction)."""
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def inspect(conn: sqlite3.Connection, location: str) -> str | None:
    """The journal's schema version (None for an empty database), refusing what this
    ec2asr cannot write."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return None
    version = version_of(conn, tables, location)
    if version != SCHEMA_VERSION and version not in UPGRADES:
        raise schema_error(version, "writes", location)
    return version


def prepare(conn: sqlite3.Connection, version: str | None) -> None:
    """Create the tables of an empty database, or upgrade ``version`` to the current one."""
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    if version is None:
        script(conn, TABLES + "".join(UPGRADES.values()))
        conn.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
    else:
        while version in UPGRADES:
            script(conn, UPGRADES[version])
            version = str(int(version) + 1)
        conn.execute("UPDATE meta SET value=? WHERE key='schema'", (SCHEMA_VERSION,))
    conn.execute("COMMIT")


def version_of(conn: sqlite3.Connection, tables: set[str], location: str) -> str:
    """The schema version of a database holding ``tables``.

    Raises:
        JournalSchemaError: It is not an ec2asr journal.
        JournalCorruptError: Its version row or one of its tables is missing.
    """
    if "meta" not in tables:
        raise JournalSchemaError(
            f"{location} is a SQLite database but not an ec2asr journal (it has no meta "
            "table); give the migration its own journal file",
            location=location,
            expected=SCHEMA_VERSION,
        )
    row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    if row is None:
        raise JournalCorruptError(
            f"{location} is not a usable journal: its schema version is missing from the "
            "meta table. Nothing was changed; restore the journal from its backup.",
            location=location,
        )
    missing = sorted(REQUIRED - tables)
    if missing and str(row["value"]) in READABLE:
        raise JournalCorruptError(
            f"{location} is not a usable journal: its table(s) {', '.join(missing)} are "
            "missing. Nothing was changed; restore the journal from its backup.",
            location=location,
        )
    return str(row["value"])


def schema_error(found: str, verb: str, location: str) -> JournalSchemaError:
    """The error for a journal of another schema version (``verb``: reads or writes)."""
    newer = found.isdigit() and int(found) > int(SCHEMA_VERSION)
    hint = (
        "it was written by a newer ec2asr: upgrade ec2asr on this host"
        if newer
        else "it was not written by a release of ec2asr this one can read"
    )
    return JournalSchemaError(
        f"{location} has journal schema {found}, this ec2asr {verb} schema "
        f"{SCHEMA_VERSION}: {hint}. Nothing was changed.",
        location=location,
        found=found,
        expected=SCHEMA_VERSION,
    )


def check(conn: sqlite3.Connection, location: str) -> None:
    """SQLite's quick integrity check: a truncated or garbled file is refused at once."""
    problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise JournalCorruptError(
            corrupt_message(location, "; ".join(problems[:3])), location=location
        )


def corrupt_message(location: str, reason: str) -> str:
    """What to say about a file SQLite finds damaged."""
    return (
        f"{location} is not a usable journal: SQLite reports it damaged ({reason}). "
        "Nothing was changed. Stop every process using it, then restore it from its backup "
        "(to see what SQLite can still read: sqlite3 FILE .recover). Do not start a new "
        "journal for machines that are already migrating: the journal is what prevents a "
        "second failover."
    )
