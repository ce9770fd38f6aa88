"""Which machines this run drives: alone (SQLite), or as one of a team of workers (PostgreSQL).

A SQLite journal's lock makes its process the only worker: :class:`Crew` hands it every machine
of the plan at the start, as before team mode.

On a PostgreSQL journal every :meth:`~ec2asr.Migration.run` is a worker. Each cycle its crew:

1. renews this worker's claims (on the database server's clock) and drops any machine another
   worker took over (this worker had stalled past ``claim_ttl``);
2. counts the machines of the plan that still need work and the live workers, and claims
   machines no live worker holds up to its fair share (``ceil(needing / workers)``); a machine
   whose worker died is among them once its claim expired. Newly claimed machines are
   reconciled with AWS and Azure before anything is done for them, exactly as a re-run
   reconciles (:mod:`ec2asr.migration._reconcile`): never a second enable, failover or commit;
3. gives back machines above its share that have nothing in flight (a worker that started
   first and took everything shares it once the others have joined).

A recovery plan is cut over by one worker: its members are claimed all together or not at all.
A worker stays until no machine of the plan needs work, so it can take over from one that dies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ec2asr.azure._budget import BudgetStore
from ec2asr.azure._pipeline import ArmRateLimiter
from ec2asr.errors import ClaimLostError, MachineClaimedError
from ec2asr.events import EventKind
from ec2asr.migration import _reconcile
from ec2asr.migration._runtime import Live, Runtime
from ec2asr.migration.journal import Journal
from ec2asr.migration.plan import MigrationPlan
from ec2asr.migration.records import MachineRecord
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.mobility.base import InstallContext, InstallResult, MobilityInstaller
from ec2asr.models import SourceMachine

__all__ = ["Crew", "OneInstallerAtATime", "holding", "refuse_if_held", "team_installer"]


def needs_work(record: MachineRecord, changed_before_run: bool, until: Stage) -> bool:
    """True when a run to ``until`` has something to do for this machine."""
    status = record.status
    if status in (MachineStatus.PENDING, MachineStatus.IN_PROGRESS):
        return True
    if status is MachineStatus.DONE:
        return record.stage < until
    if status is MachineStatus.BLOCKED:
        return False
    # Failed, waiting for a person, rolled back: a new run retries it, this one does not.
    return changed_before_run


class Crew:
    """The machines one run drives, claimed from the journal.

    Args:
        journal: The open journal.
        rt: The run's runtime.
        plan: The plan being run.
        only_from: Touch only machines that already reached this stage.
    """

    def __init__(
        self, journal: Journal, rt: Runtime, plan: MigrationPlan, *, only_from: Stage | None
    ) -> None:
        self.journal = journal
        self.rt = rt
        self.members = {p.instance_id: p for p in plan}
        self.only_from = only_from
        self.shared = journal.shared
        self.all_or_nothing = rt.options.recovery_plan is not None
        self.done = not self.shared
        """No machine of the plan needs work outside this worker's lives."""
        self._own_budget: BudgetStore | None = None

    # -- which machines --------------------------------------------------------------------

    def eligible(self, record: MachineRecord, changed_before_run: bool) -> bool:
        """Whether this run drives the machine (given its journal record)."""
        plan = self.members.get(record.instance_id)
        if plan is None:
            return False
        if self.only_from is not None and record.stage < self.only_from:
            return False
        started = record.stage > Stage.PLANNED and record.status is not MachineStatus.BLOCKED
        if not plan.migrates and not started:
            return False
        if not self.shared:
            return True  # the lone process keeps every machine of its plan, settled ones too
        return needs_work(record, changed_before_run, self.rt.options.until)

    def _live(self, record: MachineRecord) -> Live:
        plan = self.members[record.instance_id]
        if not plan.migrates:
            # Work under way is carried on (an ASR job may be in flight); say why it is
            # noteworthy rather than leaving the machine half-migrated.
            self.rt.events.emit(
                EventKind.WARNING,
                "carrying on with a migration already under way although the new plan "
                f"blocks it: {'; '.join(plan.blockers)}",
                instance_id=plan.instance_id,
                stage=record.stage.value,
            )
        return Live(plan=plan, record=record)

    def _adopt(self, lives: list[Live], records: Sequence[MachineRecord]) -> None:
        """Add newly claimed machines, reconciled with AWS and Azure first."""
        known = {live.iid for live in lives}
        new = [self._live(r) for r in self._in_plan_order(records) if r.instance_id not in known]
        if not new:
            return
        if self.shared:
            for live in new:  # who drives it, for status readers and the next worker
                self.rt.update(live, data={"worker": self.journal.worker_id})
        _reconcile.reconcile(self.rt, new)
        lives.extend(new)
        position = {iid: n for n, iid in enumerate(self.members)}
        lives.sort(key=lambda live: position[live.iid])

    def _in_plan_order(self, records: Sequence[MachineRecord]) -> list[MachineRecord]:
        position = {iid: n for n, iid in enumerate(self.members)}
        return sorted(records, key=lambda r: position[r.instance_id])

    def _takeover(self, instance_id: str, previous: str) -> None:
        self.rt.events.emit(
            EventKind.WARNING,
            f"taking over from worker {previous} (its claim expired): reconciling with AWS and "
            "Azure before anything else",
            instance_id=instance_id,
        )

    # -- the run ---------------------------------------------------------------------------

    def start(self) -> list[Live]:
        """Register, claim this worker's first machines, reconcile them; return their lives."""
        self._own_budget = share_budget(self.rt.asr, self.journal)
        self.journal.register_worker()
        lives: list[Live] = []
        if not self.shared:
            records = self.journal.claim(self.members, eligible=self.eligible)
            new = [self._live(r) for r in self._in_plan_order(records)]
            _reconcile.reconcile(self.rt, new)
            return new
        if self.all_or_nothing:
            self._wait_for_all(lives)
        else:
            self.cycle(lives)
        return lives

    def _wait_for_all(self, lives: list[Live]) -> None:
        """A recovery plan: wait (safely) until this worker holds every member needing work."""
        waited = 0.0
        while True:
            records = self.journal.claim(
                self.members,
                eligible=self.eligible,
                all_or_nothing=True,
                on_takeover=self._takeover,
            )
            if records:
                self._adopt(lives, records)
                self.done = True
                return
            self.journal.renew_claims()
            views = self.journal.survey(self.members)
            if not any(self.eligible(v.record, v.changed_before_run) for v in views):
                self.done = True
                return
            timeout = self.rt.options.timeout
            if timeout is not None and waited >= timeout:
                self.done = True
                return
            if waited == 0.0:
                holders = sorted({v.holder for v in views if v.holder})
                self.rt.events.emit(
                    EventKind.INFO,
                    f"the recovery plan's machines are held by "
                    f"{', '.join(holders) or 'another worker'}; waiting to take over if it stops",
                )
            waited += self.rt.tracker.wait()

    def cycle(self, lives: list[Live]) -> None:
        """Renew, drop what was lost, claim up to this worker's share, give back the surplus."""
        if not self.shared:
            return
        lost = self.journal.renew_claims()
        if lost:
            self.drop(lives, lost)
        if self.all_or_nothing:
            return
        views = self.journal.survey(self.members)
        mine = {live.iid for live in lives}
        needing = [v for v in views if self.eligible(v.record, v.changed_before_run)]
        self.done = all(v.record.instance_id in mine for v in needing)
        busy = [live for live in lives if not live.settled]
        share = math.ceil(len(needing) / self.journal.live_workers()) if needing else 0
        if len(busy) < share:
            free = [v.record.instance_id for v in needing if v.record.instance_id not in mine]
            records = self.journal.claim(
                free,
                eligible=self.eligible,
                limit=share - len(busy),
                on_takeover=self._takeover,
            )
            self._adopt(lives, records)
        elif len(busy) > share:
            self._give_back(lives, len(busy) - share)

    def _give_back(self, lives: list[Live], surplus: int) -> None:
        idle = [
            live
            for live in lives
            if live.op_key is None
            and live.status is MachineStatus.PENDING
            and not live.data.get("stop_requested_at")
        ]
        idle.sort(key=lambda live: live.stage)  # the least advanced first
        given = idle[:surplus]
        if not given:
            return
        self.journal.release_claims([live.iid for live in given])
        for live in given:
            lives.remove(live)

    def drop(self, lives: list[Live], instance_ids: frozenset[str] | set[str]) -> None:
        """Stop driving machines another worker took over (nothing more is written for them)."""
        for live in [live for live in lives if live.iid in instance_ids]:
            if live.op_key is not None:
                self.rt.tracker.forget(live.op_key)
                self.rt.ops.pop(live.op_key, None)
            lives.remove(live)
            self.rt.events.emit(
                EventKind.WARNING,
                f"worker {self.journal.worker_id} lost this machine to another worker (its "
                "claim expired while it stalled); it no longer drives it",
                instance_id=live.iid,
            )

    @contextmanager
    def guard(self, lives: list[Live]) -> Iterator[None]:
        """Turn a claim lost in the middle of a cycle into dropping the machine."""
        try:
            yield
        except ClaimLostError as exc:
            self.drop(lives, set(exc.holders))

    def stop(self) -> None:
        """Release every claim and withdraw this worker; the client draws on the budget it
        had before the run again (the journal's closes with it)."""
        try:
            self.journal.unregister_worker()
        finally:
            if self._own_budget is not None:
                self.rt.asr.rate_limiter.share(self._own_budget)
                self._own_budget = None


def share_budget(asr: Any, journal: Journal) -> BudgetStore | None:
    """Make every worker of a shared journal draw ARM tokens from the journal's database
    (``ArmRateLimiter.share``); return the store the client drew on until now (None: a
    journal without a budget of its own, the client's is left alone)."""
    store = journal.budget_store()
    if store is None:
        return None
    limiter: ArmRateLimiter = asr.rate_limiter
    return limiter.share(store)


@contextmanager
def holding(journal: Journal, instance_ids: Sequence[str], what: str) -> Iterator[None]:
    """Hold the machines' claims while ``what`` acts on them (rollback, abort), refusing
    before anything is written while a live worker holds one of them.

    Raises:
        MachineClaimedError: Live workers hold some of the machines.
    """
    ids = list(dict.fromkeys(instance_ids))
    got = {r.instance_id for r in journal.claim(ids, all_or_nothing=True)}
    try:
        refuse_if_held(journal, journal.holders([i for i in ids if i not in got]), what)
    except MachineClaimedError:
        journal.release_claims(list(got))
        raise
    try:
        yield
    finally:
        journal.release_claims(list(got))


def refuse_if_held(journal: Journal, held: Mapping[str, str], what: str) -> None:
    """Refuse ``what`` while live workers hold machines (``held``: instance id -> worker).

    Raises:
        MachineClaimedError: ``held`` is not empty.
    """
    if not held:
        return
    workers = sorted(set(held.values()))
    raise MachineClaimedError(
        f"cannot {what} while live workers drive these machines: {', '.join(sorted(held))} "
        f"(held by {', '.join(workers)}); nothing was changed. Wait until they finish with "
        "them, or stop those workers and wait for their claims to expire.",
        holders=held,
        location=journal.location,
    )


class OneInstallerAtATime:
    """Team mode: one worker at a time hands its machines to the Mobility installer.

    The workers of a migration share its name, so they share what the installer names after it:
    the Parameter Store entry holding the agent configuration (written before the install and
    deleted right after), a bundle's folder. Two workers installing at once would delete the
    configuration under each other's agents. Installing in turn keeps the secret's lifetime to
    one install at a time.

    Args:
        installer: The migration's installer.
        journal: The shared journal (its advisory lock ``mobility-install``).
        sleep: How to wait while another worker installs.
        poll: Seconds between looks at the lock.
    """

    def __init__(
        self,
        installer: MobilityInstaller,
        journal: Journal,
        *,
        sleep: Callable[[float], None],
        poll: float,
    ) -> None:
        self.installer = installer
        self.journal = journal
        self._sleep = sleep
        self._poll = poll

    def install(
        self, machines: Sequence[SourceMachine], context: InstallContext
    ) -> Sequence[InstallResult]:
        """The wrapped installer's ``install``, once no other worker is installing."""
        with self.journal.exclusive("mobility-install", sleep=self._sleep, poll=self._poll):
            return self.installer.install(machines, context)


def team_installer(
    installer: MobilityInstaller, journal: Journal, *, sleep: Callable[[float], None], poll: float
) -> MobilityInstaller:
    """The installer a run uses: taking turns with the other workers of a shared journal."""
    if not journal.shared:
        return installer
    return OneInstallerAtATime(installer, journal, sleep=sleep, poll=max(poll, 0.05))
