from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from ec2asr._cli_exit import MEANINGS, ExitCode, for_report
from ec2asr.cli import main
from ec2asr.migration.report import MachineReport, MigrationReport
from ec2asr.migration.stages import MachineStatus, Stage


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


# -- every error is one line with a documented exit status ------------------------------------


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import ec2asr

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"ec2asr {ec2asr.__version__}"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["migrate"], "the following arguments are required: --config"),
        (["teleport"], "invalid choice: 'teleport'"),
        (["migrate", "--config", "x.json", "--until", "done"], "argument --until"),
        (["status", "--config", "a.json", "--journal", "b.sqlite"], "not allowed with"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    line = one_error_line(capsys.readouterr().err)
    assert fragment in line
    assert line.endswith("(see --help)")


def test_discover_without_a_region_is_one_error_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("", encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("HOME", "USERPROFILE")
    }
    env.update(
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "ec2asr", "discover"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2
    assert "no AWS region: pass --region" in one_error_line(proc.stderr)
    assert proc.stdout == ""


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_the_sandbox_commands_without_moto_say_what_to_install(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)  # `import moto` fails as if not installed
    assert main([command]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"`{command}` needs the rehearsal sandbox" in line
    assert "pip install 'ec2asr[sandbox]'" in line


def test_an_unexpected_error_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ec2asr import cli

    def broken(args: Any) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "cmd_discover", broken)
    assert main(["discover", "--region", "eu-west-1"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "unexpected ZeroDivisionError: division by zero" in line
    assert "-vv" in line


def test_an_sdk_error_about_the_environment_is_one_line_and_exit_7(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import NoCredentialsError

    from ec2asr import cli

    def no_credentials(args: Any) -> int:
        raise NoCredentialsError()

    monkeypatch.setattr(cli, "cmd_discover", no_credentials)
    assert main(["discover", "--region", "eu-west-1"]) == 7
    assert "NoCredentialsError: Unable to locate credentials" in one_error_line(
        capsys.readouterr().err
    )


def test_log_records_speak_the_command_line() -> None:
    from ec2asr.cli import _CliFormatter

    record = logging.LogRecord(
        "ec2asr",
        logging.WARNING,
        __file__,
        1,
        "%s",
        ("i-1: run again with confirm_cutover=True",),
        None,
    )
    text = _CliFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert text == "WARNING ec2asr: i-1: run again with --confirm-cutover"


# -- exit statuses -----------------------------------------------------------------------------


def _machine(iid: str, stage: Stage, status: MachineStatus, **kw: Any) -> MachineReport:
    return MachineReport(instance_id=iid, name=None, stage=stage, status=status, **kw)


READY = _machine(
    "i-r",
    Stage.TEST_CLEANED_UP,
    MachineStatus.WAITING,
    waiting="ready for cutover: run again with confirm_cutover=True to stop the source",
)
DONE = _machine("i-d", Stage.COMPLETED, MachineStatus.DONE)
BLOCKED = _machine("i-b", Stage.PLANNED, MachineStatus.BLOCKED)
FAILED = _machine("i-f", Stage.REPLICATING, MachineStatus.FAILED, error="AsrJobError: x")
PERSON = _machine("i-p", Stage.PREPARED, MachineStatus.WAITING, waiting="add it on the appliance")
MOVING = _machine("i-m", Stage.REPLICATING, MachineStatus.IN_PROGRESS)


@pytest.mark.parametrize(
    ("machines", "unfinished", "expected"),
    [
        ((DONE, READY), (), ExitCode.OK),
        ((DONE, BLOCKED), (), ExitCode.BLOCKED),
        ((DONE, BLOCKED, FAILED), (), ExitCode.FAILED),
        ((DONE, BLOCKED, PERSON), (), ExitCode.WAITING),
        ((DONE, BLOCKED, MOVING), (MOVING,), ExitCode.UNFINISHED),
        ((PERSON, MOVING, FAILED), (MOVING,), ExitCode.FAILED),
        ((PERSON, MOVING), (MOVING,), ExitCode.WAITING),
        ((READY, BLOCKED), (), ExitCode.BLOCKED),
    ],
)
def test_exit_status_of_a_report(
    machines: tuple[MachineReport, ...],
    unfinished: tuple[MachineReport, ...],
    expected: ExitCode,
) -> None:
    assert for_report(MigrationReport(machines), unfinished=unfinished) is expected


def test_the_exit_status_table_in_the_docs_is_the_codes() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text("utf-8")
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (.+) \|$", text, flags=re.MULTILINE)
    assert [(int(code), name, meaning) for code, name, meaning in rows] == [
        (code.value, code.name, MEANINGS[code]) for code in ExitCode
    ]
