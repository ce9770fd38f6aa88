"""Rollback before commit, as the modernized Site Recovery stack allows it.

A forward failover (to Azure) cannot be cancelled in the modernized stack: ``CancelFailover`` is
offered only after a planned failover from Azure back. So a rollback is, per machine:

- **source stopped, not failed over**: start the EC2 instance again. Replication was never
  interrupted for long: it carries on (no new initial replication); the machine is back at
  ``test-cleaned-up``.
- **failed over (not committed), or its failover failed**: (1) deallocate the Azure VM the
  failover created, so two copies never run (it is kept, deallocated, for inspection; delete it
  before the next cutover); (2) disable protection (``remove``, ``NotSpecified``): replication
  does not resume after a failover; (3) start the EC2 instance again. The machine goes back to
  ``discovered``: the next run enables replication again, which costs **a new initial
  replication of every disk**. Members of a recovery plan are rolled back together, and the plan
  is deleted first (the next cutover creates it again).
- **committed**: refused (:class:`~ec2asr.errors.InvalidStateError`): the source is no longer
  the primary once a failover is committed.

Every step is journaled and checked against Azure and EC2 before it is taken, so a rollback
interrupted part-way is finished by running it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ec2asr.errors import AzureError, AzureResourceNotFoundError, Ec2AsrError, InvalidStateError
from ec2asr.events import EventKind
from ec2asr.migration import _unconfirmed
from ec2asr.migration._observe import observe
from ec2asr.migration._runtime import Live, Runtime
from ec2asr.migration._scope import migration_items
from ec2asr.migration._steps import item_key
from ec2asr.migration.journal import Journal, MachineRecord
from ec2asr.migration.plan import MigrationPlan
from ec2asr.migration.stages import MachineStatus, Stage

ROLLBACK_COST = (
    "the failover was undone by disabling protection (a forward failover cannot be cancelled): "
    "the next run enables replication again, with a new initial replication of every disk"
)

_CLEARED = {
    "stop_requested_at": None,
    "stopped_seen_at": None,
    "recovery_plan": None,
    "cutover": None,
    "failover_point_checked": None,
    "inflight": None,
    "migration_completed": None,
    "percent": None,
    "health_warned": None,
    "rollback_vm_id": None,
}


def check_request(
    journal: Journal, plan: MigrationPlan, instance_ids: Iterable[str] | None
) -> list[MachineRecord]:
    """The machines a rollback acts on, checked before anything is written anywhere.

    Raises:
        InvalidInputError: ``instance_ids`` is not an iterable of ids.
        InvalidStateError: A named machine is not in the plan, was never migrated, has nothing
            to roll back, or was committed (the message says which and why).
    """
    wanted = None if instance_ids is None else set(instance_ids)
    if wanted is not None:
        unknown = wanted - {p.instance_id for p in plan}
        if unknown:
            raise InvalidStateError(f"not in the plan: {', '.join(sorted(unknown))}")
    chosen: list[MachineRecord] = []
    for machine_plan in plan:
        iid = machine_plan.instance_id
        if wanted is not None and iid not in wanted:
            continue
        record = journal.machine(iid)
        named = wanted is not None
        if record is None:
            if named:
                raise InvalidStateError(f"{iid} was never migrated: nothing to roll back")
            continue
        if record.stage >= Stage.COMMITTED:
            if named:
                raise InvalidStateError(
                    f"{iid} is {record.stage.value}: its failover was committed, so the EC2 "
                    "instance is no longer the primary and cannot be rolled back to; fail back "
                    "from Azure instead"
                )
            continue
        if record.stage < Stage.SOURCE_STOPPED and not record.data.get("stop_requested_at"):
            if named:
                raise InvalidStateError(
                    f"{iid} is {record.stage.value}: its source was never stopped, nothing to "
                    "roll back"
                )
            continue
        chosen.append(record)
    if wanted is not None:
        _whole_recovery_plans(journal, wanted)
    return chosen


def rollback(rt: Runtime, plan: MigrationPlan, records: Sequence[MachineRecord]) -> None:
    """Roll back the machines :func:`check_request` chose (see the module docstring)."""
    by_iid = {p.instance_id: p for p in plan}
    lives = [Live(plan=by_iid[r.instance_id], record=r) for r in records]
    items, _ = migration_items(rt, lives)
    full: list[Live] = []
    start_only: list[Live] = []
    for live in lives:
        if live.status is MachineStatus.FAILED:
            # A failed cutover (its data did not drain, its failover failed) is what a rollback
            # is for: its error is kept in the journal's history, the rollback proceeds.
            rt.update(live, status=MachineStatus.IN_PROGRESS, clear_error=True)
        live.item = items.get(live.iid)
        item = live.item
        undone = live.data.get("rollback_pending")
        if item is None:
            # No item: disabled already (a rollback interrupted after that step), or the
            # machine was only stopped and its item vanished; either way the source starts.
            (full if undone else start_only).append(live)
        elif live.stage is Stage.FAILED_OVER or item.is_failed_over or item.failover_failed:
            full.append(live)
        else:
            start_only.append(live)
    plans = sorted(
        {str(live.data["recovery_plan"]) for live in full if live.data.get("recovery_plan")}
    )
    for name in plans:
        _delete_plan(rt, name)
    for live in full:
        rt.update(live, data={"rollback_pending": True})
    _deallocate(rt, [live for live in full if live.item is not None])
    finished: list[Live] = [live for live in full if live.item is None]
    rt.on_rollback = finished.append
    for live in full:
        if live.item is not None and live.status is not MachineStatus.FAILED:
            rt.issue(
                live,
                "disable-replication",
                lambda live=live: rt.asr.begin_disable_replication(item_key(rt, live)),  # type: ignore[misc]
            )
    while rt.in_flight:
        elapsed = rt.tracker.wait()
        rt.journal.renew_claims()  # a team's workers must not take these machines meanwhile
        observe(rt, lives, elapsed)
    ok_full = [live for live in finished if live.status is not MachineStatus.FAILED]
    ok_start = [live for live in start_only if live.status is not MachineStatus.FAILED]
    started = _start(rt, [*ok_full, *ok_start])
    for live in ok_start:
        if live.iid in started:
            _back_to(rt, live, Stage.TEST_CLEANED_UP, {"rollback": _note(rt, live, full=False)})
            rt.events.emit(
                EventKind.STAGE_REACHED,
                "rolled back: the source runs again; replication carries on",
                instance_id=live.iid,
                stage=Stage.TEST_CLEANED_UP.value,
            )
    for live in ok_full:
        if live.iid in started:
            note = _note(rt, live, full=True)
            _back_to(rt, live, Stage.DISCOVERED, {"rollback": note, "rollback_pending": None})
            rt.events.emit(
                EventKind.STAGE_REACHED,
                f"rolled back: Azure VM deallocated, protection disabled, source started; "
                f"{ROLLBACK_COST}",
                instance_id=live.iid,
                stage=Stage.DISCOVERED.value,
            )


def _note(rt: Runtime, live: Live, *, full: bool) -> dict[str, Any]:
    note: dict[str, Any] = {"at": rt.now().isoformat(), "failed_over": full}
    if full:
        note["cost"] = ROLLBACK_COST
        vm_id = live.data.get("rollback_vm_id")  # set when the VM existed
        note["azure_vm_id"] = vm_id
        note["azure_vm_left"] = "deallocated" if vm_id else None
    return note


def _back_to(rt: Runtime, live: Live, stage: Stage, data: dict[str, Any]) -> None:
    times = {k: v for k, v in dict(live.data.get("stage_times") or {}).items() if Stage(k) <= stage}
    rt.update(
        live,
        stage=stage,
        status=MachineStatus.ROLLED_BACK,
        data={**_CLEARED, **data, "stage_times": times},
    )


MAX_DELETE_ATTEMPTS = 3
"""Deletes of a recovery plan sent in one rollback when none reaches Azure."""


def _delete_plan(rt: Runtime, name: str) -> None:
    """Delete a recovery plan whose members are rolled back (journaled under ``plan:<name>``).

    A DELETE whose answer was lost (the connection broke, or ARM answered 5xx) is never sent
    again blindly: ASR's jobs say whether it was accepted, and the job found is waited for. An
    earlier rollback's delete left open in the journal is settled the same way first.

    Raises:
        AzureError: Azure refused the delete, or its jobs cannot be read (the step stays
            open: running the rollback again settles it first).
        AsrJobError: The delete's job failed.
    """
    subject = f"plan:{name}"
    for earlier in rt.journal.steps(subject):
        if (
            earlier.step == "delete-recovery-plan"
            and earlier.is_open
            and _settle_delete(rt, name, earlier.id, earlier.job_name, earlier.started_at)
        ):
            return
    for _ in range(MAX_DELETE_ATTEMPTS):
        step = rt.journal.begin_step(subject, "delete-recovery-plan")
        try:
            op = rt.asr.begin_delete_recovery_plan(name)
            rt.journal.step_accepted(step.id, job_name=op.job_name, polling_url=op.polling_url)
            op.wait()
        except AzureResourceNotFoundError:
            pass  # deleted by an earlier, interrupted rollback
        except Ec2AsrError as exc:
            if not _unconfirmed.outcome_unknown(exc):
                rt.journal.end_step(step.id, succeeded=False, error=str(exc))
                raise
            # Azure may have accepted it: its job says so (a second DELETE is never blind).
            if _settle_delete(rt, name, step.id, None, step.started_at or rt.now()):
                return
            continue  # it never reached Azure: send it again
        rt.journal.end_step(step.id, succeeded=True)
        rt.events.emit(EventKind.INFO, f"recovery plan {name} deleted (its members roll back)")
        return
    raise AzureError(
        f"delete recovery plan {name}: no answer from Azure after {MAX_DELETE_ATTEMPTS} "
        "attempts, and ASR started no job for it; run the rollback again"
    )


def _settle_delete(
    rt: Runtime, name: str, step_id: int, job: str | None, started: datetime | None
) -> bool:
    """Settle a plan delete whose outcome is unknown; True when the plan is gone.

    Raises:
        AzureError: ASR's jobs cannot be read (the step stays open).
        AsrJobError: The delete's job failed.
    """
    if job is None and started is not None:
        job = _unconfirmed.accepted_plan_job(rt, name, frozenset({"DeleteRecoveryPlan"}), started)
    if job is None:
        rt.journal.end_step(step_id, succeeded=False, abandoned=True, error="never reached Azure")
        return False
    rt.journal.step_accepted(step_id, job_name=job)
    rt.events.emit(
        EventKind.INFO,
        f"delete recovery plan {name}: Azure's answer was lost, but ASR accepted it "
        f"(job {job}): waiting for it",
    )
    found = rt.asr.get_job(job)
    while not found.is_terminal:
        rt.tracker.wait()
        found = rt.asr.get_job(job)
    error = found.to_error() if not found.succeeded else None
    rt.journal.end_step(step_id, succeeded=error is None, error=str(error) if error else None)
    if error is not None:
        raise error
    rt.events.emit(EventKind.INFO, f"recovery plan {name} deleted (its members roll back)")
    return True


def _deallocate(rt: Runtime, lives: Sequence[Live]) -> None:
    """Deallocate every failed-over VM that runs (all requests first, then the waits)."""
    waiting = []
    for live in lives:
        vm_id = live.item.azure_vm_id if live.item is not None else None
        if not vm_id:
            continue
        step = rt.journal.begin_step(live.iid, "deallocate-vm", detail={"vm_id": vm_id})
        try:
            state = rt.asr.get_virtual_machine_power_state(vm_id)
            if state is not None:
                rt.update(live, data={"rollback_vm_id": vm_id})
            if state is None or state in ("deallocated", "deallocating"):
                rt.journal.end_step(step.id, succeeded=True, detail={"state": state})
                continue
            op = rt.asr.begin_deallocate_virtual_machine(vm_id)
            rt.journal.step_accepted(step.id, polling_url=op.polling_url)
            waiting.append((live, step, op))
        except Ec2AsrError as exc:
            rt.journal.end_step(step.id, succeeded=False, error=str(exc))
            rt.fail(live, exc, step="deallocate-vm")
    for live, step, op in waiting:
        try:
            op.wait()
            if op.status() != "Succeeded":
                raise InvalidStateError(f"deallocating {live.iid}'s Azure VM ended {op.status()}")
        except Ec2AsrError as exc:
            rt.journal.end_step(step.id, succeeded=False, error=str(exc))
            rt.fail(live, exc, step="deallocate-vm")
            continue
        rt.journal.end_step(step.id, succeeded=True, detail={"state": "deallocated"})
        rt.events.emit(
            EventKind.INFO,
            "the failed-over Azure VM is deallocated (kept for inspection)",
            instance_id=live.iid,
            stage=live.stage.value,
        )


def _start(rt: Runtime, lives: Sequence[Live]) -> set[str]:
    """Start the sources again (one StartInstances); the ids started."""
    if not lives:
        return set()
    step_ids = {live.iid: rt.journal.begin_step(live.iid, "start-source").id for live in lives}
    try:
        rt.control.start([live.iid for live in lives])
    except Ec2AsrError as exc:
        for live in lives:
            rt.journal.end_step(step_ids[live.iid], succeeded=False, error=str(exc))
            rt.fail(live, exc, step="start-source")
        return set()
    for live in lives:
        rt.journal.end_step(step_ids[live.iid], succeeded=True)
    return {live.iid for live in lives}


def _whole_recovery_plans(journal: Journal, wanted: set[str]) -> None:
    """Machines failed over together by a recovery plan are rolled back together.

    Raises:
        InvalidStateError: Some members of a recovery plan are named and others are not.
    """
    plans: dict[str, set[str]] = {}
    for record in journal.machines():
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


def change_point(rt: Runtime, plan: MigrationPlan, instance_id: str, point_id: str) -> None:
    """Fail a failed-over, uncommitted machine over to another recovery point instead."""
    record = rt.journal.machine(instance_id)
    machine_plan = next((p for p in plan if p.instance_id == instance_id), None)
    if record is None or machine_plan is None:
        raise InvalidStateError(f"{instance_id} is not a machine of this migration")
    if record.stage is not Stage.FAILED_OVER:
        raise InvalidStateError(
            f"{instance_id} is {record.stage.value}: the recovery point can be changed only "
            "after a failover and before its commit"
        )
    live = Live(plan=machine_plan, record=record)
    evidence = dict(record.data.get("cutover") or {})
    evidence.update(
        recovery_point=point_id,
        why="changed by the caller (change_recovery_point) before the commit",
        changed_at=rt.now().isoformat(),
    )
    rt.update(live, data={"cutover": evidence})
    if rt.issue(
        live,
        "change-recovery-point",
        lambda: rt.asr.begin_change_recovery_point(item_key(rt, live), point_id),
        detail={"recovery_point_id": point_id},
    ):
        while rt.in_flight:
            elapsed = rt.tracker.wait()
            observe(rt, [live], elapsed)
