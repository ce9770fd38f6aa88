"""One observation per cycle: jobs, protected items, discovered machines, instance states.

Each read is one (paginated) call for the whole fleet, made only when some machine needs it,
and scoped to the migration (its fabric's jobs; its container's items, or one GET per waiting
item when only a few wait: see :class:`~ec2asr.azure.jobs.SweepScope`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from ec2asr.azure.items import ProtectedItem
from ec2asr.azure.jobs import TrackedOperation
from ec2asr.azure.models import DiscoveredMachine
from ec2asr.errors import AsrJobError, Ec2AsrError, MobilityError
from ec2asr.events import EventKind
from ec2asr.migration._runtime import Live, Runtime
from ec2asr.migration._unconfirmed import TRANSIENT_JOB_ERRORS
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.models import SourceMachine

MAX_FAILED_SWEEPS = 10
"""Consecutive failed observation sweeps after which a run gives up (resumable)."""

MAX_JOB_RESTARTS = 3
"""Restarts of a job that failed transiently, per machine and step, before the machine fails."""

ITEM_STAGES = (
    Stage.REPLICATING,
    Stage.PROTECTED,
    Stage.TEST_MIGRATED,
    Stage.TEST_CLEANED_UP,
    Stage.SOURCE_STOPPED,
    Stage.FAILED_OVER,
    Stage.COMMITTED,
)

DONE_STAGE: dict[str, tuple[Stage, str]] = {
    "enable-replication": (Stage.REPLICATING, "replication enabled; initial replication runs"),
    "test-failover": (Stage.TEST_MIGRATED, "test migration succeeded"),
    "test-failover-cleanup": (Stage.TEST_CLEANED_UP, "test migration cleaned up"),
    "unplanned-failover": (Stage.FAILED_OVER, "failed over to Azure"),
    "commit": (Stage.COMMITTED, "failover committed"),
}


def observe(rt: Runtime, lives: Sequence[Live], elapsed: float) -> None:
    """Read what changed since the last cycle and move machines on."""
    by_id = {live.iid: live for live in lives}
    # Item state matters only to machines waiting on it (protection, a recovery point, a
    # recovery plan); while every such machine has a job in flight the job list says enough,
    # and a machine in initial replication is read again only when its progress is due.
    now = rt.now()
    waiting = [
        live.iid
        for live in lives
        if live.stage in ITEM_STAGES
        and live.op_key is None
        and live.status not in (MachineStatus.FAILED, MachineStatus.DONE)
        and not (live.stage is Stage.REPLICATING and live.item_due and now < live.item_due)
    ]
    try:
        sweep = rt.tracker.sweep(read_items=waiting)
    except Ec2AsrError as exc:
        # A failed observation changes nothing: the next cycle reads again. Only a lasting
        # failure stops the run (the work stays resumable).
        rt.failed_sweeps += 1
        if rt.failed_sweeps >= MAX_FAILED_SWEEPS:
            raise
        rt.events.emit(EventKind.WARNING, f"could not read ASR's jobs and items: {exc}")
        return
    rt.failed_sweeps = 0
    for op in sweep.finished:
        subject = rt.ops.pop(op.key, None)
        rt.tracker.forget(op.key)
        live = by_id.get(subject or "")
        if live is not None:
            finish_operation(rt, live, op)
        elif subject is not None:
            rt.plan_operation_finished(subject, op)
    for live in lives:
        item = sweep.items.get(live.iid)
        if item is not None:
            live.item = item
    for live in lives:
        # Only an item read in this sweep says anything new (a machine whose progress is not
        # due keeps its last item, which must not push its next read further out).
        if live.stage is Stage.REPLICATING and live.iid in sweep.items and live.op_key is None:
            replication_progress(rt, live, sweep.items[live.iid])
    _discovery(rt, lives, elapsed)
    _stops(rt, lives)


def finish_operation(rt: Runtime, live: Live, op: TrackedOperation) -> None:
    """An ASR job of this machine ended: journal it, then advance or fail the machine."""
    live.op_key = None
    inflight = dict(live.data.get("inflight") or {})
    step_id = inflight.get("step_id")
    error = op.error()
    if step_id is not None:
        rt.journal.end_step(
            int(step_id),
            succeeded=error is None,
            error=str(error) if error else None,
            detail={"job": op.job_name, "state": op.state},
        )
    rt.update(live, data={"inflight": None, "attempts": {}})
    if error is not None:
        if not _restart_transient(rt, live, op, error):
            rt.fail(live, error, step=op.step)
        return
    if op.step == "complete-migration":
        vm_id = live.item.azure_vm_id if live.item is not None else None
        rt.update(
            live,
            status=MachineStatus.PENDING,
            data={"migration_completed": True, "azure_vm_id": vm_id},
        )
        return
    if op.step == "disable-replication":
        rt.rollback_finished(live)
        return
    if op.step == "change-recovery-point":
        rt.update(live, status=MachineStatus.PENDING, data={"failover_point_checked": None})
        return
    stage, message = DONE_STAGE[op.step]
    rt.reach(live, stage, message, **({"job_" + op.step.replace("-", "_"): op.job_name}))


def _restart_transient(rt: Runtime, live: Live, op: TrackedOperation, error: AsrJobError) -> bool:
    """Restart a job that failed with ASR's transient internal error (ASR recommends retrying
    the last action), at most ``MAX_JOB_RESTARTS`` times per step; True when restarted."""
    if error.error_code not in TRANSIENT_JOB_ERRORS or not op.job_name:
        return False
    restarts = dict(live.data.get("job_restarts") or {})
    done = int(restarts.get(op.step, 0))
    if done >= MAX_JOB_RESTARTS:
        return False
    restarts[op.step] = done + 1
    rt.update(live, data={"job_restarts": restarts})
    rt.events.emit(
        EventKind.WARNING,
        f"{op.step}: ASR job {op.job_name} failed with a transient error ({error.error_code}); "
        f"restarting it (restart {done + 1} of at most {MAX_JOB_RESTARTS})",
        instance_id=live.iid,
        stage=live.stage.value,
    )
    job = op.job_name
    rt.issue(live, op.step, lambda: rt.asr.begin_restart_job(job), detail={"restart_of": job})
    return True


def replication_progress(rt: Runtime, live: Live, item: ProtectedItem) -> None:
    """Report initial replication and health; promote to PROTECTED when it is done."""
    warned = set(live.data.get("health_warned") or ())
    fresh = [h for h in item.health_errors if (h.code or h.message) not in warned]
    for issue in fresh:
        text = f"replication health: {issue.message}" + (
            f" Recommended action: {issue.recommended_action}" if issue.recommended_action else ""
        )
        acted_on = _acted_on(rt, issue.code)
        rt.events.emit(
            EventKind.INFO if acted_on else EventKind.WARNING,
            f"{text} ({acted_on})" if acted_on else text,
            instance_id=live.iid,
            stage=live.stage.value,
            data={"code": issue.code},
            level=logging.DEBUG if acted_on else None,
        )
    if fresh:
        rt.update(
            live, data={"health_warned": sorted(warned | {h.code or h.message for h in fresh})}
        )
    if item.is_protected:
        rt.reach(live, Stage.PROTECTED, "initial replication finished; protected")
        return
    percent = item.initial_replication_percent
    if percent is not None:
        _schedule_item_read(rt, live, percent)
    if percent is not None and percent != live.data.get("percent"):
        rt.update(live, data={"percent": percent})
        rt.events.emit(
            EventKind.PROGRESS,
            f"initial replication {percent}%",
            instance_id=live.iid,
            stage=live.stage.value,
            data={"percent": percent, "rpo_seconds": item.last_rpo_seconds},
        )


IR_QUIET_MAX = timedelta(minutes=10)
"""The longest a machine in initial replication goes without its item being read."""


def _schedule_item_read(rt: Runtime, live: Live, percent: int) -> None:
    """When to read a machine's item again during initial replication: at 90% of the time its
    progress since this run first saw it says is left, and within :data:`IR_QUIET_MAX`. At a
    steady rate the reads come closer as it nears the end, so its completion is seen in the
    cycle it happens; at 1,000 machines most cycles then read no item at all."""
    now = rt.now()
    if live.ir_first is None or percent < live.ir_first[1]:
        live.ir_first = (now, percent)
        return
    since, first = live.ir_first
    elapsed = (now - since).total_seconds()
    if percent <= first or elapsed <= 0:
        return
    # ASR reports whole percents: at least 99 - percent is left, and at most percent - first + 1
    # was done in ``elapsed``; so this errs early, never late.
    left = max(0, 99 - percent) * elapsed / (percent - first + 1)
    live.item_due = now + min(IR_QUIET_MAX, timedelta(seconds=0.9 * left))


NO_TEST_FAILOVER = "161011"
"""ASR's health warning while no test failover succeeded on a protected machine."""


def _acted_on(rt: Runtime, code: str | None) -> str | None:
    """What ec2asr does next about an ASR health warning (None: nothing, the user should know).

    Such a warning is logged at DEBUG only: it would otherwise read as a problem right before
    ec2asr fixes it.
    """
    if code == NO_TEST_FAILOVER and rt.options.test_migration:
        return "ec2asr runs a test migration next"
    return None


def match_machine(
    machine: SourceMachine, found: Sequence[DiscoveredMachine]
) -> DiscoveredMachine | None:
    """The discovered machine that is this EC2 instance: private IP, then hostname.

    Raises:
        MobilityError: Several discovered machines share the IP and no hostname decides.
    """
    ips = set(machine.private_ips)
    by_ip = [d for d in found if ips & set(d.ip_addresses)]
    if len(by_ip) == 1:
        return by_ip[0]
    names = {n.lower() for n in (machine.name, machine.instance_id) if n}
    for eni_ip in machine.private_ips:
        names.add(f"ip-{eni_ip.replace('.', '-')}")
    candidates = by_ip or list(found)
    by_name = [
        d
        for d in candidates
        if {(d.display_name or "").lower(), (d.fqdn or "").split(".")[0].lower()} & names
    ]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_ip) > 1:
        raise MobilityError(
            f"{len(by_ip)} discovered machines have {machine.display_name}'s IP address "
            f"({', '.join(sorted(ips))}): {', '.join(d.display_name or d.name for d in by_ip)}; "
            "remove the stale ones on the appliance",
            instance_id=machine.instance_id,
        )
    return None


def _discovery(rt: Runtime, lives: Sequence[Live], elapsed: float) -> None:
    waiting = [
        live
        for live in lives
        if live.op_key is None
        and live.status is not MachineStatus.FAILED
        and (
            live.stage is Stage.AGENT_INSTALLED
            or (live.stage is Stage.PREPARED and live.status is MachineStatus.WAITING)
        )
    ]
    if not waiting:
        # Nothing waits to be discovered: the appliance's list (a record per discovered
        # machine, thousands in a large wave) is read again when something does.
        rt.discovered = {}
        return
    try:
        found = rt.refresh_discovered()
    except Ec2AsrError as exc:
        rt.events.emit(EventKind.WARNING, f"could not read discovered machines: {exc}")
        return
    for live in waiting:
        try:
            match = match_machine(live.plan.machine, found)
        except MobilityError as exc:
            rt.fail(live, exc, step="discovery")
            continue
        if match is None:
            live.waited += elapsed
            if live.stage is Stage.AGENT_INSTALLED and live.waited > rt.options.discovery_timeout:
                rt.fail(
                    live,
                    MobilityError(
                        f"the appliance has not discovered {live.plan.machine.display_name} "
                        f"({live.plan.machine.private_ip}) {live.waited / 60:.0f} min after the "
                        "agent was installed; check the agent's registration with the appliance "
                        "(the configurator's log) and the source's egress to it on TCP 443/9443",
                        instance_id=live.iid,
                    ),
                    step="discovery",
                )
            continue
        if live.stage is Stage.PREPARED:
            rt.reach(live, Stage.AGENT_INSTALLED, "the appliance knows the machine now")
        rt.reach(
            live,
            Stage.DISCOVERED,
            f"discovered by the appliance as {match.display_name or match.name}",
            discovered_machine_id=match.id,
        )


def _stops(rt: Runtime, lives: Sequence[Live]) -> None:
    stopping = [
        live
        for live in lives
        if live.stage is Stage.TEST_CLEANED_UP
        and live.data.get("stop_requested_at")
        and live.status is not MachineStatus.FAILED
    ]
    if not stopping:
        return
    try:
        states = rt.control.states([live.iid for live in stopping])
    except Ec2AsrError as exc:
        rt.events.emit(EventKind.WARNING, f"could not read instance states: {exc}")
        return
    for live in stopping:
        state = states.get(live.iid)
        if state != "stopped":
            continue
        for step in rt.journal.open_steps(live.iid):
            if step.step == "stop-source":
                rt.journal.end_step(step.id, succeeded=True, detail={"state": state})
        rt.reach(
            live,
            Stage.SOURCE_STOPPED,
            "the EC2 instance is stopped (not terminated)",
            stopped_seen_at=rt.now().isoformat(),
        )
