"""Resuming after a crash: settle what the journal left open against AWS and Azure.

Rules (they are what makes a re-run safe):

- a machine that FAILED or was WAITING is retried / re-evaluated;
- an ASR step the journal saw accepted (job name known) is followed again, never re-issued;
- an ASR step begun but not accepted is looked up among ASR's jobs (same item, same scenario,
  started after the step): found -> followed; not found -> abandoned and re-issued;
- a protected item that exists in the vault settles the stage of a machine the journal thinks
  is before it (the enable happened even if the journal missed it): the enable is never
  re-issued; the same holds for failover and commit, read from the item's state;
- an open "stop-source" step is settled from the instance's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from ec2asr.azure.jobs import SCENARIOS
from ec2asr.errors import Ec2AsrError
from ec2asr.events import EventKind
from ec2asr.migration._observe import DONE_STAGE
from ec2asr.migration._runtime import Live, Runtime
from ec2asr.migration._scope import migration_items, migration_jobs
from ec2asr.migration.journal import StepRecord
from ec2asr.migration.records import StepState
from ec2asr.migration.stages import MachineStatus, Stage

ASR_STEPS = frozenset(SCENARIOS)
_SKEW_SECONDS = 300


def reconcile(rt: Runtime, lives: Sequence[Live]) -> None:
    """Settle every machine's open steps and stage before the run loop starts."""
    finished = [live.iid for live in lives if live.stage is Stage.COMPLETED]
    rt.leases.reconcile(finished=finished)
    for live in lives:
        again = (MachineStatus.FAILED, MachineStatus.WAITING, MachineStatus.ROLLED_BACK)
        further = live.status is MachineStatus.DONE and live.stage < rt.options.until
        if live.status in again or further:
            rt.update(live, status=MachineStatus.PENDING, clear_error=True, data={"waiting": None})
    open_steps = {live.iid: rt.journal.open_steps(live.iid) for live in lives}
    if not any(open_steps.values()) and not any(
        Stage.DISCOVERED <= live.stage < Stage.COMPLETED for live in lives
    ):
        return
    # The migration's container (and, below, its fabric's jobs): see _scope.
    items, in_container = migration_items(rt, lives, open_steps)
    jobs = None
    if any(s.step in ASR_STEPS and not s.job_name for steps in open_steps.values() for s in steps):
        oldest = min(
            (s.started_at for steps in open_steps.values() for s in steps if s.started_at),
            default=datetime.now(timezone.utc),
        )
        jobs = list(migration_jobs(rt, oldest, scoped=in_container))
    for live in lives:
        live.item = items.get(live.iid)
        for step in open_steps[live.iid]:
            _settle_step(rt, live, step, jobs)
        _settle_recorded(rt, live)
        _settle_stage(rt, live)


def _settle_step(rt: Runtime, live: Live, step: StepRecord, jobs: list | None) -> None:  # type: ignore[type-arg]
    if step.step in ASR_STEPS:
        if live.data.get("unconfirmed"):
            rt.update(live, data={"unconfirmed": None})  # settled here, from ASR's jobs
        aliases = live.item.aliases if live.item is not None else frozenset({live.iid})
        job_name = step.job_name
        if job_name is None and jobs is not None and step.started_at is not None:
            scenarios = SCENARIOS[step.step]
            started = step.started_at
            for job in sorted(jobs, key=lambda j: j.start_time or started):
                if (
                    job.scenario_name in scenarios
                    and ({job.target_object_id, job.target_object_name} & aliases)
                    and (
                        job.start_time is None
                        or (job.start_time - step.started_at).total_seconds() > -_SKEW_SECONDS
                    )
                ):
                    job_name = job.name
                    break
        if job_name is None:
            rt.journal.end_step(
                step.id, succeeded=False, abandoned=True, error="never reached Azure"
            )
            rt.update(live, status=MachineStatus.PENDING, data={"inflight": None})
            return
        rt.events.emit(
            EventKind.INFO,
            f"resuming {step.step}: following ASR job {job_name}",
            instance_id=live.iid,
            stage=live.stage.value,
        )
        rt.follow(
            live,
            step.step,
            job_name=job_name,
            step_id=step.id,
            issued_at=step.started_at,
            aliases=aliases,
        )
        return
    if step.step == "stop-source":
        try:
            state = rt.control.states([live.iid]).get(live.iid)
        except Ec2AsrError:
            return
        if state in ("stopping", "stopped"):
            return  # the observation loop promotes the machine when it is stopped
        rt.journal.end_step(step.id, succeeded=False, abandoned=True, error=f"instance {state}")
        rt.update(live, data={"stop_requested_at": None, "waiting": None})
        return
    # install-agent, lease-egress, finish: idempotent, run again.
    rt.journal.end_step(step.id, succeeded=False, abandoned=True, error="interrupted; will re-run")


def _settle_recorded(rt: Runtime, live: Live) -> None:
    """Finish what the journal recorded but did not act on: a job's success and the stage it
    leads to are two journal writes, and a crash between them leaves the step succeeded and the
    stage behind. The machine's newest ended step tells (older ones may predate a rollback)."""
    if live.op_key is not None:
        return
    ended = [s for s in rt.journal.steps(live.iid) if not s.is_open]
    if not ended or ended[-1].state != StepState.SUCCEEDED:
        return
    last = ended[-1]
    if last.step == "complete-migration":
        if live.stage is Stage.COMMITTED and not live.data.get("migration_completed"):
            vm_id = live.item.azure_vm_id if live.item is not None else None
            rt.update(live, data={"migration_completed": True, "azure_vm_id": vm_id})
        return
    done = DONE_STAGE.get(last.step)
    if done is not None and live.stage < done[0]:
        rt.reach(
            live,
            done[0],
            f"{done[1]} (the journal recorded its job {last.job_name} succeeded)",
            **{"job_" + last.step.replace("-", "_"): last.job_name},
        )


def _settle_stage(rt: Runtime, live: Live) -> None:
    """Move the journal's stage forward when Azure shows a step happened that it missed."""
    item = live.item
    if item is None or live.op_key is not None:
        return
    if live.stage < Stage.REPLICATING:
        rt.reach(live, Stage.REPLICATING, "replication was already enabled (found in the vault)")
    if live.stage is Stage.SOURCE_STOPPED and item.is_failed_over:
        rt.reach(live, Stage.FAILED_OVER, "already failed over (found in the vault)")
    committed = (item.protection_state or "").lower().endswith("committed")
    if live.stage is Stage.FAILED_OVER and committed:
        rt.reach(live, Stage.COMMITTED, "already committed (found in the vault)")
