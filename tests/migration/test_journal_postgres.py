"""What only the PostgreSQL journal does: connecting (and every way that fails), its schema,
the roles and GRANTs of ``docs/team.md``, and keeping the password out of every output.

Wrong credentials: the shared server trusts every connection from 127.0.0.1, so it never asks
for a password. A password that is refused is tested against a private server this module
starts (``initdb -A scram-sha-256`` on a free port, a few hundred milliseconds); on the shared
server a role that does not exist, a role that may not log in and a database that does not
exist are refused at connection time just the same.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import ec2asr
from ec2asr import PostgresJournal, Secret
from ec2asr.errors import (
    InvalidInputError,
    JournalCorruptError,
    JournalSchemaError,
    JournalUnavailableError,
    MigrationError,
)
from ec2asr.migration.stages import Stage
from tests._journals import PG_URL, admin, execute, pg_journal

ROOT = Path(__file__).resolve().parents[2]
MARKER = "pw-MARKER-7f3a9c"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _everything_said(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


# -- the password ------------------------------------------------------------------------------


def test_the_password_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    port = _free_port()  # nothing listens there
    journal = PostgresJournal(f"postgresql://worker:{MARKER}@127.0.0.1:{port}/test")
    assert MARKER not in repr(journal)
    assert MARKER not in journal.location
    assert journal.location == f"postgresql://worker:***@127.0.0.1:{port}/test (schema ec2asr)"
    assert MARKER not in repr(journal.dsn)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(JournalUnavailableError) as caught:
        journal.open()
    assert MARKER not in _everything_said(caught.value)
    assert MARKER not in caplog.text
    # The keyword form and a password given apart are hidden the same way.
    keyword = PostgresJournal(f"host=127.0.0.1 port={port} dbname=test password='{MARKER}'")
    assert MARKER not in repr(keyword)
    apart = PostgresJournal(
        f"postgresql://worker@127.0.0.1:{port}/test", password=Secret(MARKER, label="db")
    )
    assert MARKER not in repr(apart)
    with pytest.raises(JournalUnavailableError) as caught:
        apart.open()
    assert MARKER not in _everything_said(caught.value)


def test_bad_dsns_and_settings_are_refused_before_connecting() -> None:
    with pytest.raises(InvalidInputError, match="DSN") as caught:
        PostgresJournal(f"postgresql://u:{MARKER}@h/db?nonsense_option=1")
    assert MARKER not in _everything_said(caught.value)
    with pytest.raises(InvalidInputError, match="schema"):
        PostgresJournal(PG_URL, schema="Robert'); DROP TABLE students;--")
    with pytest.raises(InvalidInputError, match="claim_ttl"):
        PostgresJournal(PG_URL, claim_ttl=0)
    with pytest.raises(InvalidInputError, match="password must be"):
        PostgresJournal(PG_URL, password=MARKER)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="budget_clock"):
        PostgresJournal(PG_URL, budget_clock="wall")  # type: ignore[arg-type]


# -- connecting ------------------------------------------------------------------------------


def test_unreachable_server() -> None:
    port = _free_port()
    with pytest.raises(JournalUnavailableError, match="cannot connect") as caught:
        PostgresJournal(f"postgresql://postgres@127.0.0.1:{port}/test").open()
    assert "Connection refused" in str(caught.value)
    assert isinstance(caught.value.__cause__, psycopg.OperationalError)
    assert caught.value.location is not None
    assert "Check that the server runs" in str(caught.value)


def test_database_that_does_not_exist(pg_schema: str) -> None:
    url = PG_URL.rsplit("/", 1)[0] + "/no_such_database_" + uuid.uuid4().hex[:8]
    with pytest.raises(JournalUnavailableError, match="does not exist"):
        PostgresJournal(url, schema=pg_schema).open()


def test_role_that_does_not_exist() -> None:
    with pytest.raises(JournalUnavailableError, match=r'role "nobody_[0-9a-f]+" does not exist'):
        PostgresJournal(f"postgresql://nobody_{uuid.uuid4().hex[:8]}@127.0.0.1:5432/test").open()


def test_role_that_may_not_log_in() -> None:
    role = "t_nologin_" + uuid.uuid4().hex[:8]
    with admin() as conn:
        conn.execute(f"CREATE ROLE {role} NOLOGIN")
    try:
        with pytest.raises(JournalUnavailableError, match="not permitted to log in"):
            PostgresJournal(f"postgresql://{role}@127.0.0.1:5432/test").open()
    finally:
        with admin() as conn:
            conn.execute(f"DROP ROLE {role}")


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
    if out.returncode == 0 and (Path(out.stdout.strip()) / "initdb").exists():
        return Path(out.stdout.strip())
    pytest.fail("initdb (PostgreSQL's server binaries) is needed to test a refused password")


@pytest.fixture(scope="module")
def password_server() -> Iterator[str]:
    """A private PostgreSQL server that checks passwords (scram-sha-256): its URL without one;
    the superuser ``postgres``'s password is ``right-password``."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="ec2asr-pgpw-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(base, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    pwfile = base / "pw"
    pwfile.write_text("right-password\n")
    if as_postgres:
        shutil.chown(pwfile, "postgres")
    data = base / "data"
    port = _free_port()
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "initdb"),
            *("-D", str(data), "-A", "scram-sha-256", "-U", "postgres", f"--pwfile={pwfile}"),
            "-N",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*ctl, "-o", options, "-w", "-l", str(base / "log"), "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_a_refused_password(password_server: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = password_server.replace("postgres@", f"postgres:{MARKER}@")
    with pytest.raises(JournalUnavailableError, match="password authentication failed") as caught:
        PostgresJournal(wrong).open()
    assert MARKER not in _everything_said(caught.value)
    assert MARKER not in caplog.text
    # The same server with the right password: the journal opens and works.
    right = PostgresJournal(password_server, password=Secret("right-password"))
    with right:
        right.update_machine("i-1", stage=Stage.REPLICATING)
        assert right.machine("i-1") is not None


# -- the schema ------------------------------------------------------------------------------


def test_tables_that_are_not_a_journal_are_left_alone(pg_schema: str) -> None:
    with admin() as conn:
        conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        conn.execute(f'CREATE TABLE "{pg_schema}".invoices (id int)')
    with pytest.raises(JournalSchemaError, match="not an ec2asr journal"):
        pg_journal(pg_schema).open()
    with admin() as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (pg_schema,),
        ).fetchall()
    assert tables == [("invoices",)]


def test_a_missing_table_is_damage(pg_schema: str) -> None:
    with pg_journal(pg_schema) as j:
        j.update_machine("i-1")
        execute(j, "DROP TABLE steps")
    with pytest.raises(JournalCorruptError, match="steps are missing"):
        pg_journal(pg_schema).open()
    with pytest.raises(JournalCorruptError, match="steps are missing"):
        pg_journal(pg_schema, read_only=True).open()


def test_a_table_dropped_while_open_is_damage_not_a_driver_error(pg_schema: str) -> None:
    with pg_journal(pg_schema) as j:
        j.update_machine("i-1")
        execute(j, "DROP TABLE machines CASCADE")
        with pytest.raises(JournalCorruptError, match="restore"):
            j.machines()


def test_the_version_row_missing_is_damage(pg_schema: str) -> None:
    with pg_journal(pg_schema) as j:
        execute(j, "DELETE FROM meta WHERE key = 'schema'")
    with pytest.raises(JournalCorruptError, match="version is missing"):
        pg_journal(pg_schema).open()


def test_workers_opening_a_fresh_database_together_create_it_once(pg_schema: str) -> None:
    errors: list[BaseException] = []
    journals = [pg_journal(pg_schema) for _ in range(4)]
    barrier = threading.Barrier(len(journals))

    def opener(j: PostgresJournal) -> None:
        try:
            barrier.wait()
            j.open()
            j.update_machine(f"i-{j.worker_id}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener, args=(j,)) for j in journals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert len(journals[0].machines()) == 4
        with admin() as conn:
            (count,) = conn.execute(
                f"SELECT count(*) FROM \"{pg_schema}\".meta WHERE key = 'schema'"
            ).fetchone()
        assert count == 1
    finally:
        for j in journals:
            j.close()


# -- roles and least privilege (the GRANTs of docs/team.md, run as written) ----------------


def _docs_grants() -> str:
    text = (ROOT / "docs" / "team.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    grants = [b for b in blocks if "ALTER DEFAULT PRIVILEGES" in b]
    assert len(grants) == 1, "docs/team.md has one GRANT block"
    return grants[0]


@pytest.fixture
def team_database() -> Iterator[dict[str, str]]:
    """A database of its own with the roles and GRANTs of docs/team.md: role -> URL."""
    tag = "t" + uuid.uuid4().hex[:10]
    db = f"{tag}_db"
    sql = re.sub(r"\bec2asr_(owner|worker|reader)\b", rf"{tag}_\1", _docs_grants())
    sql = sql.replace("migrations", db)
    with admin() as conn:
        conn.execute(f"CREATE DATABASE {db}")
    base = PG_URL.rsplit("/", 1)[0]
    try:
        with psycopg.connect(f"{base}/{db}", autocommit=True) as conn:
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)
        yield {
            role: f"{base.replace('postgres@', f'{tag}_{role}@')}/{db}"
            for role in ("owner", "worker", "reader")
        }
    finally:
        with admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            for role in ("owner", "worker", "reader"):
                conn.execute(f"DROP ROLE IF EXISTS {tag}_{role}")


def test_the_documented_grants_are_enough_and_no_more(team_database: dict[str, str]) -> None:
    urls = team_database
    # A worker cannot create the journal: a clear error says who can.
    with pytest.raises(JournalSchemaError, match="open it once as the schema's owner") as caught:
        PostgresJournal(urls["worker"]).open()
    assert "_worker" in str(caught.value)
    # The reader finds no journal yet, and creates nothing.
    with pytest.raises(JournalUnavailableError, match="no migration journal"):
        PostgresJournal(urls["reader"], read_only=True).open()
    # The owner creates it once.
    with PostgresJournal(urls["owner"]) as owner:
        assert owner.get_meta("schema") == "2"
    # The worker does everything a run does: records, steps, leases, events, claims, budget.
    with PostgresJournal(urls["worker"], claim_ttl=60) as worker:
        worker.register_worker()
        worker.update_machine("i-1", name="web")
        worker.update_machine("i-1", stage=Stage.REPLICATING)
        step = worker.begin_step("i-1", "enable-replication")
        worker.end_step(step.id, succeeded=True)
        worker.record_lease("l-1", "sg-1", {"port": 443}, holder="i-1")
        worker.set_lease_state("l-1", "active")
        worker.release_lease("l-1", "i-1")
        worker.append_event(kind="info", message="hello", instance_id="i-1")
        worker.set_meta("fabric", "f1")
        assert [r.instance_id for r in worker.claim(["i-1"])] == ["i-1"]
        assert worker.renew_claims() == frozenset()
        with worker.fleet_lock():
            pass
        assert worker.budget_store().take("sub/writes", 5, 1.0, 0.0) == 0.0
        worker.release_claims()
    # ... and nothing more: it may not delete or change the schema.
    with psycopg.connect(urls["worker"], autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM ec2asr.steps")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE ec2asr.events")
    # The reader reads (status from a laptop) and may not write even behind ec2asr's back.
    with PostgresJournal(urls["reader"], read_only=True) as reader:
        (record,) = reader.machines()
        assert record.stage is Stage.REPLICATING
        assert [e["message"] for e in reader.events()] == ["hello"]
        with pytest.raises(MigrationError, match="read-only"):
            reader.update_machine("i-1", stage=Stage.COMPLETED)
    with (
        psycopg.connect(urls["reader"], autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("UPDATE ec2asr.machines SET stage = 'completed'")


def test_a_journal_written_by_a_role_is_public_api() -> None:
    assert ec2asr.PostgresJournal is PostgresJournal
    assert issubclass(PostgresJournal, ec2asr.Journal)


def test_without_psycopg_the_database_journal_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ec2asr.migration import _journal_pg

    real = _journal_pg.importlib.util.find_spec
    monkeypatch.setattr(
        _journal_pg.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "psycopg" else real(name, *a),
    )
    with pytest.raises(JournalUnavailableError, match=r"pip install 'ec2asr\[postgres\]'"):
        ec2asr.Journal(PG_URL)


def test_ec2asr_and_its_sqlite_journal_need_no_psycopg(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['psycopg'] = None\n"  # any import of psycopg now fails
        "import ec2asr\n"
        "with ec2asr.Journal(sys.argv[1]) as j:\n"
        "    j.update_machine('i-1')\n"
        "print(type(j).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "m.sqlite")],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SqliteJournal"


def test_an_older_version_this_ec2asr_cannot_upgrade_is_refused(pg_schema: str) -> None:
    with pg_journal(pg_schema) as j:
        j.update_machine("i-1")
        execute(j, "UPDATE meta SET value = '1' WHERE key = 'schema'")
    with pytest.raises(
        JournalSchemaError, match=r"schema 1, .* cannot read or upgrade it"
    ) as caught:
        pg_journal(pg_schema).open()
    assert caught.value.found == "1"
    with pytest.raises(JournalSchemaError):
        pg_journal(pg_schema, read_only=True).open()
