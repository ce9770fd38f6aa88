"""Cutover with ASR recovery plans: boot groups of machines that fail over together.

Per plan (at most 100 items; a larger run is split into ``name``, ``name-2`` ...): once every
member finished its test migration, ec2asr creates the plan, stops every member's EC2 instance,
waits until every member's writes reached Azure (no data pending, a heartbeat after the stop: see
:mod:`ec2asr.migration._cutover`), fails the plan over (``Latest``: everything the appliance
received is processed first), journals each member's recovery point and commits the plan.
Each member then completes like a machine cut over alone. Plan steps are journaled under
``plan:<name>``.

A plan write whose answer was lost (the connection broke, or ARM answered 5xx, after the
request may have been accepted) is never sent again blindly, as for a machine's writes
(:mod:`ec2asr.migration._unconfirmed`): its step stays open while ASR's jobs for the plan are
looked up; the job found is followed, and only when there is none is the write sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from ec2asr.azure._plans import MAX_PLAN_ITEMS
from ec2asr.azure.jobs import SCENARIOS
from ec2asr.errors import (
    AzureResourceNotFoundError,
    DataPendingError,
    Ec2AsrError,
    InvalidInputError,
)
from ec2asr.events import EventKind
from ec2asr.migration import _cutover, _unconfirmed
from ec2asr.migration._runtime import Live, Runtime, is_transient
from ec2asr.migration._steps import stop_sources
from ec2asr.migration.journal import StepState
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import MachineStatus, Stage

_PLAN_SCENARIOS = {
    # A PUT on a plan that exists (an earlier, interrupted create) is an update.
    "create-recovery-plan": frozenset({"CreateRecoveryPlan", "UpdateRecoveryPlan"}),
    "plan-failover": SCENARIOS["unplanned-failover"],
    "plan-commit": SCENARIOS["commit"],
}

_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def validate(spec: RecoveryPlanSpec, member_ids: Sequence[str]) -> None:
    """Check a recovery-plan spec against the machines that will migrate.

    Raises:
        InvalidInputError: A bad name, an unknown or repeated id, or a machine in no group.
    """
    if not spec.name or set(spec.name) - _NAME_OK or len(spec.name) > 60:
        raise InvalidInputError(f"invalid recovery plan name {spec.name!r}")
    if spec.groups is None:
        return
    seen: list[str] = [i for g in spec.groups for i in g]
    if any(not g for g in spec.groups):
        raise InvalidInputError("a recovery plan boot group is empty")
    dupes = sorted({i for i in seen if seen.count(i) > 1})
    if dupes:
        raise InvalidInputError(f"machines in more than one boot group: {', '.join(dupes)}")
    unknown = sorted(set(seen) - set(member_ids))
    if unknown:
        raise InvalidInputError(
            f"boot groups name machines that are not migrating: {', '.join(unknown)}"
        )
    missing = sorted(set(member_ids) - set(seen))
    if missing:
        raise InvalidInputError(f"migrating machines in no boot group: {', '.join(missing)}")


@attrs.define
class _Plan:
    name: str
    groups: list[list[str]]
    # waiting, creating, created, failing-over, failed-over, committing, done
    phase: str = "waiting"
    op_key: str | None = None
    # A write whose answer was lost and whose job ASR could not be asked about yet:
    # (step, step id, when its write-ahead entry was made).
    unconfirmed: tuple[str, int, datetime] | None = None

    @property
    def subject(self) -> str:
        return f"plan:{self.name}"

    @property
    def members(self) -> list[str]:
        return [i for g in self.groups for i in g]


def _split(spec: RecoveryPlanSpec, member_ids: Sequence[str]) -> list[_Plan]:
    """Boot groups -> plans of at most 100 items (a group may continue in the next plan)."""
    groups = [list(g) for g in spec.groups] if spec.groups else [list(member_ids)]
    chunks: list[list[list[str]]] = []
    current: list[list[str]] = []
    count = 0
    for group in groups:
        current.append([])
        for iid in group:
            if count == MAX_PLAN_ITEMS:
                chunks.append(current)
                current, count = [[]], 0
            current[-1].append(iid)
            count += 1
    if count:
        chunks.append(current)
    return [
        _Plan(
            name=spec.name if index == 0 else f"{spec.name}-{index + 1}",
            groups=[g for g in chunk if g],
        )
        for index, chunk in enumerate(chunks)
    ]


class PlanCutover:
    """Drives the recovery-plan part of a run (the per-machine part is in ``_steps``)."""

    def __init__(self, rt: Runtime, lives: Sequence[Live]) -> None:
        assert rt.options.recovery_plan is not None
        self.rt = rt
        self.lives = {live.iid: live for live in lives}
        self.plans = _split(rt.options.recovery_plan, list(self.lives))
        rt.on_plan_operation = self._operation_finished
        for plan in self.plans:
            self._resume(plan)

    # -- state --------------------------------------------------------------------------------

    def _members(self, plan: _Plan) -> list[Live]:
        return [
            self.lives[i]
            for i in plan.members
            if i in self.lives and self.lives[i].status is not MachineStatus.FAILED
        ]

    def _resume(self, plan: _Plan) -> None:
        """Settle the plan's steps a crash left open, then its phase (from Azure and members)."""
        journal = self.rt.journal
        for step in journal.open_steps(plan.subject):
            job_name = step.job_name or self._find_job(plan, step.step, step.started_at)
            if job_name:
                self._follow(plan, step.step, job_name, step.id, step.started_at)
            else:
                journal.end_step(
                    step.id, succeeded=False, abandoned=True, error="never reached Azure"
                )
        if plan.op_key is not None:
            return
        steps = sorted(journal.steps(plan.subject), key=lambda s: s.id)
        deleted = [s.id for s in steps if s.step == "delete-recovery-plan"]
        if deleted:
            # A rollback deleted the plan: what came before it no longer holds.
            steps = [s for s in steps if s.id > deleted[-1]]
        done = {s.step for s in steps if s.state == StepState.SUCCEEDED}
        stages = {m.stage for m in self._members(plan)}
        # The members' stages were reconciled with their protected items first: they tell what
        # the plan did even when the journal missed the end of a plan operation.
        if "plan-commit" in done or (stages and min(stages) >= Stage.COMMITTED):
            plan.phase = "done"
        elif "plan-failover" in done or (stages and min(stages) >= Stage.FAILED_OVER):
            plan.phase = "failed-over"
        elif "create-recovery-plan" in done:
            plan.phase = "created"
        else:
            try:
                self.rt.asr.get_recovery_plan(plan.name)
                plan.phase = "created"
            except AzureResourceNotFoundError:
                pass

    def _find_job(self, plan: _Plan, step: str, started: datetime | None) -> str | None:
        """The ASR job a plan step started when ec2asr did not hear of it (a crash, or an answer
        lost): one of the step's scenario on this plan, started after the step's write-ahead
        entry, and not one the journal already knows.

        Raises:
            AzureError: ASR's jobs cannot be read.
        """
        scenarios = _PLAN_SCENARIOS.get(step)
        if started is None or scenarios is None:
            return None
        return _unconfirmed.accepted_plan_job(self.rt, plan.name, scenarios, started)

    @property
    def settled(self) -> bool:
        """True when no plan has an operation in flight or a step it can take."""
        return all(p.op_key is None and p.unconfirmed is None for p in self.plans) and all(
            p.phase in ("done", "waiting") or self._next_stage(p) is None for p in self.plans
        )

    def _next_stage(self, plan: _Plan) -> Stage | None:
        """The stage the plan's next step brings its members to, None when the run's ``until``
        (or the lack of members) stops it: a run until ``failed-over`` never commits."""
        members = self._members(plan)
        if not members:
            return None
        stages = {m.stage for m in members}
        if plan.phase == "failed-over" and stages == {Stage.TEST_CLEANED_UP}:
            plan.phase = "created"  # rolled back before commit: the plan exists, fail over again
        if plan.phase == "waiting" and stages == {Stage.TEST_CLEANED_UP}:
            wanted = Stage.SOURCE_STOPPED  # create the plan, then stop the sources
        elif plan.phase == "created" and stages <= {Stage.TEST_CLEANED_UP, Stage.SOURCE_STOPPED}:
            wanted = Stage.FAILED_OVER if stages == {Stage.SOURCE_STOPPED} else Stage.SOURCE_STOPPED
        elif plan.phase == "failed-over":
            wanted = Stage.COMMITTED
        else:
            return Stage.COMPLETED  # a transitional phase: keep observing
        return wanted if self.rt.options.until >= wanted else None

    # -- acting -------------------------------------------------------------------------------

    def act(self) -> None:
        """Take every plan-level step that can start now."""
        if not self.rt.options.confirm_cutover:
            return
        for plan in self.plans:
            if plan.unconfirmed is not None:
                self._settle(plan, *plan.unconfirmed)
                continue  # what ASR said is acted on next cycle
            if plan.op_key is not None:
                continue
            members = self._members(plan)
            if not members or self._next_stage(plan) is None:
                continue
            stages = {m.stage for m in members}
            if plan.phase == "waiting" and stages == {Stage.TEST_CLEANED_UP}:
                self._create(plan, members)
            elif plan.phase == "created" and stages == {Stage.TEST_CLEANED_UP}:
                ready = [m for m in members if not m.data.get("stop_requested_at")]
                if any(_cutover.leftover_vm(self.rt, m) for m in ready):
                    continue  # a person deletes the VM an earlier rollback left first
                if ready:
                    for m in ready:
                        self.rt.update(m, data={"recovery_plan": plan.name})
                    stop_sources(self.rt, ready)
            elif plan.phase == "created" and stages == {Stage.SOURCE_STOPPED}:
                if self._drained(plan, members):
                    self._failover(plan, members)
            elif (
                plan.phase == "failed-over"
                and stages == {Stage.FAILED_OVER}
                and _cutover.all_checked(members)
            ):
                self._commit(plan)

    def _commit(self, plan: _Plan) -> None:
        name = plan.name
        self._issue(plan, "plan-commit", lambda: self.rt.asr.begin_plan_commit(name))

    def observe(self) -> None:
        """Nothing to read beyond the shared sweep (plan jobs end through the tracker)."""

    def _drained(self, plan: _Plan, members: list[Live]) -> bool:
        """True when every member may fail over without data loss. One member whose data does
        not drain in time fails the whole plan (its failover would take every member)."""
        states = [_cutover.drained(self.rt, m) for m in members]
        failed = [m for m in members if m.status is MachineStatus.FAILED]
        if failed:
            error = failed[0].record.error_message or "data pending"
            for m in members:
                if m.status is not MachineStatus.FAILED:
                    self.rt.fail(
                        m,
                        DataPendingError(
                            f"recovery plan {plan.name} cannot fail over: "
                            f"{', '.join(f.iid for f in failed)} did not drain ({error})",
                            instance_id=m.iid,
                        ),
                        step="cutover-drain",
                    )
            return False
        return all(state is True for state in states)

    def _create(self, plan: _Plan, members: list[Live]) -> None:
        items = {m.iid: m.item for m in members}
        if any(i is None for i in items.values()):
            return  # the next sweep brings the protected items
        groups = [[items[i] for i in g if items.get(i) is not None] for g in plan.groups]
        groups = [g for g in groups if g]
        fabric_id = self.rt.fleet.fabric.id
        self._issue(
            plan,
            "create-recovery-plan",
            lambda: self.rt.asr.begin_create_recovery_plan(
                plan.name,
                fabric_id=fabric_id,
                groups=groups,  # type: ignore[arg-type]
            ),
        )

    def _failover(self, plan: _Plan, members: list[Live]) -> None:
        for m in members:
            item, stop = m.item, _cutover.stop_time(m)
            assert item is not None
            assert stop is not None
            self.rt.update(
                m,
                data={
                    "cutover": _cutover.evidence(item, stop, self.rt.now()),
                    "rpo_at_failover_seconds": item.last_rpo_seconds,
                    "failover_point_checked": None,
                },
            )
        self._issue(
            plan,
            "plan-failover",
            lambda: self.rt.asr.begin_plan_unplanned_failover(
                plan.name, recovery_point_type="Latest"
            ),
        )

    def _issue(self, plan: _Plan, step: str, begin: Any) -> None:
        record = self.rt.journal.begin_step(plan.subject, step)
        self.rt.events.emit(EventKind.STEP_STARTED, f"{step} {plan.name}")
        try:
            op = begin()
        except Ec2AsrError as exc:
            if _unconfirmed.outcome_unknown(exc) and record.started_at is not None:
                # Azure may have accepted it: ask ASR's jobs before anything is sent again.
                self._settle(plan, step, record.id, record.started_at, error=exc)
                return
            self.rt.journal.end_step(record.id, succeeded=False, error=str(exc))
            if not is_transient(exc):
                for m in self._members(plan):
                    self.rt.fail(m, exc, step=step)
            return
        self.rt.journal.step_accepted(
            record.id,
            job_name=op.job_name,
            polling_url=op.polling_url,
            continuation_token=op.continuation_token,
        )
        self._follow(plan, step, op.job_name, record.id, None, op=op)

    def _settle(
        self,
        plan: _Plan,
        step: str,
        step_id: int,
        started: datetime,
        *,
        error: Ec2AsrError | None = None,
    ) -> None:
        """Settle a plan write whose answer was lost: follow the job ASR started for it, or
        close the step as never having reached Azure (the next cycle sends it again); when
        ASR's jobs cannot be read, keep the step open and ask again next cycle."""
        try:
            job = self._find_job(plan, step, started)
        except Ec2AsrError as exc:
            plan.unconfirmed = (step, step_id, started)
            self.rt.events.emit(
                EventKind.WARNING,
                f"{step} {plan.name}: Azure's answer was lost and its jobs cannot be read yet "
                f"({exc}); asking again before anything is sent",
            )
            return
        plan.unconfirmed = None
        if job is None:
            reason = f"never reached Azure ({error})" if error else "never reached Azure"
            self.rt.journal.end_step(step_id, succeeded=False, abandoned=True, error=reason)
            self.rt.events.emit(EventKind.WARNING, f"{step} {plan.name}: {reason}; sent again")
            return
        self.rt.journal.step_accepted(step_id, job_name=job)
        self.rt.events.emit(
            EventKind.INFO,
            f"{step} {plan.name}: Azure's answer was lost, but ASR accepted it (job {job}): "
            "following it",
        )
        self._follow(plan, step, job, step_id, started)

    def _follow(
        self,
        plan: _Plan,
        step: str,
        job_name: str | None,
        step_id: int,
        issued_at: datetime | None,
        op: Any = None,
    ) -> None:
        key = f"{plan.subject}:{step}"
        self.rt.tracker.track(
            key,
            step=step,
            item_name=plan.name,
            operation=op,
            job_name=job_name,
            issued_at=issued_at or self.rt.now(),
        )
        self.rt.ops[key] = f"{plan.subject}#{step_id}"
        plan.op_key = key
        plan.phase = {
            "create-recovery-plan": "creating",
            "plan-failover": "failing-over",
            "plan-commit": "committing",
        }[step]

    def _operation_finished(self, subject: str, op: Any) -> None:
        plan_subject, _, step_id = subject.partition("#")
        plan = next((p for p in self.plans if p.subject == plan_subject), None)
        if plan is None:
            return
        plan.op_key = None
        error = op.error()
        self.rt.journal.end_step(
            int(step_id),
            succeeded=error is None,
            error=str(error) if error else None,
            detail={"job": op.job_name},
        )
        members = self._members(plan)
        if error is not None:
            plan.phase = {
                "create-recovery-plan": "waiting",
                "plan-failover": "created",
                "plan-commit": "failed-over",
            }[op.step]
            for m in members:
                self.rt.fail(m, error, step=op.step)
            return
        if op.step == "create-recovery-plan":
            plan.phase = "created"
            self.rt.events.emit(EventKind.INFO, f"recovery plan {plan.name} created")
        elif op.step == "plan-failover":
            plan.phase = "failed-over"
            for m in members:
                self.rt.reach(
                    m,
                    Stage.FAILED_OVER,
                    f"failed over with recovery plan {plan.name}",
                    recovery_plan=plan.name,
                    job_plan_failover=op.job_name,
                )
        elif op.step == "plan-commit":
            plan.phase = "done"
            for m in members:
                self.rt.reach(
                    m,
                    Stage.COMMITTED,
                    f"committed with recovery plan {plan.name}",
                    job_plan_commit=op.job_name,
                )
