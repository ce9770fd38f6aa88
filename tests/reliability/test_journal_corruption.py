"""A damaged journal (truncated, garbled, a table or its version gone) on either backend: a
typed error that says what is wrong and how to recover, raised before anything is written, and
never a second failover.

Three machines are migrated through their failover (uncommitted, the most dangerous moment to
lose the journal); each test damages a copy of that journal behind ec2asr's back, then runs
again to completion: the run refuses at once with :class:`~ec2asr.errors.JournalCorruptError`
and the emulator's audit of accepted writes does not grow.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ec2asr import Journal, JournalCorruptError, PostgresJournal, SqliteJournal
from ec2asr.migration.stages import Stage
from ec2asr.testing import Sandbox
from tests._journals import copy_schema, drop_schema, execute, new_schema_name, pg_journal
from tests.e2e._migration import fast_sandbox, make_migration, writes_by_item

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]


def _truncate(journal: Journal) -> None:
    assert journal.path is not None
    size = journal.path.stat().st_size
    with journal.path.open("r+b") as fh:
        fh.truncate(size // 2)


def _garble_pages(journal: Journal) -> None:
    assert journal.path is not None
    with journal.path.open("r+b") as fh:
        for page in range(1, 4):
            fh.seek(page * 4096)
            fh.write(b"\x5a" * 256)


def _empty(journal: Journal) -> None:
    assert journal.path is not None
    journal.path.write_bytes(b"")


def _garble_row(journal: Journal) -> None:
    execute(
        journal, "UPDATE machines SET stage = %s WHERE stage = %s", ("f@iled-ov3r", "failed-over")
    )


def _drop_steps(journal: Journal) -> None:
    execute(journal, "DROP TABLE steps")


def _lose_version(journal: Journal) -> None:
    execute(journal, "DELETE FROM meta WHERE key = 'schema'")


SQLITE_DAMAGE: dict[str, Callable[[Journal], None]] = {
    "truncated": _truncate,
    "garbled-pages": _garble_pages,
    "emptied": _empty,
    "garbled-row": _garble_row,
    "table-dropped": _drop_steps,
    "version-lost": _lose_version,
}
PG_DAMAGE: dict[str, Callable[[Journal], None]] = {
    "garbled-row": _garble_row,
    "table-dropped": _drop_steps,
    "version-lost": _lose_version,
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with fast_sandbox() as started:
        yield started


def _failed_over(sandbox: Sandbox, journal: Journal) -> list[str]:
    fleet = sandbox.seed_fleet(n=3, profiles=["win2016", "rhel67"])
    with make_migration(sandbox, journal) as migration:
        machines = migration.ec2.discover(instance_ids=fleet.instance_ids)
        plan = migration.plan(machines)
        report = migration.run(plan, until=Stage.FAILED_OVER, confirm_cutover=True)
    assert {m.stage for m in report} == {Stage.FAILED_OVER}
    return list(fleet.instance_ids)


@pytest.fixture(scope="module")
def sqlite_golden(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str]]:
    """A SQLite journal of three machines failed over (closed: its WAL is in the file)."""
    path = tmp_path_factory.mktemp("golden") / "migration.sqlite"
    return path, _failed_over(sandbox, SqliteJournal(path))


@pytest.fixture(scope="module")
def pg_golden(sandbox: Sandbox) -> Iterator[tuple[str, list[str]]]:
    """A PostgreSQL journal (its schema) of three machines failed over."""
    schema = new_schema_name()
    try:
        yield schema, _failed_over(sandbox, pg_journal(schema))
    finally:
        drop_schema(schema)


def _rerun_refuses(sandbox: Sandbox, journal: Journal, ids: list[str]) -> JournalCorruptError:
    writes = len(sandbox.emulator.writes)
    failovers = len(sandbox.emulator.failovers)
    migration = make_migration(sandbox, journal)
    machines = migration.ec2.discover(instance_ids=ids)

    def rerun() -> None:
        with migration:
            plan = migration.plan(machines)
            migration.run(plan, confirm_cutover=True)

    with pytest.raises(JournalCorruptError) as caught:
        rerun()
    assert len(sandbox.emulator.writes) == writes  # nothing at all was written to Azure
    assert len(sandbox.emulator.failovers) == failovers
    for iid in ids:
        ops = writes_by_item(sandbox)[iid]
        assert ops.count("unplannedFailover") == 1, (iid, ops)
        assert "failoverCommit" not in ops
    error = caught.value
    text = str(error)
    assert "damaged" in text or "not a usable journal" in text
    assert "restore" in text.lower()
    assert error.location is not None
    assert error.location in text
    # The status a person runs next says the same, without the lock.
    with pytest.raises(JournalCorruptError), journal.reader() as reader:
        reader.machines()
    return error


@pytest.mark.parametrize("damage", list(SQLITE_DAMAGE))
def test_sqlite_journal(
    sandbox: Sandbox, sqlite_golden: tuple[Path, list[str]], tmp_path: Path, damage: str
) -> None:
    golden, ids = sqlite_golden
    path = tmp_path / "migration.sqlite"
    shutil.copyfile(golden, path)
    SQLITE_DAMAGE[damage](SqliteJournal(path))
    error = _rerun_refuses(sandbox, SqliteJournal(path), ids)
    assert str(path) in str(error)


@pytest.mark.parametrize("damage", list(PG_DAMAGE))
def test_postgres_journal(
    sandbox: Sandbox, pg_golden: tuple[str, list[str]], pg_schema: str, damage: str
) -> None:
    golden, ids = pg_golden
    copy_schema(golden, pg_schema)
    PG_DAMAGE[damage](pg_journal(pg_schema))
    journal = pg_journal(pg_schema)
    assert isinstance(journal, PostgresJournal)
    error = _rerun_refuses(sandbox, journal, ids)
    assert pg_schema in str(error)
