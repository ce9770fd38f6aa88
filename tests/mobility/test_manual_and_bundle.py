"""ManualInstall's decisions, custom executors, and ScriptBundle's files."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from ec2asr._secret import Secret
from ec2asr.errors import InvalidInputError, MobilityError
from ec2asr.mobility import (
    InstallContext,
    InstallExecutor,
    InstallJob,
    InstallResult,
    InstallState,
    ManualInstall,
    ScriptBundle,
)
from tests.factories import make_machine
from tests.mobility.fakes import SECRET_TEXT, Events, context, secret


class Recorder:
    """A user-written executor: remembers the jobs, answers INSTALLED."""

    def __init__(self, *, skip: Sequence[str] = ()) -> None:
        self.jobs: list[InstallJob] = []
        self.skip = set(skip)

    def run(self, jobs: Sequence[InstallJob], context: InstallContext) -> list[InstallResult]:
        self.jobs.extend(jobs)
        return [
            InstallResult(j.instance_id, InstallState.INSTALLED, "done")
            for j in jobs
            if j.instance_id not in self.skip
        ]


def test_a_custom_executor_is_an_install_executor() -> None:
    assert isinstance(Recorder(), InstallExecutor)
    with pytest.raises(InvalidInputError, match="run"):
        ManualInstall(object(), secret())  # type: ignore[arg-type]


def test_discovered_machines_are_skipped_and_unknown_os_fails() -> None:
    discovered = make_machine(distribution="windows", version="2019")
    todo = make_machine(distribution="ubuntu", version="20.04")
    unknown = make_machine(distribution=None)
    recorder = Recorder()
    results = ManualInstall(recorder, secret()).install(
        [discovered, todo, unknown], context(discovered_ips=frozenset({discovered.private_ip}))
    )
    assert [r.state for r in results] == [
        InstallState.INSTALLED,
        InstallState.INSTALLED,
        InstallState.FAILED,
    ]
    assert results[0].details["skipped"] == "already discovered by the appliance"
    assert [j.instance_id for j in recorder.jobs] == [todo.instance_id]
    assert recorder.jobs[0].document == "AWS-RunShellScript"
    assert recorder.jobs[0].agent_config.reveal() == SECRET_TEXT
    assert isinstance(results[2].error, MobilityError)
    assert "ec2asr:os" in results[2].message


def test_a_job_the_executor_forgot_fails() -> None:
    machines = [make_machine(), make_machine()]
    results = ManualInstall(Recorder(skip=[machines[1].instance_id]), secret()).install(
        machines, context()
    )
    assert results[1].state is InstallState.FAILED
    assert "no result" in results[1].message


def test_agent_config_forms(tmp_path: Path) -> None:
    path = tmp_path / "MobilityServiceConfig.json"
    installer = ManualInstall(Recorder(), path)  # not read yet: no I/O in the constructor
    with pytest.raises(InvalidInputError, match="cannot read"):
        installer.install([make_machine()], context())
    path.write_text("\ufeff" + SECRET_TEXT, encoding="utf-8")
    recorder = Recorder()
    ManualInstall(recorder, path).install([make_machine()], context())
    assert recorder.jobs[0].agent_config.reveal() == SECRET_TEXT
    recorder = Recorder()
    ManualInstall(recorder, SECRET_TEXT).install([make_machine()], context())
    assert isinstance(recorder.jobs[0].agent_config, Secret)
    with pytest.raises(InvalidInputError):
        ManualInstall(Recorder(), "  ")
    with pytest.raises(InvalidInputError):
        ManualInstall(Recorder(), 42)  # type: ignore[arg-type]
    assert SECRET_TEXT not in repr(ManualInstall(Recorder(), SECRET_TEXT))


# -- ScriptBundle ------------------------------------------------------------------------------


def bundle_run(tmp_path: Path, machines, **kw):
    events = Events()
    bundle = ScriptBundle(tmp_path / "bundle")
    installer = ManualInstall(bundle, secret(), **kw)
    return bundle, installer.install(machines, context(emit=events)), events


def test_bundle_writes_one_folder_per_machine_and_a_readme(tmp_path: Path) -> None:
    windows = make_machine(distribution="windows", version="2019", name="sql 01/prod")
    linux = make_machine(distribution="rhel", version="8.6", name="app-02")
    bundle, results, events = bundle_run(tmp_path, [windows, linux])
    assert [r.state for r in results] == [InstallState.ACTION_REQUIRED] * 2
    win_script = bundle.directory / f"{windows.instance_id}-sql-01-prod" / "install.ps1"
    linux_script = bundle.directory / f"{linux.instance_id}-app-02" / "install.sh"
    assert results[0].details["script"] == str(win_script)
    assert results[1].details["script"] == str(linux_script)
    assert win_script.read_bytes().count(b"\r\n") > 10  # Windows line endings
    assert b"\r\n" not in linux_script.read_bytes()
    if os.name == "posix":
        assert stat.S_IMODE(linux_script.stat().st_mode) == 0o700
    linux_text = linux_script.read_text()
    assert f"For app-02 ({linux.instance_id})." in linux_text
    assert 'cp "$HERE/MobilityServiceConfig.json" "$CFG"' in linux_text
    assert "./install -q -r MS -v VmWare -c CSPrime" in linux_text
    readme = (bundle.directory / "README.md").read_text()
    assert "asr-appliance-01 (10.0.0.10)" in readme
    assert f"| {linux.instance_id} | app-02 | {linux.private_ip} |" in readme
    assert "Mobility service configuration details" in readme
    assert "MobilityServiceConfig.json" in readme
    assert "E:\\Software\\Agents" in readme  # installer next to the script by default
    assert "sudo bash install.sh" in results[1].instructions
    assert "as root" in results[1].instructions
    assert "Administrator" in results[0].instructions
    assert any("written to" in m for m, _ in events.messages)


def test_bundle_never_contains_the_secret(tmp_path: Path) -> None:
    bundle, results, _ = bundle_run(
        tmp_path, [make_machine(distribution="windows", version="2019"), make_machine()]
    )
    for path in bundle.directory.rglob("*"):
        if path.is_file():
            content = path.read_text(encoding="utf-8")
            assert SECRET_TEXT not in content
            assert "0tp-8f3a9c1d" not in content
    assert SECRET_TEXT not in repr(results)


def test_bundle_with_an_installer_location_and_a_rerun(tmp_path: Path) -> None:
    machine = make_machine()
    bundle_run(tmp_path, [machine], installer_location="s3://asr-installers/agents")
    bundle, results, _ = bundle_run(tmp_path, [machine], installer_location="/mnt/asr")
    script = Path(results[0].details["script"]).read_text()
    assert "SOURCE_DIR='/mnt/asr'" in script
    assert "aws s3" not in script  # replaced, not appended
    readme = (bundle.directory / "README.md").read_text()
    assert "fetches the installer from /mnt/asr" in readme
    assert sorted(p.name for p in bundle.directory.iterdir()) == sorted(
        ["README.md", Path(results[0].details["script"]).parent.name]
    )


def test_bundle_directory_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    installer = ManualInstall(ScriptBundle(blocker / "bundle"), secret())
    with pytest.raises(MobilityError, match="cannot write the script bundle"):
        installer.install([make_machine()], context())


def test_installers_say_whether_they_need_inbound_paths() -> None:
    from ec2asr.mobility import PushInstall

    assert PushInstall("admin").requires_inbound is True
    assert ManualInstall(Recorder(), secret()).requires_inbound is False
