"""``Migration``: the facade that composes discovery, ASR, the Mobility strategy and the journal.

It only orchestrates: every step is also a method of its own, everything it does is written to
the journal before and after it happens, and a new process with the same journal resumes where
the last one stopped (it reconciles with AWS and Azure first, and never issues a second enable,
failover or commit for a machine).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from ec2asr._validate import shown
from ec2asr.aws.discovery import Ec2Discovery
from ec2asr.aws.instances import InstanceControl
from ec2asr.aws.leases import SecurityGroupLeases
from ec2asr.azure.jobs import JobTracker, SweepScope
from ec2asr.azure.site_recovery import SiteRecoveryClient
from ec2asr.errors import (
    Ec2AsrError,
    InvalidInputError,
    MachineClaimedError,
)
from ec2asr.events import EventDispatcher, EventKind, MigrationEvent
from ec2asr.migration import _checks, _recovery_plan
from ec2asr.migration._facade_steps import StepMethods, _check_confirmation
from ec2asr.migration._observe import observe
from ec2asr.migration._planning import appliance_summary, build_plan
from ec2asr.migration._preparation import prepare_fleet
from ec2asr.migration._runtime import FleetContext, Live, RunOptions, Runtime
from ec2asr.migration._steps import act
from ec2asr.migration._workers import Crew, team_installer
from ec2asr.migration.journal import Journal
from ec2asr.migration.plan import (
    MachinePlan,
    MigrationPlan,
    RecoveryPlanSpec,
)
from ec2asr.migration.progress import ProgressBar
from ec2asr.migration.report import MigrationReport
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.mobility.base import MobilityInstaller
from ec2asr.models import SourceMachine
from ec2asr.settings import ReplicationPolicy, TargetSettings

__all__ = ["Migration"]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Migration(StepMethods):
    """Moves EC2 instances to Azure with Azure Site Recovery, resumably.

    The constructor does no I/O. ``plan()`` reads only; ``run()`` (or the step methods) act.

    Args:
        ec2: The EC2 discovery (its boto3 clients are reused for stop/start/tag and leases).
        asr: The Site Recovery client of the vault.
        installer: The Mobility strategy (:class:`~ec2asr.PushInstall`,
            :class:`~ec2asr.ManualInstall` or your own :class:`~ec2asr.MobilityInstaller`).
        target: Where the machines land in Azure.
        policy: The replication policy (created or reused).
        journal: A :class:`~ec2asr.Journal`, the path of its SQLite file, or a
            ``postgresql://`` URL (a :class:`~ec2asr.PostgresJournal` shared by workers).
        appliance: The appliance fabric's name when several are registered.
        vault_location: Create the vault in this region when it does not exist (None: it must).
        manage_security_groups: Add the missing replication rules (source egress and appliance
            ingress on TCP 443/9443) as temporary leases scoped to the appliance's /32, revoked
            after cutover; without it, missing rules block the machine in the plan.
        concurrency: At most this many ASR operations (jobs) in flight at once; ``None`` (the
            default): no cap of ec2asr's own, only ASR's and ARM's limits (the write budget
            paces the writes, each appliance takes about 200 replicating machines). A machine
            in initial replication holds no slot; machines under way take freed slots first.
        poll_interval: Seconds between observation sweeps (ASR's ``Retry-After`` can raise it).
        sleep: How to wait (injectable; tests never sleep for real).
        now: The current time in UTC, on the same clock as Azure's timestamps.
        on_event: Called with every :class:`~ec2asr.MigrationEvent`.
        progress: Draw a progress bar (terminal or Jupyter).
        name: A stable name for this migration (used for temporary resources).

    Raises:
        InvalidInputError: When an argument has the wrong type or value.
    """

    def __init__(
        self,
        *,
        ec2: Ec2Discovery,
        asr: SiteRecoveryClient,
        installer: MobilityInstaller,
        target: TargetSettings,
        policy: ReplicationPolicy,
        journal: Journal | str | os.PathLike[str],
        appliance: str | None = None,
        vault_location: str | None = None,
        manage_security_groups: bool = False,
        concurrency: int | None = None,
        poll_interval: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utcnow,
        on_event: Callable[[MigrationEvent], None] | None = None,
        progress: bool = False,
        name: str = "ec2asr",
    ) -> None:
        checks: Sequence[tuple[str, Any, Any]] = (
            ("ec2", ec2, Ec2Discovery),
            ("asr", asr, SiteRecoveryClient),
            ("target", target, TargetSettings),
            ("policy", policy, ReplicationPolicy),
        )
        for label, value, kind in checks:
            if not isinstance(value, kind):
                raise InvalidInputError(f"{label} must be a {kind.__name__}, not {shown(value)}")
        if not isinstance(installer, MobilityInstaller):
            raise InvalidInputError(
                "installer must have an install(machines, context) method (PushInstall, "
                f"ManualInstall or your own), not {shown(installer)}"
            )
        _checks.check_init(
            journal=journal,
            appliance=appliance,
            vault_location=vault_location,
            manage_security_groups=manage_security_groups,
            concurrency=concurrency,
            poll_interval=poll_interval,
            sleep=sleep,
            now=now,
            on_event=on_event,
            progress=progress,
            name=name,
        )
        self.ec2 = ec2
        self.asr = asr
        self.installer = installer
        self.target = target
        self.policy = policy
        # The journal keeps time on the migration's clock (the one Azure's jobs are compared with).
        self.journal = journal if isinstance(journal, Journal) else Journal(journal, clock=now)
        self.appliance = appliance
        self.vault_location = vault_location
        self.manage_security_groups = manage_security_groups
        self._leases: SecurityGroupLeases | None = None
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._now = now
        self._callbacks = [on_event] if on_event is not None else []
        self._progress = progress
        self.name = name
        self._fleet: FleetContext | None = None

    def __repr__(self) -> str:
        return f"Migration(name={self.name!r}, journal={self.journal.location!r})"

    @property
    def leases(self) -> SecurityGroupLeases:
        """The journal-backed security-group leases of this migration."""
        if self._leases is None:
            self._leases = SecurityGroupLeases(
                self.ec2.ec2_client, self.journal, namespace=self.name
            )
        return self._leases

    def close(self) -> None:
        """Release the journal (and its lock)."""
        self.journal.close()

    def __enter__(self) -> Migration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- planning ----------------------------------------------------------------------------

    def plan(
        self,
        machines: Iterable[SourceMachine],
        *,
        acknowledge_instance_store: Iterable[str] = (),
        test_migration: bool = True,
        recovery_plan: RecoveryPlanSpec | None = None,
    ) -> MigrationPlan:
        """Plan the migration of ``machines``: readiness, connectivity, targets, capacity.

        Writes nothing anywhere (it reads EC2 and the vault). Everything that can be checked
        without writing is checked here: the arguments, the machines' region, the installer's
        own preflight (a missing agent configuration file), the targets (names, sizes, tags),
        the recovery plan's groups.

        Raises:
            InvalidInputError: Bad machines or options: not SourceMachine objects, one listed
                twice, a machine of another region than the EC2 client, an installer that
                cannot run, a target or recovery plan that does not fit the machines.
            AzureError: The vault or appliance cannot be read.
            AwsError: EC2 cannot be read.
        """
        machines = _checks.check_machines(self, machines)
        _checks.check_plan_options(test_migration=test_migration, recovery_plan=recovery_plan)
        _checks.preflight_installer(self.installer)
        return build_plan(
            self,
            machines,
            acknowledge_instance_store=acknowledge_instance_store,
            test_migration=test_migration,
            recovery_plan=recovery_plan,
        )

    def _cutting_over(self) -> frozenset[str]:
        """Machines whose cutover this migration's journal has begun (their sources are stopped
        on purpose). Read without the lock when the journal is not open here; no journal yet
        means none."""
        if self.journal.is_open:
            records = self.journal.machines()
        elif self.journal.exists():
            with self.journal.reader() as snapshot:
                records = snapshot.machines()
        else:
            return frozenset()
        return frozenset(
            r.instance_id
            for r in records
            if r.status is not MachineStatus.BLOCKED
            and (r.stage >= Stage.SOURCE_STOPPED or r.data.get("stop_requested_at"))
        )

    # -- running -----------------------------------------------------------------------------

    def prepare(self, plan: MigrationPlan) -> FleetContext:
        """Vault, appliance, policy and container mapping; record the machines in the journal.

        Raises:
            AzureConflictError: A same-named policy exists with other settings.
            AzureError: Azure refused or failed a request.
            InvalidInputError: ``plan`` is not a MigrationPlan of this migration's region.
            JournalLockedError: Another process drives this journal.
        """
        plan = _checks.check_plan(self, plan, method="prepare")
        self.journal.open()
        _summary, endpoint, fabric = appliance_summary(self.asr, self.appliance)
        self._fleet = prepare_fleet(
            self.asr,
            self.journal,
            self.policy,
            endpoint,
            fabric,
            vault_location=self.vault_location,
            sleep=self._sleep,
        )
        for machine_plan in plan:
            try:
                self._record(machine_plan)
            except MachineClaimedError:
                continue  # a live worker drives it and has recorded it
        return self._fleet

    def _record(self, machine_plan: MachinePlan) -> None:
        """Record a planned machine in the journal (blocked or pending)."""
        record = self.journal.machine(machine_plan.instance_id)
        data = {"target": machine_plan.target.to_dict()}
        untouched = record is None or record.stage is Stage.PLANNED
        if untouched and not machine_plan.migrates:
            self.journal.update_machine(
                machine_plan.instance_id,
                name=machine_plan.machine.name,
                status=MachineStatus.BLOCKED,
                data={**data, "blockers": list(machine_plan.blockers)},
            )
        elif record is None:
            self.journal.update_machine(
                machine_plan.instance_id, name=machine_plan.machine.name, data=data
            )
        elif record.status is MachineStatus.BLOCKED and untouched:
            # Blocked by an earlier plan; this plan finds nothing in the way any more.
            self.journal.update_machine(
                machine_plan.instance_id,
                status=MachineStatus.PENDING,
                data={**data, "blockers": []},
            )

    def run(
        self,
        plan: MigrationPlan,
        *,
        until: Stage = Stage.COMPLETED,
        confirm_cutover: bool = False,
        test_migration: bool = True,
        recovery_plan: RecoveryPlanSpec | None = None,
        timeout: float | None = None,
        discovery_timeout: float = 3600.0,
        drain_timeout: float = 3600.0,
        only_from: Stage | None = None,
    ) -> MigrationReport:
        """Drive every machine of the plan that is not blocked up to ``until``.

        Machines move independently: one machine's failure is recorded and the others carry on.
        Without ``confirm_cutover=True`` no source is stopped and nothing fails over.

        Args:
            plan: From :meth:`plan`.
            until: The stage to reach (``Stage.COMPLETED`` by default).
            confirm_cutover: Allow stopping sources and failing over.
            test_migration: Rehearse with a test failover (and clean it up) before cutover.
            recovery_plan: Cut over with an ASR recovery plan (boot groups) instead of per machine.
            timeout: Return after waiting this many seconds (the work stays resumable).
            discovery_timeout: Fail a machine the appliance has not discovered this long after
                its agent was installed.
            drain_timeout: At cutover, how long (seconds) to wait after the source stopped for
                every write it made to reach Azure before failing the machine with
                :class:`~ec2asr.errors.DataPendingError` (it is never failed over with data
                still pending; it stays stopped).
            only_from: Touch only machines that already reached this stage.

        Returns:
            The report of every machine in the journal.

        Raises:
            InvalidInputError: Bad options (before anything is changed).
            JournalLockedError: Another process drives this journal.
            AzureError: Fleet-wide preparation failed (per-machine failures are recorded instead).
        """
        plan = _checks.check_plan(self, plan)
        _check_confirmation(confirm_cutover)
        _checks.check_run(
            until=until,
            test_migration=test_migration,
            recovery_plan=recovery_plan,
            timeout=timeout,
            discovery_timeout=discovery_timeout,
            drain_timeout=drain_timeout,
            only_from=only_from,
        )
        if test_migration and until > Stage.PROTECTED and not self.target.test_network_id:
            raise InvalidInputError(
                "a test migration needs TargetSettings.test_network_id; pass test_migration=False "
                "to cut over without rehearsing"
            )
        members = [p for p in plan if p.migrates]
        if recovery_plan is not None:
            _recovery_plan.validate(recovery_plan, [p.instance_id for p in members])
        _checks.preflight_installer(self.installer)
        fleet = self.prepare(plan)
        options = RunOptions(
            until=until,
            confirm_cutover=confirm_cutover,
            test_migration=test_migration,
            recovery_plan=recovery_plan,
            discovery_timeout=discovery_timeout,
            timeout=timeout,
            drain_timeout=drain_timeout,
        )
        rt = self._runtime(options, fleet, total=len(members))
        crew = Crew(self.journal, rt, plan, only_from=only_from)
        bar = self._progress_bar
        try:
            lives = crew.start()  # this worker's machines, reconciled with AWS and Azure
            if bar is not None:
                bar.seed((x.iid, x.stage, x.status, x.data.get("percent")) for x in lives)
            cutover = (
                _recovery_plan.PlanCutover(rt, lives)
                if recovery_plan is not None and lives
                else None
            )
            self._loop(rt, lives, cutover, crew)
        finally:
            crew.stop()
            if bar is not None:
                bar.close()  # also when the run raises: the terminal gets its streams back
        # The report reads every record again: the run's own copies (each machine's plan,
        # record, protected item) go first, so that both are never held at once.
        del lives, cutover, crew, rt
        return self.status()

    _progress_bar: ProgressBar | None = None

    def _runtime(self, options: RunOptions, fleet: FleetContext, *, total: int) -> Runtime:
        callbacks: list[Callable[[MigrationEvent], None]] = list(self._callbacks)
        self._progress_bar = None
        if self._progress:
            self._progress_bar = ProgressBar(
                total, until=options.until, confirm_cutover=options.confirm_cutover
            )
            callbacks.append(self._progress_bar)
        events = EventDispatcher(callbacks, sink=self.journal, clock=self._now)
        tracker = JobTracker(
            self.asr,
            interval=self.poll_interval,
            sleep=self._sleep,
            now=self._now,
            scope=SweepScope(
                fabric_id=fleet.fabric.id,
                fabric_name=fleet.fabric.name,
                container_name=fleet.container,
            ),
        )
        return Runtime(
            journal=self.journal,
            asr=self.asr,
            tracker=tracker,
            events=events,
            installer=team_installer(
                self.installer, self.journal, sleep=self._sleep, poll=self.poll_interval
            ),
            control=InstanceControl(self.ec2.ec2_client),
            leases=self.leases,
            manage_security_groups=self.manage_security_groups,
            now=self._now,
            options=options,
            fleet=fleet,
            concurrency=self.concurrency,
            ec2_client=self.ec2.ec2_client,
            ssm_client=self.ec2.ssm_client,
            migration_id=self.name,
        )

    def _loop(self, rt: Runtime, lives: list[Live], cutover: Any, crew: Crew) -> None:
        waited = 0.0
        while True:
            with crew.guard(lives):
                crew.cycle(lives)
                act(rt, lives, self.target)
                if cutover is not None:
                    cutover.act()
            busy = [live for live in lives if not live.settled]
            if (
                not busy
                and rt.in_flight == 0
                and (cutover is None or cutover.settled)
                and crew.done
            ):
                break
            if rt.options.timeout is not None and waited >= rt.options.timeout:
                rt.events.emit(
                    EventKind.INFO,
                    f"returning after {waited:.0f} s as asked; run again to carry on",
                )
                break
            elapsed = rt.tracker.wait()
            waited += elapsed
            with crew.guard(lives):
                observe(rt, lives, elapsed)
                if cutover is not None:
                    cutover.observe()

    def status(self) -> MigrationReport:
        """The report of every machine in the journal (opens it read-write if needed).

        Raises:
            JournalLockedError: Another process drives this journal.
        """
        self.journal.open()
        return MigrationReport.from_records(
            self.journal._machines_in_batches(), generated_at=self._now()
        )

    def _fail_all(self, lives: Sequence[Live], rt: Runtime, error: Ec2AsrError) -> None:
        for live in lives:
            rt.fail(live, error, step="run")
