"""Writes whose answer was lost: find out from ASR whether Azure accepted them.

When the connection breaks after an ASR write was sent (or ARM answers 5xx), Azure may have
accepted it: the job runs although ec2asr got no answer. Sending the write again could start a
second enable or failover, so ec2asr never does that blindly (the pipeline does not re-send such
writes either). It looks for the job the write would have created: a job of the step's ASR
scenario, on the machine's item, started after the write-ahead journal entry, and not one the
journal already knows. Found: the write was accepted, ec2asr follows that job. Not found: it
never reached Azure, and it is issued again. When ASR's jobs cannot be read either, the step
stays open and the next attempt (or a re-run's reconciliation) settles it first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ec2asr.azure._errors import answer_may_be_lost
from ec2asr.azure.jobs import SCENARIOS
from ec2asr.errors import Ec2AsrError

if TYPE_CHECKING:
    from ec2asr.migration._runtime import Live, Runtime

__all__ = [
    "TRANSIENT_JOB_ERRORS",
    "accepted_job",
    "accepted_plan_job",
    "known_jobs",
    "outcome_unknown",
]

SKEW = timedelta(minutes=5)
"""Clock difference tolerated between the journal's clock and ASR's job times."""

TRANSIENT_JOB_ERRORS = frozenset({"499"})
"""ASR job errors worth a retry of the same job: 499, "An internal error occurred. ... Retry the
last action" (as ASR reports it, e.g. Azure/azure-powershell#4143)."""


def outcome_unknown(exc: Ec2AsrError) -> bool:
    """True when a write may have been accepted although ec2asr got no answer: the connection
    broke (no status), or ARM answered 5xx. A 4xx (including 429) is a clear refusal."""
    return answer_may_be_lost(exc)


def known_jobs(steps: Iterable[Any]) -> set[str]:
    """Job names the journal already recorded for a machine (accepted or finished steps)."""
    names: set[str] = set()
    for step in steps:
        if step.job_name:
            names.add(str(step.job_name))
        job = (step.detail or {}).get("job")
        if job:
            names.add(str(job))
    return names


def accepted_job(rt: Runtime, live: Live, step: str, since: datetime) -> str | None:
    """The ASR job a write of ``step`` for this machine created at or after ``since``, or None.

    Raises:
        AzureError: ASR's jobs cannot be read (the outcome stays unknown).
    """
    scenarios = SCENARIOS.get(step, frozenset())
    aliases = live.item.aliases if live.item is not None else frozenset({live.iid})
    known = known_jobs(rt.journal.steps(live.iid))
    # The write targeted the migration's fabric: its job is among the fabric's jobs.
    jobs = rt.asr.list_jobs(start_time=since - SKEW, fabric_id=rt.fleet.fabric.id)
    for job in sorted(jobs, key=lambda j: j.name):
        if job.name in known or job.scenario_name not in scenarios:
            continue
        if not ({job.target_object_id, job.target_object_name} & aliases):
            continue
        if job.start_time is not None and job.start_time < since - SKEW:
            continue
        return job.name
    return None


def accepted_plan_job(
    rt: Runtime, plan_name: str, scenarios: frozenset[str], since: datetime
) -> str | None:
    """The ASR job of one of ``scenarios`` on recovery plan ``plan_name`` started at or after
    ``since`` that the journal does not know yet, or None. Plan jobs belong to no fabric, so
    the vault's jobs are listed.

    Raises:
        AzureError: ASR's jobs cannot be read (the outcome stays unknown).
    """
    earliest = since - SKEW
    known = known_jobs(rt.journal.steps(f"plan:{plan_name}"))
    for job in sorted(rt.asr.list_jobs(start_time=earliest), key=lambda j: j.name):
        if (
            job.name not in known
            and job.scenario_name in scenarios
            and plan_name in (job.target_object_name, job.target_object_id)
            and (job.start_time is None or job.start_time >= earliest)
        ):
            return job.name
    return None
