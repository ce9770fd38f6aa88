"""Rollback before commit: cancel the failover, start the source again."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ec2asr.errors import Ec2AsrError, InvalidStateError
from ec2asr.events import EventKind
from ec2asr.migration._observe import observe
from ec2asr.migration._runtime import Live, Runtime
from ec2asr.migration._steps import item_operation
from ec2asr.migration.plan import MigrationPlan
from ec2asr.migration.report import MigrationReport
from ec2asr.migration.stages import MachineStatus, Stage

if TYPE_CHECKING:
    from ec2asr.migration.facade import Migration


def rollback(
    migration: Migration, rt: Runtime, plan: MigrationPlan, instance_ids: Iterable[str] | None
) -> MigrationReport:
    """Cancel the uncommitted failovers of the named (or all failed-over) machines.

    Raises:
        InvalidStateError: A named machine is not failed over, or already committed.
    """
    wanted = None if instance_ids is None else set(instance_ids)
    lives: list[Live] = []
    for machine_plan in plan:
        if wanted is not None and machine_plan.instance_id not in wanted:
            continue
        record = rt.journal.machine(machine_plan.instance_id)
        if record is None:
            if wanted is not None:
                raise InvalidStateError(f"{machine_plan.instance_id} was never migrated")
            continue
        if record.stage >= Stage.COMMITTED:
            if wanted is not None:
                raise InvalidStateError(
                    f"{machine_plan.instance_id} is {record.stage.value}: a committed failover "
                    "cannot be rolled back"
                )
            continue
        if record.stage < Stage.SOURCE_STOPPED and not record.data.get("stop_requested_at"):
            if wanted is not None:
                raise InvalidStateError(
                    f"{machine_plan.instance_id} is {record.stage.value}: nothing to roll back"
                )
            continue
        lives.append(Live(plan=machine_plan, record=record))
    if wanted is not None:
        unknown = wanted - {p.instance_id for p in plan}
        if unknown:
            raise InvalidStateError(f"not in the plan: {', '.join(sorted(unknown))}")
        _whole_recovery_plans(rt, wanted)

    finished: list[Live] = []
    rt.on_rollback = finished.append
    items = {i.name: i for i in rt.asr.list_protected_items()}
    for live in lives:
        live.item = items.get(live.iid)
        failed_over = live.stage is Stage.FAILED_OVER or (
            live.item is not None and live.item.allows("CancelFailover")
        )
        if failed_over:
            rt.reach(live, Stage.FAILED_OVER, "rolling back")
            item_operation(rt, live, "cancel-failover", "begin_cancel_failover")
        else:
            finished.append(live)  # stopped (or stopping) but never failed over
    while rt.in_flight:
        elapsed = rt.tracker.wait()
        observe(rt, lives, elapsed)
    ok = [live for live in finished if live.status is not MachineStatus.FAILED]
    if ok:
        try:
            rt.control.start([live.iid for live in ok])
        except Ec2AsrError as exc:
            for live in ok:
                rt.fail(live, exc, step="start-source")
            ok = []
    for live in ok:
        times = dict(live.data.get("stage_times") or {})
        rt.update(
            live,
            stage=Stage.TEST_CLEANED_UP,
            status=MachineStatus.ROLLED_BACK,
            data={"stop_requested_at": None, "stage_times": times, "recovery_plan": None},
        )
        rt.events.emit(
            EventKind.STAGE_REACHED,
            "rolled back: failover cancelled, source started again; replication continues",
            instance_id=live.iid,
            stage=Stage.TEST_CLEANED_UP.value,
        )
    return migration.status()


def _whole_recovery_plans(rt: Runtime, wanted: set[str]) -> None:
    """Machines failed over together by a recovery plan are rolled back together.

    Raises:
        InvalidStateError: Some members of a recovery plan are named and others are not.
    """
    plans: dict[str, set[str]] = {}
    for record in rt.journal.machines():
        name = record.data.get("recovery_plan")
        if name and Stage.SOURCE_STOPPED <= record.stage < Stage.COMMITTED:
            plans.setdefault(str(name), set()).add(record.instance_id)
    for name, members in sorted(plans.items()):
        named = members & wanted
        if named and named != members:
            raise InvalidStateError(
                f"recovery plan {name} failed over {', '.join(sorted(members))} together: roll "
                f"them back together (name them all, or none); not named: "
                f"{', '.join(sorted(members - named))}"
            )
