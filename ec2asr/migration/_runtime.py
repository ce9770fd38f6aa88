"""The state one ``Migration.run`` works with, and the primitives every step uses.

Every change of a machine's stage goes through :meth:`Runtime.reach` (journal first, then the
event); every ASR write goes through :meth:`Runtime.issue` (write-ahead journal entry, the
request, the journal entry with the job name, polling URL and continuation token, then the
shared :class:`~ec2asr.azure.jobs.JobTracker`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from ec2asr.azure.items import ProtectedItem
from ec2asr.azure.jobs import JobTracker
from ec2asr.azure.models import ApplianceFabric, AsrPolicy, DiscoveredMachine
from ec2asr.azure.operation import AsrOperation
from ec2asr.azure.site_recovery import SiteRecoveryClient
from ec2asr.errors import (
    AsrJobError,
    AzureConflictError,
    AzureError,
    AzurePermissionError,
    AzureResourceNotFoundError,
    Ec2AsrError,
    MobilityError,
)
from ec2asr.events import EventDispatcher, EventKind
from ec2asr.migration import _unconfirmed
from ec2asr.migration._schedule import Placement, writes_per_cycle
from ec2asr.migration.journal import Journal, MachineRecord
from ec2asr.migration.plan import MachinePlan, RecoveryPlanSpec
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.mobility.base import ApplianceEndpoint, MobilityInstaller

logger = logging.getLogger("ec2asr")

MAX_TRANSIENT_ATTEMPTS = 5


@attrs.define
class FleetContext:
    """What ``prepare`` established for the whole fleet."""

    fabric: ApplianceFabric
    container: str
    policy: AsrPolicy
    appliance: ApplianceEndpoint


@attrs.define
class RunOptions:
    """How far and how a run goes."""

    until: Stage = Stage.COMPLETED
    confirm_cutover: bool = False
    test_migration: bool = True
    recovery_plan: RecoveryPlanSpec | None = None
    discovery_timeout: float = 3600.0
    timeout: float | None = None
    drain_timeout: float = 3600.0


@attrs.define
class Live:
    """A machine being driven by this run."""

    plan: MachinePlan
    record: MachineRecord
    op_key: str | None = None
    item: ProtectedItem | None = None
    waited: float = 0.0
    drain_since: datetime | None = None
    ir_first: tuple[datetime, int] | None = None
    """When this run first saw the machine's initial replication progress, and the percent."""
    item_due: datetime | None = None
    """While in initial replication: its item need not be read again before this time."""

    @property
    def iid(self) -> str:
        """The instance id."""
        return self.plan.instance_id

    @property
    def stage(self) -> Stage:
        """The last stage reached."""
        return self.record.stage

    @property
    def status(self) -> MachineStatus:
        """How it is doing."""
        return self.record.status

    @property
    def data(self) -> Mapping[str, Any]:
        """What the journal recorded about it."""
        return self.record.data

    @property
    def settled(self) -> bool:
        """True when this run has nothing more to do for it (done, failed, waiting on people)."""
        return self.op_key is None and self.status in (
            MachineStatus.DONE,
            MachineStatus.FAILED,
            MachineStatus.BLOCKED,
            MachineStatus.ROLLED_BACK,
            MachineStatus.WAITING,
        )


def is_transient(exc: Ec2AsrError) -> bool:
    """True for failures worth retrying next cycle (throttling, 5xx, connection trouble)."""
    if isinstance(
        exc, (AsrJobError, AzureConflictError, AzurePermissionError, AzureResourceNotFoundError)
    ):
        return False
    if isinstance(exc, AzureError):
        return exc.status_code is None or exc.status_code >= 500 or exc.status_code == 429
    code = getattr(exc, "code", None) or ""
    return "Throttl" in code or code in ("RequestLimitExceeded", "ServiceUnavailable")


@attrs.define
class Runtime:
    """Dependencies and shared helpers of one run."""

    journal: Journal
    asr: SiteRecoveryClient
    tracker: JobTracker
    events: EventDispatcher
    installer: MobilityInstaller
    control: Any
    leases: Any
    now: Callable[[], datetime]
    options: RunOptions
    fleet: FleetContext
    concurrency: int | None = None
    """At most this many ASR operations in flight (None: only ASR's and ARM's limits)."""
    manage_security_groups: bool = False
    ec2_client: Any = None
    ssm_client: Any = None
    migration_id: str = "ec2asr"
    ops: dict[str, str] = attrs.field(factory=dict)
    """Tracker key -> instance id (or ``plan:<name>``)."""
    discovered: dict[str, DiscoveredMachine] = attrs.field(factory=dict)
    """The appliance's discovered machines, by ARM id (refreshed when needed)."""
    run_as_accounts: dict[str, str] | None = None
    failed_sweeps: int = 0
    on_plan_operation: Callable[[str, Any], None] | None = None
    on_rollback: Callable[[Live], None] | None = None
    placement: Placement | None = None
    """The appliances' process servers and their room (made on first use)."""
    cycle_writes: int = 0
    """ASR writes issued since :meth:`start_cycle`."""
    _cycle_allowance: int | None = None

    # -- appliance lookups -----------------------------------------------------------------

    def refresh_discovered(self) -> list[DiscoveredMachine]:
        """Read the appliance's discovered machines (one paginated call)."""
        found = list(self.asr.list_discovered_machines(self.fleet.fabric))
        self.discovered = {d.id: d for d in found}
        return found

    def discovered_ips(self) -> set[str]:
        """Every IP address of every discovered machine (as of the last refresh)."""
        if not self.discovered:
            self.refresh_discovered()
        return {ip for d in self.discovered.values() for ip in d.ip_addresses}

    def run_as_account_id(self, name: str) -> str:
        """The ARM id of the appliance credential called ``name``.

        Raises:
            MobilityError: No credential of that name was added on the appliance.
        """
        if self.run_as_accounts is None or name not in self.run_as_accounts:
            accounts = self.asr.list_run_as_accounts(self.fleet.fabric)
            self.run_as_accounts = {}
            for account in accounts:
                self.run_as_accounts[account.name] = account.id
                if account.display_name:
                    self.run_as_accounts[account.display_name] = account.id
        try:
            return self.run_as_accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.run_as_accounts)) or "none"
            raise MobilityError(
                f"no credential named {name!r} was added on the replication appliance "
                f"(known: {known}); add it in the appliance configuration manager"
            ) from None

    def plan_operation_finished(self, subject: str, op: Any) -> None:
        """A recovery-plan operation ended (handled by the recovery-plan cutover)."""
        if self.on_plan_operation is not None:
            self.on_plan_operation(subject, op)

    def rollback_finished(self, live: Live) -> None:
        """A rollback's disable-protection ended (handled by rollback)."""
        if self.on_rollback is not None:
            self.on_rollback(live)

    # -- journal + events ---------------------------------------------------------------

    def update(self, live: Live, **changes: Any) -> MachineRecord:
        """Update a machine's journal record (and the live copy)."""
        live.record = self.journal.update_machine(live.iid, **changes)
        return live.record

    def reach(self, live: Live, stage: Stage, message: str, **data: Any) -> None:
        """Record that a machine reached ``stage`` (journal first), then emit the event."""
        times = dict(live.data.get("stage_times") or {})
        times[stage.value] = self.now().isoformat()
        status = MachineStatus.DONE if stage >= self.options.until else MachineStatus.PENDING
        if stage is Stage.FAILED_OVER:
            status = MachineStatus.IN_PROGRESS  # until the point failed over to is journaled
        self.update(live, stage=stage, status=status, data={**data, "stage_times": times})
        self.events.emit(EventKind.STAGE_REACHED, message, instance_id=live.iid, stage=stage.value)

    def fail(self, live: Live, error: Ec2AsrError, *, step: str) -> None:
        """Record a permanent failure of one machine; the others carry on."""
        self.update(live, status=MachineStatus.FAILED, error=error)
        self.events.emit(
            EventKind.FAILED,
            f"{step} failed: {error}",
            instance_id=live.iid,
            stage=live.stage.value,
            data={"error": type(error).__name__, "step": step},
        )

    def wait_for(self, live: Live, reason: str, *, person: bool, level: int | None = None) -> None:
        """Mark a machine waiting (for a person, or for Azure/AWS); emit once per reason
        (logged at ``level`` when given, else at the event kind's level)."""
        status = MachineStatus.WAITING if person else MachineStatus.IN_PROGRESS
        if live.data.get("waiting") == reason and live.status is status:
            return
        self.update(live, status=status, data={"waiting": reason})
        kind = EventKind.ACTION_REQUIRED if person else EventKind.INFO
        self.events.emit(kind, reason, instance_id=live.iid, stage=live.stage.value, level=level)

    def transient(self, live: Live, error: Ec2AsrError, *, step: str) -> None:
        """Count a transient failure; fail the machine after too many in a row."""
        attempts = int(live.data.get("attempts", {}).get(step, 0)) + 1
        if attempts >= MAX_TRANSIENT_ATTEMPTS:
            self.fail(live, error, step=step)
            return
        self.update(live, status=MachineStatus.PENDING, data={"attempts": {step: attempts}})
        self.events.emit(
            EventKind.WARNING,
            f"{step} hit a transient error (attempt {attempts}), retrying: {error}",
            instance_id=live.iid,
            stage=live.stage.value,
        )

    # -- ASR writes ----------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """ASR operations issued and not finished (the tracker forgets finished ones)."""
        return len(self.tracker)

    def start_cycle(self) -> None:
        """A new cycle of writes begins (see :mod:`ec2asr.migration._schedule`)."""
        self.cycle_writes = 0

    @property
    def writes_per_cycle(self) -> int:
        """ASR writes one cycle may send: about one polling interval's worth of the budget."""
        if self._cycle_allowance is None:
            budget = getattr(getattr(self.asr, "rate_limiter", None), "writes", None)
            self._cycle_allowance = writes_per_cycle(budget, self.tracker.interval)
        return self._cycle_allowance

    def can_issue(self) -> bool:
        """True while another ASR operation may start: fewer than ``concurrency`` in flight
        (no cap when None) and this cycle's share of the write budget not spent."""
        if self.cycle_writes >= self.writes_per_cycle:
            return False
        return self.concurrency is None or self.in_flight < self.concurrency

    def appliances(self) -> Placement:
        """The appliances' process servers of the fabric and their room."""
        if self.placement is None:
            self.placement = Placement(self.fleet.fabric)
        return self.placement

    def issue(
        self,
        live: Live,
        step: str,
        begin: Callable[[], AsrOperation[Any]],
        *,
        detail: Mapping[str, Any] | None = None,
        aliases: frozenset[str] = frozenset(),
    ) -> bool:
        """Issue one ASR write for a machine, write-ahead; True when it was accepted.

        A write whose answer was lost is never sent again blindly: ASR's jobs say whether it
        was accepted (see :mod:`ec2asr.migration._unconfirmed`).
        """
        settled = self._settle_unconfirmed(live, step, aliases)
        if settled is not None:
            return settled
        record = self.journal.begin_step(live.iid, step, detail=detail)
        self.events.emit(
            EventKind.STEP_STARTED,
            step,
            instance_id=live.iid,
            stage=live.stage.value,
            record=False,
        )
        self.cycle_writes += 1
        try:
            op = begin()
        except Ec2AsrError as exc:
            if _unconfirmed.outcome_unknown(exc):
                self.update(live, data={"unconfirmed": {"step": step, "step_id": record.id}})
                settled = self._settle_unconfirmed(live, step, aliases, error=exc)
                if settled is not None:
                    return settled
                return False  # ASR cannot tell yet: the next attempt asks again first
            self.journal.end_step(record.id, succeeded=False, error=str(exc))
            if is_transient(exc):
                self.transient(live, exc, step=step)
            else:
                self.fail(live, exc, step=step)
            return False
        self.journal.step_accepted(
            record.id,
            job_name=op.job_name,
            polling_url=op.polling_url,
            continuation_token=op.continuation_token,
        )
        self.follow(live, step, job_name=op.job_name, step_id=record.id, op=op, aliases=aliases)
        return True

    def _settle_unconfirmed(
        self,
        live: Live,
        step: str,
        aliases: frozenset[str],
        *,
        error: Ec2AsrError | None = None,
    ) -> bool | None:
        """Settle a write of ``step`` whose answer was lost: True when ASR accepted it (its job
        is followed now), None when it did not (the write may be issued), False when ASR's
        jobs cannot be read (ask again next time)."""
        pending = live.data.get("unconfirmed") or {}
        if pending.get("step") != step:
            return None
        step_id = int(pending["step_id"])
        record = next((s for s in self.journal.steps(live.iid) if s.id == step_id), None)
        since = record.started_at if record is not None and record.started_at else self.now()
        try:
            job = _unconfirmed.accepted_job(self, live, step, since)
        except Ec2AsrError as exc:
            self.update(live, status=MachineStatus.PENDING)
            self.events.emit(
                EventKind.WARNING,
                f"{step}: Azure's answer was lost and its jobs cannot be read yet ({exc}); "
                "asking again before anything is sent",
                instance_id=live.iid,
                stage=live.stage.value,
            )
            return False
        self.update(live, data={"unconfirmed": None})
        if job is None:
            self.journal.end_step(
                step_id,
                succeeded=False,
                abandoned=True,
                error=f"never reached Azure ({error})" if error else "never reached Azure",
            )
            if error is not None:
                self.transient(live, error, step=step)
                return False
            return None
        self.journal.step_accepted(step_id, job_name=job)
        self.events.emit(
            EventKind.INFO,
            f"{step}: Azure's answer was lost, but ASR accepted it (job {job}): following it",
            instance_id=live.iid,
            stage=live.stage.value,
        )
        self.follow(live, step, job_name=job, step_id=step_id, issued_at=since, aliases=aliases)
        return True

    def follow(
        self,
        live: Live,
        step: str,
        *,
        job_name: str | None,
        step_id: int,
        op: AsrOperation[Any] | None = None,
        issued_at: datetime | None = None,
        aliases: frozenset[str] = frozenset(),
    ) -> None:
        """Track an accepted (or adopted) operation with the shared tracker."""
        key = f"{live.iid}:{step}"
        self.tracker.track(
            key,
            step=step,
            item_name=live.iid,
            operation=op,
            job_name=job_name,
            issued_at=issued_at or self.now(),
            aliases=aliases,
        )
        self.ops[key] = live.iid
        live.op_key = key
        self.update(
            live,
            status=MachineStatus.IN_PROGRESS,
            data={"inflight": {"step": step, "step_id": step_id, "job": job_name}},
        )
