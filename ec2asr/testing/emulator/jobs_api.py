"""``replicationJobs``: get, list (``$filter``, paging), cancel, restart, resume, export; and the
factory every long-running handler uses to start a job (honouring injected job faults)."""

from __future__ import annotations

import math
import re
import urllib.parse
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ec2asr.testing.emulator import lro
from ec2asr.testing.emulator.arm import (
    ASR_API_VERSION,
    ArmError,
    decode_token,
    encode_token,
    invalid,
    not_found,
    page,
    parse_time,
)
from ec2asr.testing.emulator.jobs import Job, TaskSpec
from ec2asr.testing.emulator.models import NEVER_FINISHES, JobError
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import VaultState

__all__ = ["ROUTES", "start_job"]

Effect = Callable[[datetime], None]


def start_job(
    ctx: Context,
    vault: VaultState,
    *,
    scenario: str,
    friendly: str,
    target_id: str,
    target_name: str,
    target_type: str,
    tasks: list[TaskSpec],
    on_success: Effect | None = None,
    on_failure: Effect | None = None,
    on_cancel: Effect | None = None,
    result: Callable[[], dict[str, Any] | None] | None = None,
    restart: Callable[[datetime], Job] | None = None,
    custom_details: dict[str, Any] | None = None,
    error: JobError | None = None,
    fail_at: int | None = None,
    cancellable: bool = True,
    fabric: str | None = None,
) -> Job:
    """Create, register and settle a job; an injected ``job_error`` fault overrides the outcome."""
    if ctx.job_error is NEVER_FINISHES and tasks:
        tasks[-1].duration = math.inf
    elif isinstance(ctx.job_error, JobError) and tasks:
        error, fail_at = ctx.job_error, len(tasks) - 1
    job = Job(
        name=str(uuid.uuid4()),
        scenario_name=scenario,
        friendly_name=friendly,
        target_object_id=target_id,
        target_object_name=target_name,
        target_instance_type=target_type,
        tasks=tasks,
        start=ctx.now,
        custom_details=custom_details
        or {"instanceType": "AsrJobDetails", "affectedObjectDetails": {}},
        fail_at=fail_at,
        error=error,
        on_success=on_success,
        on_failure=on_failure,
        on_cancel=on_cancel,
        result=result,
        restart=restart,
        cancellable=cancellable,
        fabric_name=fabric,
    )
    if job.restart is None:
        job.restart = _redispatch(ctx)
    vault.jobs.add(job)
    vault.jobs.settle(ctx.now)
    return job


def _redispatch(ctx: Context) -> Callable[[datetime], Job]:
    """Restart = run the request that created the job again (ASR re-runs the workflow)."""

    def again(now: datetime) -> Job:
        fresh = ctx.at(now)
        fresh.route.handler(fresh)
        job = fresh.vault().jobs.get(fresh.created_job or "")
        if job is None:
            raise ArmError(400, "JobCannotBeRestarted", "The job's operation did not start again.")
        return job

    return again


def _job(ctx: Context) -> tuple[VaultState, Job]:
    vault = ctx.vault()
    job = vault.jobs.get(ctx.params["jobName"])
    if job is None:
        raise not_found("job", ctx.params["jobName"])
    return vault, job


def get_job(ctx: Context) -> Response:
    """GET a job (ReplicationJobs_Get)."""
    vault, job = _job(ctx)
    headers = {"Retry-After": str(ctx.emulator.retry_after)}
    return Response(200, job.to_json(vault.asr_id, ctx.now), headers)


_CLAUSE = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)
_FILTER_KEYS = {
    "starttime": "startTime",
    "endtime": "endTime",
    "fabricid": "fabricId",
    "affectedobjecttypes": "affectedObjectTypes",
    "jobstatus": "jobStatus",
    "joboutputtype": "jobOutputType",
    "jobname": "jobName",
    "timezoneoffset": "timezoneOffset",
}


def parse_filter(text: str) -> dict[str, str]:
    """Parse ASR's job ``$filter`` (``Key eq 'value' and ...``).

    Raises:
        ArmError: 400 on a clause ASR would not understand.
    """
    query: dict[str, str] = {}
    if not text.strip():
        return query
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        found = _CLAUSE.match(clause)
        if found is None or found.group(1).lower() not in _FILTER_KEYS:
            raise invalid(f"The filter clause '{clause.strip()}' is not supported.")
        query[_FILTER_KEYS[found.group(1).lower()]] = found.group(2)
    return query


def select_jobs(vault: VaultState, query: dict[str, Any], now: datetime) -> list[Job]:
    """The jobs matching a job query (newest first)."""
    jobs = list(vault.jobs.all())
    try:
        start = parse_time(query["startTime"]) if query.get("startTime") else None
        end = parse_time(query["endTime"]) if query.get("endTime") else None
    except ValueError as exc:
        raise invalid("startTime and endTime must be ISO-8601 timestamps.") from exc
    statuses = {
        s.strip().lower() for s in str(query.get("jobStatus") or "").split(",") if s.strip()
    }
    types = {
        s.strip().lower()
        for s in str(query.get("affectedObjectTypes") or "").split(",")
        if s.strip()
    }
    name = str(query.get("jobName") or "").lower()
    # FabricId: the fabric's ARM id (or its name); a job is under the fabric its object lives
    # in (an item, a container mapping) — vault-level jobs are under none (docs/sandbox.md).
    fabric = str(query.get("fabricId") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    if fabric and fabric not in vault.fabrics:
        return []
    chosen = []
    for job in jobs:
        if fabric and (job.fabric_name or "").lower() != fabric:
            continue
        if start and job.start < start:
            continue
        if end and job.start > end:
            continue
        if statuses and job.state_at(now).lower() not in statuses:
            continue
        if types and job.target_instance_type.lower() not in types:
            continue
        if name and name not in (job.name.lower(), job.scenario_name.lower()):
            continue
        chosen.append(job)
    chosen.reverse()
    return chosen


def list_jobs(ctx: Context) -> Response:
    """GET the vault's jobs (ReplicationJobs_List) with ``$filter`` and ``$skipToken`` paging."""
    vault = ctx.vault()
    query = ctx.request.query
    text = query.get("$filter", "")
    jobs = select_jobs(vault, parse_filter(text), ctx.now)
    offset = decode_token(query["$skipToken"]) if query.get("$skipToken") else 0
    size = ctx.emulator.page_size
    rendered = [j.to_json(vault.asr_id, ctx.now) for j in jobs[offset : offset + size]]
    next_url = None
    if offset + size < len(jobs):
        params = {"api-version": ASR_API_VERSION, "$skipToken": encode_token(offset + size)}
        if text:
            params["$filter"] = text
        next_url = f"{ctx.base_url}{vault.asr_id}/replicationJobs?{urllib.parse.urlencode(params)}"
    return Response(200, page(rendered, offset=0, size=size, next_url=next_url))


def cancel_job(ctx: Context) -> Response:
    """POST cancel (ReplicationJobs_Cancel)."""
    vault, job = _job(ctx)
    if "Cancel" not in job.allowed_actions(ctx.now):
        raise ArmError(
            400,
            "JobCannotBeCancelled",
            f"The job '{job.name}' cannot be cancelled in its state '{job.state_at(ctx.now)}'.",
        )
    job.cancelled_at = ctx.now
    if job.on_cancel:
        job.on_cancel(ctx.now)
    return lro.accept_done(ctx, vault, lambda: job.to_json(vault.asr_id, ctx.emulator.now()))


def restart_job(ctx: Context) -> Response:
    """POST restart (ReplicationJobs_Restart): the same work again, as a new job."""
    vault, job = _job(ctx)
    if "Restart" not in job.allowed_actions(ctx.now) or job.restart is None:
        raise ArmError(
            400,
            "JobCannotBeRestarted",
            f"The job '{job.name}' cannot be restarted in its state '{job.state_at(ctx.now)}'.",
        )
    new = job.restart(ctx.now)
    if isinstance(ctx.job_error, JobError) and new.tasks and not new.finished:
        # A fault injected on the restart request makes the restarted job fail too.
        new.error, new.fail_at = ctx.job_error, len(new.tasks) - 1
        vault.jobs.reschedule(new)
    return lro.accept_job(ctx, vault, new, lambda: new.to_json(vault.asr_id, ctx.emulator.now()))


def resume_job(ctx: Context) -> Response:
    """POST resume (ReplicationJobs_Resume): continue after a manual action."""
    vault, job = _job(ctx)
    if not job.suspended_at(ctx.now):
        raise ArmError(
            400,
            "JobCannotBeResumed",
            f"The job '{job.name}' is not waiting for a manual action.",
        )
    job.resumes.append(ctx.now)
    vault.jobs.reschedule(job)
    vault.jobs.settle(ctx.now)
    return lro.accept_job(ctx, vault, job, lambda: job.to_json(vault.asr_id, ctx.emulator.now()))


def export_jobs(ctx: Context) -> Response:
    """POST export (ReplicationJobs_Export): an ``ExportJobs`` job whose details name a blob."""
    vault = ctx.vault()
    query = ctx.body
    selected = select_jobs(vault, query, ctx.now)
    blob = f"https://asremulator.blob.core.windows.net/jobexports/{uuid.uuid4()}.json"
    job = start_job(
        ctx,
        vault,
        scenario="ExportJobs",
        friendly="Export jobs",
        target_id="",
        target_name="",
        target_type="Other",
        tasks=[TaskSpec("ExportJobsTask", f"Export {len(selected)} jobs", 5.0)],
        custom_details={
            "instanceType": "ExportJobDetails",
            "affectedObjectDetails": {},
            "blobUri": blob,
            "sasToken": "sv=2021-08-06&sr=b&sig=emulator",
        },
        cancellable=False,
    )
    return lro.accept_job(ctx, vault, job, lambda: job.to_json(vault.asr_id, ctx.emulator.now()))


ROUTES = [
    Route("GET", "VAULT/replicationJobs", "ReplicationJobs_List", list_jobs),
    Route(
        "POST", "VAULT/replicationJobs/export", "ReplicationJobs_Export", export_jobs, write=True
    ),
    Route("GET", "VAULT/replicationJobs/{jobName}", "ReplicationJobs_Get", get_job),
    Route(
        "POST",
        "VAULT/replicationJobs/{jobName}/cancel",
        "ReplicationJobs_Cancel",
        cancel_job,
        write=True,
    ),
    Route(
        "POST",
        "VAULT/replicationJobs/{jobName}/restart",
        "ReplicationJobs_Restart",
        restart_job,
        write=True,
    ),
    Route(
        "POST",
        "VAULT/replicationJobs/{jobName}/resume",
        "ReplicationJobs_Resume",
        resume_job,
        write=True,
    ),
    Route(
        "GET",
        "VAULT/replicationOperationStatus/{operationId}",
        "ReplicationOperationStatus_Get",
        lro.operation_status,
    ),
]
OPERATION_RESULTS = Route(
    "GET",
    "VAULT/{resourcePath:path}/operationresults/{operationId}",
    "OperationResults_Get",
    lro.operation_result,
)
"""``Location`` of every Site Recovery LRO (routed first: it spans any resource path)."""
