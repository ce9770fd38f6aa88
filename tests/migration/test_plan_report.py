"""Plans and reports render as text, JSON and notebook HTML."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from ec2asr.assessment import assess
from ec2asr.migration.journal import MachineRecord
from ec2asr.migration.plan import ApplianceSummary, MachinePlan, MigrationPlan, steps_for
from ec2asr.migration.report import MigrationReport
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.migration.targets import map_targets
from tests.factories import make_machine
from tests.migration.test_targets import settings

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)


def _plan() -> MigrationPlan:
    good = make_machine(name="web<01>")
    arm = make_machine(name="arm-01", architecture="arm64", instance_type="m6g.large")
    report = assess([good, arm])
    targets = map_targets([good, arm], settings())
    plans = tuple(
        MachinePlan(
            machine=m,
            readiness=report[m.instance_id],
            target=targets[m.instance_id],
            steps=steps_for(push=False, test_migration=True, recovery_plan=False, leases=False),
            blockers=tuple(f.code for f in report[m.instance_id].blockers),
        )
        for m in (good, arm)
    )
    return MigrationPlan(
        machines=plans,
        appliance=ApplianceSummary("fab", "10.0.0.10", "ps-1", protected_items=190, capacity=200),
        installer="ManualInstall",
        warnings=("2 machines exceed the appliance's room",),
        created_at=T0,
    )


def test_plan_text_json_html() -> None:
    plan = _plan()
    assert len(plan) == 2
    assert [p.machine.name for p in plan.to_migrate] == ["web<01>"]
    assert [p.machine.name for p in plan.blocked] == ["arm-01"]
    assert plan.appliance.free == 10
    text = plan.explain()
    assert "2 machines: 1 to migrate, 1 blocked" in text
    assert "blocker: ARCH_UNSUPPORTED" in text
    assert "Warning: 2 machines exceed" in text
    assert "install the Mobility agent -> wait for discovery" in text
    data = json.loads(plan.to_json())
    assert data["schema"] == "ec2asr.migration-plan/1"
    assert [m["migrates"] for m in data["machines"]] == [True, False]
    html = plan._repr_html_()
    assert "web&lt;01&gt;" in html
    assert "<01>" not in html
    # In a notebook: blocked machines apart, below; cells left-aligned, ids on one line.
    migrating, blocked = html.split('<h2 id="blocked">Not migrated: 1 blocked</h2>')
    assert plan.to_migrate[0].instance_id in migrating
    assert plan.blocked[0].instance_id not in migrating
    assert plan.blocked[0].instance_id in blocked
    assert "div.ec2asr-report th,div.ec2asr-report td{text-align:left" in html
    assert html.count('<td class="iid">') == 2
    assert plan[plan.machines[0].instance_id] is plan.machines[0]


def test_steps_for_each_option() -> None:
    push = steps_for(push=True, test_migration=False, recovery_plan=True, leases=True)
    assert "hand over to the appliance (push)" in push
    assert "test migration" not in push
    assert "fail over (recovery plan)" in push
    assert push[-2:] == ("revoke leased rules", "tag the source")


def _record(iid: str, stage: Stage, status: MachineStatus, **data: object) -> MachineRecord:
    return MachineRecord(instance_id=iid, name=f"n-{iid}", stage=stage, status=status, data=data)


def test_report_text_json_html() -> None:
    times = {"prepared": T0.isoformat(), "completed": (T0 + timedelta(hours=3)).isoformat()}
    records = [
        _record(
            "i-1",
            Stage.COMPLETED,
            MachineStatus.DONE,
            stage_times=times,
            rpo_at_failover_seconds=12,
            azure_vm_id="/subscriptions/s/vm/a",
        ),
        MachineRecord(
            "i-2",
            "bad<name>",
            Stage.PROTECTED,
            MachineStatus.FAILED,
            error_type="AsrJobError",
            error_message="test failover failed [ASR 28031]",
        ),
        _record("i-3", Stage.PLANNED, MachineStatus.BLOCKED, blockers=["ARCH_UNSUPPORTED: arm64"]),
        _record("i-4", Stage.TEST_CLEANED_UP, MachineStatus.WAITING, waiting="confirm cutover"),
    ]
    report = MigrationReport.from_records(records, generated_at=T0)
    assert [m.instance_id for m in report.completed] == ["i-1"]
    assert [m.instance_id for m in report.failed] == ["i-2"]
    assert [m.instance_id for m in report.blocked] == ["i-3"]
    assert report.summary() == "4 machines: 1 completed, 1 in progress, 1 failed, 1 blocked"
    assert report["i-1"].duration_seconds == 3 * 3600
    text = str(report)
    assert "3h00m" in text
    assert "12s" in text
    assert "AsrJobError: test failover failed [ASR 28031]" in text
    assert "blocked: ARCH_UNSUPPORTED: arm64" in text
    assert "confirm cutover" in text
    data = json.loads(report.to_json())
    assert data["counts"] == {"completed": 1, "protected": 1, "planned": 1, "test-cleaned-up": 1}
    assert data["machines"][0]["stage_times"]["completed"].startswith("2026-11-26T13:00")
    html = report._repr_html_()
    assert "bad&lt;name&gt;" in html
    assert "<name>" not in html
