from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ec2asr._secret import Secret
from ec2asr.errors import InvalidInputError, JournalLockedError, MigrationError
from ec2asr.migration.journal import Journal, StepState
from ec2asr.migration.stages import MachineStatus, Stage


@pytest.fixture
def journal(tmp_path: Path):
    with Journal(tmp_path / "m.sqlite") as j:
        yield j


def test_constructor_does_no_io(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "m.sqlite"
    j = Journal(path)
    assert not path.exists()
    assert not path.parent.exists()
    assert "closed" in repr(j)


def test_open_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with Journal(path):
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()


def test_machine_records_merge_data_and_persist(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with Journal(path) as j:
        rec = j.update_machine("i-1", name="web-01", data={"a": 1})
        assert rec.stage is Stage.PLANNED
        assert rec.status is MachineStatus.PENDING
        j.update_machine("i-1", stage=Stage.REPLICATING, data={"b": 2})
    with Journal(path) as j:
        rec = j.machine("i-1")
        assert rec is not None
        assert rec.name == "web-01"
        assert rec.stage is Stage.REPLICATING
        assert dict(rec.data) == {"a": 1, "b": 2}
        assert j.machine("i-unknown") is None


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


def test_unknown_step_is_an_error(journal: Journal) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        journal.end_step(999, succeeded=True)


def test_secrets_are_refused_everywhere(journal: Journal) -> None:
    secret = Secret("hunter2", label="run-as password")
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
    assert "hunter2" not in journal.path.read_bytes().decode("latin-1")


def test_leases_lifecycle(journal: Journal) -> None:
    spec = {"direction": "ingress", "protocol": "tcp", "from": 22, "to": 22, "cidr": "10.0.0.5/32"}
    lease = journal.record_lease("sg-1/in/tcp/22-22/10.0.0.5/32", "sg-1", spec, holder="i-1")
    assert lease.state == "requested"
    journal.record_lease(lease.lease_id, "sg-1", spec, holder="i-2")
    journal.record_lease(lease.lease_id, "sg-1", spec, holder="i-2")
    lease = journal.set_lease_state(lease.lease_id, "active")
    assert lease.holders == ("i-1", "i-2")
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


def test_events_and_meta(journal: Journal) -> None:
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    journal.append_event(
        kind="stage", message="enabled", instance_id="i-1", stage="replicating", at=at
    )
    journal.append_event(kind="stage", message="other", instance_id="i-2")
    assert [e["message"] for e in journal.events("i-1")] == ["enabled"]
    assert journal.events("i-1")[0]["at"] == at.isoformat()
    assert len(journal.events()) == 2
    journal.set_meta("migration", "demo")
    journal.set_meta("migration", "demo2")
    assert journal.get_meta("migration") == "demo2"
    assert journal.get_meta("absent") is None


def test_closed_journal_refuses_use(tmp_path: Path) -> None:
    j = Journal(tmp_path / "m.sqlite")
    with pytest.raises(MigrationError, match="not open"):
        j.machines()


def test_second_opener_in_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with Journal(path), pytest.raises(JournalLockedError, match=f"pid {os.getpid()}"):
        Journal(path).open()
    # Released on close: opening again works.
    with Journal(path) as again:
        assert again.is_open


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from ec2asr.migration.journal import Journal
    j = Journal(sys.argv[1]).open()
    j.update_machine("i-held", name="held")
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_other_process_is_refused_and_lock_dies_with_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(JournalLockedError, match=f"pid {proc.pid}"):
            Journal(path).open()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            j = Journal(path).open()
            break
        except JournalLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        rec = j.machine("i-held")
        assert rec is not None
        assert rec.name == "held"
    finally:
        j.close()


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(MigrationError, match="not a usable journal"):
        Journal(path).open()
    # The lock was released despite the failure.
    path.unlink()
    with Journal(path):
        pass


def test_schema_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with Journal(path) as j:
        j.set_meta("schema", "999")
    with pytest.raises(MigrationError, match="schema 999"):
        Journal(path).open()
