"""A fault storm: seeded, random faults on any request, for reliability tests.

:class:`FaultStorm` answers a share of all requests with a fault, chosen by a seeded random
generator so a failing run can be replayed:

- an error status: ``429`` (with ``Retry-After``), ``500`` or ``503``, as ARM answers under load
  ("Troubleshoot API throttling errors", "Azure Resource Manager request limits");
- a connection reset *before* the request is handled (nothing happened);
- for writes, a connection reset *after* the request was handled: the write was accepted (it is
  in the audit list, its job runs) but its answer is lost, as when a network path drops a
  response. The client cannot tell the two resets apart; it must find out, not send again.

And, independently, a share of the jobs that accepted writes create fail with ASR's internal
error 499 ("An internal error occurred. ... Retry the last action", as ASR reported it in
Azure/azure-powershell#4143): a transient job failure that a restart of the job (ASR's
``replicationJobs/{name}/restart``) gets past.

The random choices are the emulator's (documented as an assumption in ``docs/sandbox.md``);
each fault's shape is the one the emulator's single faults already produce.
"""

from __future__ import annotations

import collections
import fnmatch
import random
import threading
from dataclasses import dataclass, field

from ec2asr.testing.emulator.models import JobError

__all__ = ["INTERNAL_ERROR", "FaultStorm", "StormDecision"]

INTERNAL_ERROR = JobError(
    code="499",
    message="An internal error occurred.",
    possible_causes="The operation failed due to an internal error.",
    recommended_action="Retry the last action. If the issue persists, contact Support.",
)
"""ASR's transient internal error (error id 499), as a job reports it."""


@dataclass(frozen=True)
class StormDecision:
    """What the storm does to one request.

    Attributes:
        kind: ``"status"``, ``"reset"`` (before handling), ``"reset-after"`` (a write handled,
            its answer lost) or ``"none"``.
        status: The error status for ``"status"``.
        job_error: The error the created job fails with, or None.
    """

    kind: str = "none"
    status: int | None = None
    job_error: JobError | None = None


@dataclass
class FaultStorm:
    """Seeded random faults (see the module docstring).

    Attributes:
        seed: Seeds the random generator.
        rate: Share of requests answered with a fault (0 to 1).
        statuses: The error statuses it picks from.
        resets: Whether connection resets are among the faults.
        job_failure_rate: Share of job-creating writes whose job fails with ``job_error``.
        job_error: The transient job error (ASR's internal error 499).
        match: ``fnmatch`` patterns on the request path; only matching requests are affected.
        counts: How many of each fault it injected, by kind (``429``, ``reset``,
            ``reset-after``, ``job-failure`` ...).
    """

    seed: int
    rate: float = 0.10
    statuses: tuple[int, ...] = (429, 500, 503)
    resets: bool = True
    job_failure_rate: float = 0.05
    job_error: JobError = INTERNAL_ERROR
    match: tuple[str, ...] = ("*",)
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1 or not 0 <= self.job_failure_rate <= 1:
            raise ValueError("rate and job_failure_rate must be within 0..1")
        if any(not 400 <= s <= 599 for s in self.statuses):
            raise ValueError("statuses must be HTTP error statuses (400-599)")
        if not self.statuses and not self.resets:
            raise ValueError("the storm needs statuses or resets")
        self._rng = random.Random(self.seed)

    def decide(self, method: str, path: str, *, write: bool, creates_job: bool) -> StormDecision:
        """The fault (if any) for one request; counted in :attr:`counts`."""
        if not any(fnmatch.fnmatch(path.lower(), p.lower()) for p in self.match):
            return StormDecision()
        with self._lock:
            self.counts["requests"] += 1
            if self._rng.random() < self.rate:
                kinds: list[str] = [str(s) for s in self.statuses]
                if self.resets:
                    kinds.append("reset-after" if write and self._rng.random() < 0.5 else "reset")
                kind = self._rng.choice(kinds)
                self.counts[kind] += 1
                if kind.isdigit():
                    return StormDecision("status", status=int(kind))
                return StormDecision(kind)
            if write and creates_job and self._rng.random() < self.job_failure_rate:
                self.counts["job-failure"] += 1
                return StormDecision(job_error=self.job_error)
        return StormDecision()

    @property
    def injected(self) -> int:
        """Faults injected so far (every kind, job failures included)."""
        return sum(n for kind, n in self.counts.items() if kind != "requests")
