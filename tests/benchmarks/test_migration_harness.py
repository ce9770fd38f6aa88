"""The migration benchmark (``benchmarks/migration.py``) end to end, on a tiny fleet, so that the
harness cannot rot: every column is reported, with sane values, for ec2asr and the naive loop,
each migrating in a child process. The figures themselves are the benchmark's business."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ec2asr.testing import Timings

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from _critical_path import critical_path  # noqa: E402

N = 3
STAGES = [
    "enable",
    "initial replication",
    "test failover",
    "cleanup",
    "drain after stop",
    "failover",
    "commit",
    "complete",
]
FIGURES = {
    "machines",
    "completed",
    "reads",
    "writes",
    "throttled",
    "by_operation",
    "simulated",
    "wall",
    "cpu",
    "process_cpu",
    "peak_rss",
    "journal_bytes",
    "sweeps",
    "aws_calls",
    "reads_per_machine",
    "writes_per_machine",
    "cpu_ms_per_machine",
    "simulated_hours",
}
COLUMNS = [
    "approach",
    "completed",
    "simulated",
    "critical path",
    "ratio",
    "ARM reads/machine",
    "ARM writes/machine",
    "429s",
    "client CPU",
    "CPU/machine",
    "peak RSS",
    "journal",
    "sweeps",
    "AWS calls",
    "wall",
]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / "migration.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(ROOT),
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "out.json"
    done = _bench("--machines", str(N), "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.e2e
@pytest.mark.slow
def test_every_figure_for_both_approaches(run: tuple[dict[str, Any], str]) -> None:
    data, _ = run
    (result,) = data["runs"]
    assert result["machines"] == N
    path = result["critical_path"]
    assert [s["stage"] for s in path["stages"]] == STAGES
    assert 0 < path["floor_seconds"] <= path["path_seconds"] <= path["seconds"]
    for label in ("ec2asr", "naive"):
        figures = result[label]
        assert set(figures) >= FIGURES, label
        assert figures["completed"] == figures["machines"] == N, label
        # Nobody beats the critical path without polling; nobody here needs 3x it.
        assert path["floor_seconds"] <= figures["simulated"] <= 3 * path["seconds"], label
        assert 6 * N <= figures["writes"] <= 6 * N + 10, label
        assert figures["reads"] > 0, label
        assert sum(figures["throttled"].values()) == 0, label
        assert sum(figures["by_operation"].values()) == figures["reads"] + figures["writes"]
        assert 0 < figures["cpu"] <= figures["process_cpu"], label
        # The migrating process alone: the SDKs loaded, not the sandbox's moto and emulator.
        assert 30e6 < figures["peak_rss"] < 1e9, label
        assert figures["aws_calls"] >= N, label  # each source is stopped and tagged
    assert result["ec2asr"]["journal_bytes"] > 0
    assert result["ec2asr"]["sweeps"] > 0
    assert result["naive"]["journal_bytes"] is None
    names = {t["name"] for t in result["targets"]}
    assert {"completed", "throttled answers (429)", "simulated / critical path"} <= names
    assert all(isinstance(t["met"], bool) for t in result["targets"])


@pytest.mark.e2e
@pytest.mark.slow
def test_the_report_prints_every_column_the_critical_path_and_the_targets(
    run: tuple[dict[str, Any], str],
) -> None:
    _, stdout = run
    assert "| " + " | ".join(COLUMNS) + " |" in stdout
    assert f"critical path for N = {N}" in stdout
    for stage in STAGES:
        assert stage in stdout
    assert "| ec2asr | 3/3 |" in stdout
    assert "| naive | 3/3 |" in stdout
    assert "[PASS] completed: 3/3" in stdout
    assert "ARM write budget" in stdout


def test_the_critical_path_formula() -> None:
    timings = Timings(bandwidth_mbps=2000)
    small = critical_path(timings, {"i-a": 280, "i-b": 60}, interval=30)
    assert small.slowest == "i-a"
    by_stage = {name: (seconds, polled) for name, seconds, polled in small.stages}
    assert by_stage["initial replication"][0] == pytest.approx(280 * 2**30 * 8 / 2e9)
    assert by_stage["initial replication"][1] == 1230
    assert by_stage["drain after stop"] == (pytest.approx(120.12), 150)
    assert small.path == 240 + 1230 + 480 + 180 + 150 + 600 + 120 + 120
    assert small.binding == "one machine's path"
    assert small.seconds == small.path
    # 10,000 machines with small disks: ARM's write budget binds (60,002 writes, 200 burst,
    # 10 per s, then the last stage).
    big = critical_path(timings, {f"i-{k}": 60 for k in range(10_000)}, interval=30)
    assert big.write_bound == pytest.approx((60_002 - 200) / 10 + 120)
    assert big.read_bound == pytest.approx((30_000 - 250) / 25)
    assert big.binding == "ARM's write budget"
    assert big.seconds == big.write_bound
    # The enables: the largest machines go first, yet the budget still spaces them out. 3,000
    # machines of 1,050 GiB: the last of them is enabled at (2 + 3,000 - 200) / 10 s.
    mixed = {f"i-{k}": 1050 for k in range(3000)} | {f"i-s{k}": 60 for k in range(2000)}
    bound = critical_path(timings, mixed, interval=30)
    slowest_path = 240 + 4530 + 480 + 180 + 150 + 600 + 120 + 120
    assert bound.path == slowest_path
    assert bound.enable_bound == pytest.approx((3002 - 200) / 10 + slowest_path)
    assert bound.binding == "ARM's write budget for the enables"
    assert bound.seconds == bound.enable_bound
    assert big.enable_bound == pytest.approx((10_002 - 200) / 10 + 2160)  # below the writes
    with pytest.raises(ValueError):
        critical_path(timings, {}, interval=30)


def test_appliances_are_added_and_bad_options_refused() -> None:
    done = _bench("--machines", "2", "--appliances", "2", "--skip-naive")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| ec2asr | 2/2 |" in done.stdout
    assert "appliances: 2" in done.stderr
    for bad in (["--appliances", "0"], ["--concurrency", "0"], ["--naive-pool", "0"]):
        refused = _bench("--machines", "2", *bad)
        assert refused.returncode == 2
        assert "positive number" in refused.stderr


@pytest.mark.e2e
@pytest.mark.slow
def test_emulator_only_migrates_clones_as_moto_migrates_a_fleet(
    run: tuple[dict[str, Any], str], tmp_path: Path
) -> None:
    out = tmp_path / "standin.json"
    done = _bench("--machines", str(N), "--emulator-only", "--skip-naive", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "EC2 stand-in" in done.stderr
    (standin,) = json.loads(out.read_text())["runs"]
    (moto,) = run[0]["runs"]
    assert standin["options"]["emulator_only"] is True
    assert moto["options"]["emulator_only"] is False
    # The same profile mix and disks, so the same critical path; the same ARM conversation.
    assert standin["critical_path"] == moto["critical_path"] | {
        "slowest_machine": standin["critical_path"]["slowest_machine"]
    }
    ours, theirs = standin["ec2asr"], moto["ec2asr"]
    assert ours["completed"] == N
    for figure in ("writes", "reads", "simulated", "aws_calls", "by_operation", "throttled"):
        assert ours[figure] == theirs[figure], figure
