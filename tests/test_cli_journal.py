"""The command line with a team's journal: ``journal``/``journal_schema`` in the config,
``--journal``/``--journal-schema`` on the command line, and the password never shown."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ec2asr.cli import main
from ec2asr.migration.stages import Stage
from tests._journals import PG_URL, pg_journal
from tests.test_cli_config import config, parse, refused

MARKER = "cli-pw-MARKER-51c0"


def test_a_database_journal_in_the_config() -> None:
    cfg = parse(
        config(
            journal="postgresql://ec2asr_worker@db.internal:5432/migrations", journal_schema="wave1"
        )
    )
    assert cfg.journal == "postgresql://ec2asr_worker@db.internal:5432/migrations"
    assert cfg.journal_schema == "wave1"
    assert cfg.name == "ec2asr"  # every worker of the team derives the same name
    assert parse(config()).journal_schema == "ec2asr"


def test_bad_journal_settings_name_their_key_and_never_the_password() -> None:
    refused(config(journal="postgresql://u@h/db", journal_schema="Wave 1"), "journal_schema:")
    refused(config(journal_schema="wave1"), "journal_schema: applies only to a postgresql://")
    text = refused(config(journal=f"postgresql://u:{MARKER}@h/db?bogus=1"), "journal:")
    assert MARKER not in text
    text = refused(config(journal=f"postgresql://u:{MARKER}@h/db"), "carries a password")
    assert "PGPASSWORD" in text
    assert MARKER not in text


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_status_of_a_team_journal_from_another_host(
    pg_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pg_journal(pg_schema) as journal:
        journal.update_machine("i-0123456789abcdef0", name="web-01", stage=Stage.REPLICATING)
        journal.append_event(kind="info", message="replicating", instance_id="i-0123456789abcdef0")
    url = PG_URL.replace("postgres@", f"postgres:{MARKER}@")
    code = main(["status", "--journal", url, "--journal-schema", pg_schema, "--events", "5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "1 machines: 0 completed, 1 in progress" in out
    assert "replicating" in out
    assert MARKER not in out + err


def test_status_errors_never_show_the_password(
    pg_schema: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = PG_URL.replace("postgres@", f"postgres:{MARKER}@")
    assert main(["status", "--journal", url, "--journal-schema", pg_schema]) == 2  # usage
    out, err = capsys.readouterr()
    assert "error: there is no migration journal at postgresql://postgres:***@" in err
    assert MARKER not in out + err
    down = f"postgresql://postgres:{MARKER}@127.0.0.1:{_closed_port()}/test"
    assert main(["-v", "-v", "status", "--journal", down]) == 7  # an ec2asr error
    out, err = capsys.readouterr()
    assert "error: cannot connect to the journal database" in err
    assert MARKER not in out + err
    assert main(["status", "--journal", url, "--journal-schema", "No Way"]) == 2
    assert "schema must be" in capsys.readouterr().err
