"""``JobTracker``: one poller for every in-flight ASR operation.

Polling one operation-status URL per machine makes a fleet of a thousand machines cost a
thousand reads per cycle. The tracker instead sweeps ``replicationJobs`` (one paginated list of
the jobs started since the oldest in-flight operation) and, when asked, protected items, per
cycle, and matches each job to its operation by job name — or, when ASR named no job, by the
item it targets, its scenario and its start time.

With a :class:`SweepScope` (a migration's fabric and protection container) the sweep reads
only what is the migration's: jobs with ``$filter=FabricId eq '<fabric>'`` and items through
the container (``ListByReplicationProtectionContainers``), or one GET per item when fewer items
are wanted than the container's list has pages. Several migrations on one vault (each on its
own appliance) then do not read each other's jobs and items. Pages are read from their JSON
into ec2asr's models; no SDK model is built.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs

from ec2asr.azure.items import AsrJob, ProtectedItem
from ec2asr.azure.operation import AsrOperation
from ec2asr.errors import AsrJobError, AzureResourceNotFoundError, InvalidInputError

if TYPE_CHECKING:
    from ec2asr.azure.site_recovery import SiteRecoveryClient

__all__ = ["JobTracker", "SweepResult", "SweepScope", "TrackedOperation"]

SCENARIOS: Mapping[str, frozenset[str]] = {
    "enable-replication": frozenset({"EnableDr", "EnableProtection", "EnableReplication"}),
    "test-failover": frozenset({"TestFailover"}),
    "test-failover-cleanup": frozenset({"TestFailoverCleanup"}),
    "unplanned-failover": frozenset({"UnplannedFailover", "Failover"}),
    "commit": frozenset({"Commit", "CommitFailover", "FailoverCommit"}),
    "complete-migration": frozenset({"DisableDr", "DisableProtection", "RemoveProtection"}),
    "disable-replication": frozenset({"DisableDr", "DisableProtection", "RemoveProtection"}),
    "change-recovery-point": frozenset({"ChangeRecoveryPoint", "ApplyRecoveryPoint", "ChangePit"}),
}
"""ASR scenario names per ec2asr step, used only when ASR did not name the job."""

_SKEW = timedelta(minutes=5)


@attrs.frozen
class SweepScope:
    """What one migration's sweeps read: the jobs under its fabric, the items of its container.

    Attributes:
        fabric_id: The fabric's ARM id (the jobs' ``$filter=FabricId``); None: every job.
        fabric_name: The fabric's name (with ``container_name``: the items' container).
        container_name: The protection container; None: the vault's items.
    """

    fabric_id: str | None = None
    fabric_name: str | None = None
    container_name: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.fabric_name is None) != (self.container_name is None):
            raise InvalidInputError("a sweep scope names both the fabric and the container")

    @property
    def has_container(self) -> bool:
        """True when items are read through the container."""
        return self.fabric_name is not None and self.container_name is not None


@attrs.define
class TrackedOperation:
    """An ASR operation the tracker follows.

    Attributes:
        key: The caller's key (``"i-0abc:unplanned-failover"``).
        step: The ec2asr step name (a key of :data:`SCENARIOS`).
        item_name: The protected item (or recovery plan) it acts on.
        job_name: The ASR job, once known.
        issued_at: When it was issued (UTC), to match jobs when no name is known.
        state: The job's last state (``None`` until seen).
        job: The last job seen.
    """

    key: str
    step: str
    item_name: str | None
    job_name: str | None
    issued_at: datetime
    polling_url: str | None = None
    aliases: frozenset[str] = frozenset()
    state: str | None = None
    job: AsrJob | None = None

    @property
    def finished(self) -> bool:
        """True when its job reached a terminal state."""
        return self.job is not None and self.job.is_terminal

    @property
    def succeeded(self) -> bool:
        """True when its job succeeded."""
        return self.job is not None and self.job.succeeded

    def error(self) -> AsrJobError | None:
        """The job's error when it ended badly, else None."""
        if self.job is None or not self.job.is_terminal or self.job.succeeded:
            return None
        return self.job.to_error()


@attrs.frozen
class SweepResult:
    """What one sweep learned.

    Attributes:
        finished: Operations whose jobs reached a terminal state in this sweep.
        items: The protected items the sweep read, by name (the scope's, or those asked for).
        calls: ARM calls the sweep made (pages included).
    """

    finished: tuple[TrackedOperation, ...]
    items: Mapping[str, ProtectedItem] = attrs.field(factory=dict, hash=False)
    calls: int = 0


def _job_names(ops: Iterable[TrackedOperation]) -> frozenset[str]:
    return frozenset(op.job_name for op in ops if op.job_name)


def _kept(jobs: Iterable[AsrJob], names: frozenset[str] | None) -> list[AsrJob]:
    """The jobs of a list worth matching: those in ``names`` (None: every one)."""
    if names is None:
        return list(jobs)
    return [job for job in jobs if job.name in names]


@attrs.frozen
class _ItemRef:
    fabric_name: str
    container_name: str
    name: str


class JobTracker:
    """Follows many ASR operations with one sweep per cycle.

    Args:
        client: The SiteRecoveryClient whose jobs it reads.
        interval: Seconds between sweeps (ASR's ``Retry-After`` raises it, never lowers it).
        sleep: How to wait between sweeps (injectable).
        now: Returns the current UTC time (injectable).
        window: Operations issued longer ago than this (with a known job name) are read by
            name, not through the list.
        scope: The migration's fabric and container (None: the vault's jobs and items).
    """

    def __init__(
        self,
        client: SiteRecoveryClient,
        *,
        interval: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        window: timedelta = timedelta(hours=1),
        scope: SweepScope | None = None,
    ) -> None:
        self._client = client
        self.scope = scope or SweepScope()
        self.item_pages = 1
        """Pages of the container's last item list: fewer wanted items are read by GET."""
        self.interval = interval
        self.window = window
        self._sleep = sleep
        self._now = now
        self._ops: dict[str, TrackedOperation] = {}
        self._retry_after: float = 0.0
        self._woke: datetime | None = None
        self.sweeps = 0

    def __len__(self) -> int:
        return len(self._ops)

    def __contains__(self, key: object) -> bool:
        return key in self._ops

    def get(self, key: str) -> TrackedOperation | None:
        """The tracked operation under ``key``, or None."""
        return self._ops.get(key)

    def track(
        self,
        key: str,
        *,
        step: str,
        item_name: str | None,
        operation: AsrOperation[Any] | None = None,
        job_name: str | None = None,
        issued_at: datetime | None = None,
        aliases: frozenset[str] = frozenset(),
    ) -> TrackedOperation:
        """Start following an operation (a fresh one, or one resumed from the journal).

        ``aliases`` are other identifiers of the item (its friendly name, its internal id):
        ASR jobs name their target by those, which matters only when no job name is known.
        """
        if operation is not None:
            job_name = job_name or operation.job_name
            if operation.retry_after:
                self._retry_after = max(self._retry_after, operation.retry_after)
        tracked = TrackedOperation(
            key=key,
            step=step,
            item_name=item_name,
            job_name=job_name,
            issued_at=issued_at or self._now(),
            polling_url=operation.polling_url if operation is not None else None,
            aliases=aliases | ({item_name} if item_name else frozenset()),
        )
        self._ops[key] = tracked
        return tracked

    def forget(self, key: str) -> None:
        """Stop following ``key`` (no error when unknown)."""
        self._ops.pop(key, None)

    def pending(self) -> list[TrackedOperation]:
        """Operations not finished yet."""
        return [op for op in self._ops.values() if not op.finished]

    def sweep(self, *, read_items: bool | Collection[str] = False) -> SweepResult:
        """Read the jobs (and optionally protected items) once; update every operation.

        Args:
            read_items: True: every item in scope (the container's, else the vault's). A
                collection of item names: those items, by GET when there are no more of them
                than the container's list had pages, else through the list.

        Raises:
            AzureError: Azure refused or failed the reads.
        """
        self.sweeps += 1
        counter = self._client.rate_limiter.counter
        before = counter.total
        finished: list[TrackedOperation] = []
        pending = self.pending()
        if pending:
            # The list covers operations issued within the window; a long-running operation
            # whose job ASR named is read by name instead, so one stuck job does not make every
            # sweep page through every job since it started.
            now = self._now()
            # Under a fabric scope, an operation on an item is found in the fabric's jobs; one
            # on a vault-level object (a recovery plan) is read by name (or, unnamed, in the
            # vault's jobs).
            fabric = self.scope.fabric_id
            scoped: list[TrackedOperation] = []
            unnamed: list[TrackedOperation] = []
            by_name: list[TrackedOperation] = []
            for op in pending:
                recent = op.job_name is None or now - op.issued_at <= self.window
                if recent and (fabric is None or op.step in SCENARIOS):
                    scoped.append(op)
                elif op.job_name is None:
                    unnamed.append(op)
                else:
                    by_name.append(op)
            # Only the jobs an operation can be matched to are kept (a large fleet's list holds
            # thousands of finished jobs): those named by a pending operation, or every job
            # while some operation has no job name yet (it is matched by target and scenario).
            names = None if any(op.job_name is None for op in pending) else _job_names(pending)
            jobs: list[AsrJob] = []
            if scoped:
                since = min(op.issued_at for op in scoped) - _SKEW
                if fabric is None:
                    listing = self._client.list_jobs(start_time=since)
                else:
                    listing = self._client.list_jobs(start_time=since, fabric_id=fabric)
                jobs = _kept(listing, names)
            if unnamed:
                since = min(op.issued_at for op in unnamed) - _SKEW
                jobs.extend(_kept(self._client.list_jobs(start_time=since), names))
            listed = {j.name for j in jobs}
            for name in dict.fromkeys(op.job_name for op in by_name if op.job_name):
                if name not in listed:
                    jobs.append(self._client.get_job(name))
            finished = self._match(pending, jobs)
        items: dict[str, ProtectedItem] = {}
        if read_items:
            items = self._read_items(read_items)
        return SweepResult(finished=tuple(finished), items=items, calls=counter.total - before)

    def _read_items(self, wanted: bool | Collection[str]) -> dict[str, ProtectedItem]:
        fabric, container = self.scope.fabric_name, self.scope.container_name
        if fabric is None or container is None:
            return {i.name: i for i in self._client.list_protected_items()}
        if not isinstance(wanted, bool) and len(wanted) <= self.item_pages:
            items: dict[str, ProtectedItem] = {}
            for name in sorted(set(wanted)):
                ref = _ItemRef(fabric, container, name)
                try:
                    items[name] = self._client.get_protected_item(ref)
                except AzureResourceNotFoundError:
                    continue  # no item (any more): as absent from a list
            return items
        counter = self._client.rate_limiter.counter
        before = counter.total
        # Only the wanted items are kept while the (whole container's) list is read.
        keep = None if isinstance(wanted, bool) else wanted
        names = None if keep is None else frozenset(keep)
        listed = {
            i.name: i
            for i in self._client.list_protected_items(fabric_name=fabric, container_name=container)
            if names is None or i.name in names
        }
        self.item_pages = max(1, counter.total - before)
        if keep is None:
            return listed
        return {name: listed[name] for name in keep if name in listed}

    def _match(
        self, pending: Iterable[TrackedOperation], jobs: list[AsrJob]
    ) -> list[TrackedOperation]:
        by_name = {j.name: j for j in jobs}
        claimed = {op.job_name for op in self._ops.values() if op.job_name}
        finished = []
        for op in pending:
            job = by_name.get(op.job_name) if op.job_name else None
            if job is None and op.job_name is None:
                job = self._guess(op, jobs, claimed)
                if job is not None:
                    op.job_name = job.name
                    claimed.add(job.name)
            if job is None:
                continue
            op.job = job
            op.state = job.state
            if job.is_terminal:
                finished.append(op)
        return finished

    def _guess(self, op: TrackedOperation, jobs: list[AsrJob], claimed: set[str]) -> AsrJob | None:
        scenarios = SCENARIOS.get(op.step, frozenset())
        candidates = [
            j
            for j in jobs
            if j.name not in claimed
            and ({j.target_object_name, j.target_object_id} & op.aliases)
            and (not scenarios or j.scenario_name in scenarios)
            and (j.start_time is None or j.start_time >= op.issued_at - _SKEW)
        ]
        candidates.sort(key=lambda j: j.start_time or op.issued_at)
        return candidates[0] if candidates else None

    def wait(self) -> float:
        """Sleep until the next sweep is due; return the polling period (seconds).

        A sweep is due one ``interval`` (or ASR's ``Retry-After``, when longer) after the
        previous wait ended, not after the cycle in between: the time a cycle spent sending
        (paced by ARM's write budget, say) counts toward the interval, so a busy cycle does not
        stretch the polling period to the interval plus the cycle.
        """
        delay = max(self.interval, self._retry_after)
        woke = self._woke
        spent = 0.0 if woke is None else max(0.0, (self._now() - woke).total_seconds())
        if delay - spent > 0:
            self._sleep(delay - spent)
        self._woke = self._now()
        return delay
