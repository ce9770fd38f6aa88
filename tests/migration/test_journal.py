"""The journal's records and semantics, on both backends (SQLite file, PostgreSQL schema).

Backend-specific behaviour (the SQLite file lock, PostgreSQL claims) is tested in
``test_journal_sqlite.py`` and ``test_journal_postgres.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from ec2asr import Journal, PostgresJournal, SqliteJournal
from ec2asr._secret import Secret
from ec2asr.errors import (
    InvalidInputError,
    JournalCorruptError,
    JournalSchemaError,
    MigrationError,
)
from ec2asr.migration.journal import StepState
from ec2asr.migration.stages import MachineStatus, Stage
from tests._journals import MakeJournal, execute, stored_text


@pytest.fixture
def journal(make_journal: MakeJournal) -> Iterator[Journal]:
    with make_journal() as j:
        yield j


def test_journal_picks_its_backend_from_the_location(tmp_path) -> None:
    assert type(Journal(tmp_path / "m.sqlite")) is SqliteJournal
    assert type(Journal(str(tmp_path / "m.sqlite"))) is SqliteJournal
    pg = Journal("postgresql://someone@127.0.0.1:5432/test")
    assert type(pg) is PostgresJournal
    assert isinstance(pg, Journal)
    assert type(Journal("postgres://someone@127.0.0.1/test")) is PostgresJournal
    with pytest.raises(InvalidInputError, match="file path or a postgresql"):
        Journal("")
    with pytest.raises(InvalidInputError, match="file path or a postgresql"):
        Journal(None)  # type: ignore[arg-type]


def test_constructor_does_no_io(make_journal: MakeJournal) -> None:
    j = make_journal()
    assert "closed" in repr(j)
    assert not j.exists()
    assert not j.is_open


def test_machine_records_merge_data_and_persist(make_journal: MakeJournal) -> None:
    with make_journal() as j:
        rec = j.update_machine("i-1", name="web-01", data={"a": 1})
        assert rec.stage is Stage.PLANNED
        assert rec.status is MachineStatus.PENDING
        j.update_machine("i-1", stage=Stage.REPLICATING, data={"b": 2})
        j.update_machine("i-0", name="second")
    with make_journal() as j:
        rec = j.machine("i-1")
        assert rec is not None
        assert rec.name == "web-01"
        assert rec.stage is Stage.REPLICATING
        assert dict(rec.data) == {"a": 1, "b": 2}
        assert j.machine("i-unknown") is None
        # In the order they were first recorded, not by id.
        assert [r.instance_id for r in j.machines()] == ["i-1", "i-0"]


def test_times_come_from_the_clock(make_journal: MakeJournal) -> None:
    at = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)
    with make_journal(clock=lambda: at) as j:
        rec = j.update_machine("i-1")
        step = j.begin_step("i-1", "x")
    assert rec.created_at == at
    assert rec.updated_at == at
    assert step.started_at == at


def test_errors_are_recorded_and_cleared(journal: Journal) -> None:
    journal.update_machine("i-1", status=MachineStatus.FAILED, error=MigrationError("boom"))
    rec = journal.machine("i-1")
    assert rec is not None
    assert (rec.error_type, rec.error_message) == ("MigrationError", "boom")
    rec = journal.update_machine("i-1", status=MachineStatus.PENDING, clear_error=True)
    assert rec.error_type is None
    assert rec.error_message is None


def test_write_ahead_steps(journal: Journal) -> None:
    step = journal.begin_step("i-1", "enable-replication", detail={"attempt": 1})
    assert step.state == StepState.STARTED
    assert [s.id for s in journal.open_steps("i-1")] == [step.id]
    step = journal.step_accepted(
        step.id, job_name="job-1", polling_url="http://x/op/1", continuation_token="tok"
    )
    assert step.state == StepState.ACCEPTED
    assert step.is_open
    step = journal.end_step(step.id, succeeded=True, detail={"done": True})
    assert step.state == StepState.SUCCEEDED
    assert step.job_name == "job-1"
    assert step.continuation_token == "tok"
    assert dict(step.detail) == {"attempt": 1, "done": True}
    assert step.ended_at is not None
    assert journal.open_steps() == []
    failed = journal.begin_step("i-2", "unplanned-failover")
    journal.end_step(failed.id, succeeded=False, error="ASR error 1234")
    last = journal.last_step("i-2", "unplanned-failover")
    assert last is not None
    assert last.state == StepState.FAILED
    assert last.error == "ASR error 1234"
    abandoned = journal.end_step(journal.begin_step("i-3", "x").id, succeeded=False, abandoned=True)
    assert abandoned.state == StepState.ABANDONED
    assert [s.subject for s in journal.steps()] == ["i-1", "i-2", "i-3"]
    assert [s.step for s in journal.steps("i-2", step="unplanned-failover")] == [
        "unplanned-failover"
    ]


def test_unknown_step_is_an_error(journal: Journal) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        journal.end_step(999, succeeded=True)


def test_secrets_are_refused_everywhere(journal: Journal) -> None:
    secret = Secret("hunter2-journal-marker", label="run-as password")
    with pytest.raises(InvalidInputError):
        journal.update_machine("i-1", data={"password": secret})
    with pytest.raises(InvalidInputError):
        journal.begin_step("i-1", "x", detail={"nested": {"cfg": secret}})
    with pytest.raises(InvalidInputError):
        journal.set_meta("k", secret)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        journal.append_event(kind="k", message="m", data={"s": secret})
    with pytest.raises(InvalidInputError):
        journal.record_lease("l", "sg-1", {"s": secret}, holder="i-1")
    # Nothing was written by the refused calls.
    assert journal.machine("i-1") is None
    assert journal.steps() == []
    assert journal.leases() == []
    assert journal.events() == []
    assert "hunter2-journal-marker" not in stored_text(journal)


def test_leases_lifecycle(journal: Journal) -> None:
    spec = {"direction": "ingress", "protocol": "tcp", "from": 22, "to": 22, "cidr": "10.0.0.5/32"}
    lease = journal.record_lease("sg-1/in/tcp/22-22/10.0.0.5/32", "sg-1", spec, holder="i-1")
    assert lease.state == "requested"
    journal.record_lease(lease.lease_id, "sg-1", spec, holder="i-2")
    journal.record_lease(lease.lease_id, "sg-1", spec, holder="i-2")
    lease = journal.set_lease_state(lease.lease_id, "active")
    assert lease.holders == ("i-1", "i-2")
    assert dict(lease.spec) == spec
    assert journal.leases(state="active", holder="i-2") == [lease]
    lease = journal.release_lease(lease.lease_id, "i-1")
    assert lease.holders == ("i-2",)
    lease = journal.set_lease_state(lease.lease_id, "revoked")
    assert journal.leases(state="active") == []
    # Needed again after revocation: back to requested.
    again = journal.record_lease(lease.lease_id, "sg-1", spec, holder="i-3")
    assert again.state == "requested"
    with pytest.raises(InvalidInputError):
        journal.set_lease_state(lease.lease_id, "gone")
    with pytest.raises(MigrationError):
        journal.set_lease_state("nope", "active")
    with pytest.raises(MigrationError):
        journal.release_lease("nope", "i-1")


def test_events_and_meta(journal: Journal) -> None:
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    journal.append_event(
        kind="stage", message="enabled", instance_id="i-1", stage="replicating", at=at
    )
    journal.append_event(kind="stage", message="other", instance_id="i-2", data={"n": 1})
    assert [e["message"] for e in journal.events("i-1")] == ["enabled"]
    assert journal.events("i-1")[0]["at"] == at.isoformat()
    assert datetime.fromisoformat(journal.events("i-2")[0]["at"]) > at + timedelta(days=1)
    assert journal.events("i-2")[0]["data"] == {"n": 1}
    assert len(journal.events()) == 2
    journal.set_meta("migration", "demo")
    journal.set_meta("migration", "demo2")
    assert journal.get_meta("migration") == "demo2"
    assert journal.get_meta("absent") is None


def test_closed_journal_refuses_use(make_journal: MakeJournal) -> None:
    j = make_journal()
    with pytest.raises(MigrationError, match="not open"):
        j.machines()
    with j:
        j.update_machine("i-1")
    with pytest.raises(MigrationError, match="not open"):
        j.update_machine("i-1")


def test_open_is_idempotent_and_close_too(make_journal: MakeJournal) -> None:
    j = make_journal()
    assert j.open() is j
    assert j.open() is j
    assert j.is_open
    j.close()
    j.close()
    assert not j.is_open


def test_schema_version_of_another_ec2asr_is_refused(make_journal: MakeJournal) -> None:
    with make_journal() as j:
        j.update_machine("i-1")
        j.set_meta("schema", "999")
    with pytest.raises(JournalSchemaError, match="schema 999") as caught:
        make_journal().open()
    assert "newer ec2asr" in str(caught.value)
    assert caught.value.found == "999"
    assert caught.value.expected == "2"
    with pytest.raises(JournalSchemaError, match="schema 999"):
        make_journal(read_only=True).open()


def test_a_garbled_row_is_a_corrupt_journal_error(make_journal: MakeJournal) -> None:
    with make_journal() as j:
        j.update_machine("i-1", stage=Stage.REPLICATING)
        j.update_machine("i-2")
        execute(j, "UPDATE machines SET stage = %s WHERE instance_id = %s", ("bogus", "i-1"))
        with pytest.raises(JournalCorruptError, match="machines row 'i-1'") as caught:
            j.machines()
        assert "restore the journal" in str(caught.value).lower()
        assert caught.value.location == j.location
        # A write that merges into a damaged row refuses too, and changes nothing.
        execute(j, "UPDATE machines SET data = %s WHERE instance_id = %s", ("[1, 2]", "i-2"))
        with pytest.raises(JournalCorruptError, match="machines row 'i-2'"):
            j.update_machine("i-2", stage=Stage.COMPLETED, data={"x": 1})
        with pytest.raises(JournalCorruptError, match="machines row 'i-2'"):
            j.machine("i-2")
        execute(j, "UPDATE machines SET data = %s WHERE instance_id = %s", ("{}", "i-2"))
        record = j.machine("i-2")
        assert record is not None
        assert record.stage is Stage.PLANNED


def test_reader_sees_the_writer(make_journal: MakeJournal) -> None:
    with make_journal() as writer:
        writer.update_machine("i-1", stage=Stage.PROTECTED)
        with writer.reader() as reader:
            assert reader.read_only
            (record,) = reader.machines()
            assert record.stage is Stage.PROTECTED
    assert make_journal().exists()


def test_records_read_in_batches_are_every_record_in_the_order_machines_gives(
    journal: Journal,
) -> None:
    # 1,203 machines over 3 batches of 500 (the last one short), each with its own data.
    for n in range(1203):
        journal.update_machine(
            f"i-{n:017x}",
            name=f"web-{n}",
            stage=Stage.PROTECTED if n % 3 else Stage.DISCOVERED,
            data={"n": n, "target": {"vm_name": f"vm-{n}"}},
        )
    journal.update_machine("i-00000000000000005", status=MachineStatus.FAILED)  # order kept
    whole = journal.machines()
    batched = list(journal._machines_in_batches(500))
    assert [r.instance_id for r in batched] == [r.instance_id for r in whole]
    assert batched == whole
    assert [r.data["n"] for r in batched] == list(range(1203))
    assert batched[5].status is MachineStatus.FAILED
    assert list(journal._machines_in_batches(7))[-3:] == whole[-3:]


def test_records_share_one_copy_of_each_data_key(journal: Journal) -> None:
    # A large wave holds every machine's record: the keys are not copied per record.
    for iid in ("i-0000000000000000a", "i-0000000000000000b"):
        journal.update_machine(iid, data={"stage_times": {"protected": "t"}, "target": {}})
    first, second = journal.machines()
    assert first.data == second.data
    key_a = next(k for k in first.data if k == "stage_times")
    key_b = next(k for k in second.data if k == "stage_times")
    assert key_a is key_b
    nested_a = next(iter(first.data["stage_times"]))
    nested_b = next(iter(second.data["stage_times"]))
    assert nested_a is nested_b
