from __future__ import annotations

import io
import re
import subprocess
import sys
from contextlib import redirect_stdout

import pytest

from ec2asr.cli import main


def test_demo_runs_in_process_and_reports_every_machine() -> None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["demo"]) == 0
    out = buf.getvalue()
    summary = re.search(
        r"(\d+) machines: (\d+) ready, (\d+) ready with warnings, (\d+) not ready", out
    )
    assert summary is not None
    total, ready, warn, blocked = map(int, summary.groups())
    assert total == ready + warn + blocked == 18
    assert blocked > 0
    assert ready > 0
    assert "AMAZON_LINUX_UNSUPPORTED" in out
    assert "WIN2008_REDHAT_PV_DRIVERS" in out
    # The whole migration ran: every machine that could move completed, none lost data.
    done = re.search(
        r"18 machines: (\d+) completed, (\d+) in progress, 0 failed, (\d+) blocked", out
    )
    assert done is not None, out
    assert int(done.group(1)) == ready + warn - 1
    assert int(done.group(3)) == blocked + 1  # the stopped instance must be started first
    assert "(no write lost): yes" in out


@pytest.mark.e2e
def test_python_dash_m_ec2asr_demo_push_exits_zero() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ec2asr", "demo", "--push"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ec2asr asks for the appliance-side step" in proc.stdout
    assert "18 machines: 12 completed, 0 in progress, 0 failed, 6 blocked" in proc.stdout
    assert "14 leased, 14 revoked" in proc.stdout


def test_bad_tag_selector_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "--region", "us-east-1", "--tag", "no-equals-sign"]) == 2
    assert "--tag takes KEY=VALUE" in capsys.readouterr().err


def test_unknown_command_is_refused() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["teleport"])
    assert exc.value.code == 2
