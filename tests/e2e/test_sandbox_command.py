"""``python -m ec2asr sandbox`` driven as a person would: it serves in one process, the commands
run from another against the config it wrote (no patching), then it stops cleanly."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.e2e

READY = "ec2asr sandbox ready:"


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


class Served:
    def __init__(
        self,
        proc: subprocess.Popen[str],
        config: Path,
        output: list[str],
        reader: threading.Thread,
        lines: queue.Queue[str],
    ) -> None:
        self.proc = proc
        self.config = config
        self.output = output
        self._reader = reader
        self._lines = lines
        self.data: dict[str, Any] = json.loads(config.read_text("utf-8"))

    def drain(self) -> str:
        """Everything it printed, once it exited."""
        self._reader.join(timeout=30)
        while not self._lines.empty():
            self.output.append(self._lines.get_nowait())
        return "".join(self.output)

    @property
    def ports(self) -> list[int]:
        urls = (self.data["aws"]["endpoint_url"], self.data["azure"]["base_url"])
        return [urlparse(u).port or 0 for u in urls]


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_"))}
    # A profile that does not exist and credentials that must not be used: the sandbox's
    # config is reached with its own dummy keys, whatever the environment says.
    env.update(
        AWS_PROFILE="no-such-profile-anywhere",
        AWS_ACCESS_KEY_ID="AKIAREALKEYNOTFORSANDBOX",
        AWS_SECRET_ACCESS_KEY="real-secret-not-for-the-sandbox",
        AWS_CONFIG_FILE=str(tmp_path / "absent-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "absent-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        HOME=str(tmp_path),
    )
    env.update(extra)
    return env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ec2asr",
            "sandbox",
            "--dir",
            str(tmp_path / "rehearsal"),
            "--speed",
            "7200",
            *("--profile", "win2016", "--profile", "rhel8", "--profile", "graviton"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_env(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    output: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, "".join(output)  # it died before it was ready
                continue
            output.append(line)
            if line.startswith(READY):
                break
        config = Path(line.removeprefix(READY).strip())
        yield Served(proc, config, output, reader, lines)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        while not lines.empty():
            output.append(lines.get_nowait())


def run(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command; an empty value in ``env`` removes that variable."""
    environment = {k: v for k, v in child_env(tmp_path, **env).items() if v != ""}
    return subprocess.run(
        [sys.executable, "-m", "ec2asr", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=tmp_path,
    )


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_rehearse_plan_migrate_status_rollback_report_from_a_second_shell(
    served: Served, tmp_path: Path
) -> None:
    config = str(served.config)
    data = served.data
    assert data["aws"]["endpoint_url"].startswith("http://127.0.0.1:")
    assert data["azure"]["base_url"].startswith("http://127.0.0.1:")
    assert (served.config.parent / data["installer"]["agent_config_file"]).is_file()
    banner = "".join(served.output)
    for port in served.ports:
        assert f"127.0.0.1:{port}" in banner  # the endpoints are printed
        assert listening(port)

    plan = run(tmp_path, "plan", "--config", config)
    assert plan.returncode == 4, plan.stderr  # the Graviton machine is blocked
    assert plan.stdout.count(": MIGRATES") == 2
    assert "ARCH_UNSUPPORTED" in plan.stdout

    first = run(tmp_path, "migrate", "--config", config)
    assert first.returncode == 4, first.stderr  # ready for cutover counts as done; 1 blocked
    assert "2 machine(s) are ready for cutover" in first.stderr
    assert "--confirm-cutover" in first.stderr
    assert "confirm_cutover=True" not in first.stdout + first.stderr
    assert "Traceback" not in first.stderr

    status = run(tmp_path, "status", "--config", config, "--json")
    assert status.returncode == 4
    machines = {m["name"]: m for m in json.loads(status.stdout)["machines"]}
    movers = [m for m in machines.values() if m["status"] != "blocked"]
    assert len(movers) == 2
    for m in movers:
        assert (m["stage"], m["status"]) == ("test-cleaned-up", "waiting")
        assert m["waiting"].startswith("ready for cutover: run again with --confirm-cutover")

    cut = run(
        tmp_path, "migrate", "--config", config, "--confirm-cutover", "--until", "failed-over"
    )
    assert cut.returncode == 4, cut.stderr
    status = json.loads(run(tmp_path, "status", "--config", config, "--json").stdout)
    failed_over = [m for m in status["machines"] if m["stage"] == "failed-over"]
    assert len(failed_over) == 2
    for m in failed_over:
        assert m["data_loss_window_seconds"] == 0  # drained, 'Latest': no write lost
        assert m["stop_requested_at"] is not None

    report = run(tmp_path, "report", "--config", config, "--html", "timeline.html")
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "timeline.html").read_text("utf-8")
    assert "data loss 0 s (no write lost)" in page
    assert page.count('class="cutover"') == 2

    back = run(tmp_path, "rollback", "--config", config, "--json")
    assert back.returncode == 4, back.stderr
    rolled = [m for m in json.loads(back.stdout)["machines"] if m["status"] == "rolled-back"]
    assert len(rolled) == 2

    # discover and assess take no config: the standard AWS_ENDPOINT_URL reaches the sandbox.
    moto = {"AWS_ENDPOINT_URL": data["aws"]["endpoint_url"], "AWS_PROFILE": ""}
    found = run(
        tmp_path, "discover", "--region", "us-east-1", "--tag", "MigrationWave=wave-1", **moto
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip().endswith("3 instances")
    assessed = run(
        tmp_path, "assess", "--region", "us-east-1", "--tag", "MigrationWave=wave-1", **moto
    )
    assert assessed.returncode == 4  # one NOT_READY machine
    assert assessed.stdout.count("3 machines: ") == 1  # the summary, once

    # Stopping: SIGINT (Ctrl-C) ends it cleanly, both servers are down.
    served.proc.send_signal(signal.SIGINT)
    assert served.proc.wait(timeout=30) == 0
    assert (
        served.drain()
        .rstrip()
        .endswith("sandbox stopped; its servers are down (the files it wrote stay)")
    )
    assert not any(listening(port) for port in served.ports)
    assert "Traceback" not in served.drain()


def test_sigterm_stops_the_sandbox_cleanly(served: Served) -> None:
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=30) == 0
    assert "sandbox stopped" in served.drain()
    assert not any(listening(port) for port in served.ports)
