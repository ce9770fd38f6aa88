"""``migrate``, ``status`` and ``abort`` with ``--journal postgresql://...``: the whole run on
a team's journal, with DEBUG logging, and the password nowhere (output, logs, journal rows)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ec2asr.testing import Sandbox
from tests._journals import PG_URL, pg_journal, stored_text
from tests.e2e.test_cli_migration import cli, sandbox, write_config  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

MARKER = "team-pw-MARKER-93ab"


def test_migrate_on_a_team_journal(
    sandbox: Sandbox,  # noqa: F811 - the fixture
    tmp_path: Path,
    pg_schema: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fleet = sandbox.seed_fleet(profiles=["win2016", "rhel8"])
    config = str(write_config(sandbox, tmp_path, manage_security_groups=True))
    url = PG_URL.replace("postgres@", f"postgres:{MARKER}@")
    team = ["--journal", url, "--journal-schema", pg_schema]
    outputs = []
    code, out, err = cli(
        capsys, "-v", "-v", "migrate", "--config", config, *team, "--confirm-cutover"
    )
    outputs += [out, err]
    assert code == 0, err
    assert "2 machines: 2 completed" in out
    assert not list(tmp_path.glob("*.sqlite"))  # the journal is the database, not a file
    code, out, err = cli(capsys, "status", *team, "--events", "3")
    outputs += [out, err]
    assert code == 0
    assert "2 completed" in out
    code, out, err = cli(capsys, "abort", "--config", config, *team)
    outputs += [out, err]
    assert code == 0
    assert "0 leased rule(s) revoked" in out  # released when each machine completed
    with pg_journal(pg_schema, read_only=True) as journal:
        assert {r.instance_id for r in journal.machines()} == set(fleet.instance_ids)
        assert journal.leases()  # rhel8's missing 9443 egress was leased, then revoked
        stored = stored_text(journal)
    for text in [*outputs, caplog.text, stored]:
        assert MARKER not in text
