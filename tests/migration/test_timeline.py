"""``MigrationReport.timeline()`` and ``to_html()``: stages over time, the cutover window, the
data-loss figure, blocked machines apart, one self-contained page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ec2asr import MigrationReport, MigrationTimeline
from ec2asr.cli import main
from ec2asr.migration.journal import Journal, MachineRecord
from ec2asr.migration.stages import MachineStatus, Stage

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def times(**minutes: float) -> dict[str, str]:
    return {stage.replace("_", "-"): at(m) for stage, m in minutes.items()}


def records() -> list[MachineRecord]:
    done = times(
        prepared=0,
        agent_installed=10,
        discovered=15,
        replicating=20,
        protected=140,
        test_migrated=150,
        test_cleaned_up=160,
        source_stopped=245,
        failed_over=262,
        committed=264,
        completed=270,
    )
    return [
        MachineRecord(
            "i-0123456789abcdef0",
            "web-01",
            Stage.COMPLETED,
            MachineStatus.DONE,
            data={
                "stage_times": done,
                "stop_requested_at": at(240),
                "data_loss_window_seconds": 0.0,
                "rpo_at_failover_seconds": 233,
                "failover_recovery_point_id": "rp-1",
                "azure_vm_id": "/subscriptions/s/resourceGroups/r/providers/"
                "Microsoft.Compute/virtualMachines/web-01",
            },
        ),
        MachineRecord(
            "i-0123456789abcdef1",
            "db <primary>",
            Stage.REPLICATING,
            MachineStatus.IN_PROGRESS,
            data={"stage_times": times(prepared=0, replicating=30), "percent": 63},
        ),
        MachineRecord(
            "i-0123456789abcdef2",
            "app-01",
            Stage.PROTECTED,
            MachineStatus.FAILED,
            error_type="AsrJobError",
            error_message="test failover failed [ASR 28031]",
            data={"stage_times": times(prepared=0, replicating=20, protected=100)},
        ),
        MachineRecord(
            "i-0123456789abcdef3",
            "batch-01",
            Stage.PLANNED,
            MachineStatus.BLOCKED,
            data={"blockers": ["AMAZON_LINUX_UNSUPPORTED: Amazon Linux 2", "network: no 9443"]},
        ),
    ]


def report(now_minutes: float = 300) -> MigrationReport:
    return MigrationReport.from_records(records(), generated_at=T0 + timedelta(minutes=now_minutes))


def test_rows_hold_the_stages_over_time() -> None:
    timeline = report().timeline()
    assert isinstance(timeline, MigrationTimeline)
    assert [r.machine.instance_id for r in timeline] == [
        "i-0123456789abcdef0",
        "i-0123456789abcdef1",
        "i-0123456789abcdef2",
    ]
    web, db, app = timeline.rows
    replicating = next(s for s in web.spans if s.stage is Stage.REPLICATING)
    assert replicating.seconds == 120 * 60  # from replicating to protected
    assert web.spans[-1].seconds == 0  # done: the last stage is a point
    assert db.spans[-1].stage is Stage.REPLICATING
    assert db.spans[-1].end == T0 + timedelta(minutes=300)  # still under way: up to the report
    assert app.spans[-1].seconds == 0  # failed: not stretched to now
    assert timeline.start == T0
    assert timeline.end == T0 + timedelta(minutes=300)


def test_the_cutover_window_and_the_data_loss_figure() -> None:
    web = report().timeline().rows[0]
    assert web.cutover == (T0 + timedelta(minutes=240), T0 + timedelta(minutes=262))
    assert web.downtime_seconds == 22 * 60
    page = report().to_html()
    assert "downtime 22m00s" in page
    assert "data loss 0 s (no write lost)" in page
    assert "RPO at failover 233 s" in page
    assert page.count('class="cutover"') == 1


def test_blocked_machines_are_grouped_apart() -> None:
    timeline = report().timeline()
    assert [m.instance_id for m in timeline.blocked] == ["i-0123456789abcdef3"]
    page = timeline.to_html()
    body, blocked = page.split('<h2 id="blocked">', 1)
    assert "i-0123456789abcdef3" not in body
    assert "Not migrated: 1 blocked" in blocked
    assert "<li>AMAZON_LINUX_UNSUPPORTED: Amazon Linux 2</li><li>network: no 9443</li>" in blocked


def test_the_page_is_self_contained_and_escaped() -> None:
    page = report().to_html(title="wave <1>")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>wave &lt;1&gt;</title>" in page
    assert "db &lt;primary&gt;" in page
    assert "<primary>" not in page
    assert "<script" not in page.lower()
    for fetch in ("http://", "https://", "src=", "href=", "@import", "url("):
        assert fetch not in page, fetch
    assert "initial replication 63%" in page
    assert "AsrJobError: test failover failed [ASR 28031]" in page


def test_in_jupyter_the_report_renders_the_timeline_left_aligned_ids_unbroken() -> None:
    fragment = report()._repr_html_()
    assert fragment.startswith('<div class="ec2asr-report"><style>')
    assert "<!DOCTYPE" not in fragment
    css = fragment.split("<style>", 1)[1].split("</style>", 1)[0]
    assert re.search(r"div\.ec2asr-report th,div\.ec2asr-report td\{text-align:left", css)
    assert re.search(r"div\.ec2asr-report \.iid\{[^}]*white-space:nowrap", css)


def test_an_empty_journal_makes_a_page_too() -> None:
    page = MigrationReport(()).to_html()
    assert "No machine is migrating." in page


def test_report_command_writes_the_page_from_a_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_path = tmp_path / "wave-1.sqlite"
    with Journal(journal_path) as journal:
        for record in records():
            journal.update_machine(
                record.instance_id,
                name=record.name,
                stage=record.stage,
                status=record.status,
                data=dict(record.data),
            )
    out = tmp_path / "timeline.html"
    assert main(["report", "--journal", str(journal_path), "--html", str(out)]) == 0
    assert f"wrote {out} (4 machines:" in capsys.readouterr().out
    page = out.read_text("utf-8")
    assert "web-01" in page
    assert "Not migrated: 1 blocked" in page
    code = main(["report", "--journal", str(tmp_path / "absent.sqlite"), "--html", str(out)])
    assert code == 2
    assert "there is no migration journal" in capsys.readouterr().err
