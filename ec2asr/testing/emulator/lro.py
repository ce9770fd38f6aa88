"""ARM long-running operations, as Site Recovery answers them.

A long-running request is answered ``202 Accepted`` with no body and three headers:
``Azure-AsyncOperation`` (``.../replicationOperationStatus/{id}``), ``Location``
(``.../replicationOperationResults/{id}``) and an integer ``Retry-After``. The operation-status
body is ``{"id", "name", "status", "startTime", "endTime", "error"}`` with ARM's terminal states
``Succeeded``, ``Failed`` and ``Canceled`` (the ASR job itself says ``Cancelled``). When the
operation succeeded, ``Location`` answers ``200`` with the final resource (or ``204``).
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ec2asr.testing.emulator.arm import ASR_API_VERSION, ArmError, format_time
from ec2asr.testing.emulator.jobs import Job
from ec2asr.testing.emulator.router import Context, Response
from ec2asr.testing.emulator.state import VaultState

__all__ = ["OperationRegistry", "accept_done", "accept_job"]

_JOB_TO_ARM = {
    "Succeeded": "Succeeded",
    "Failed": "Failed",
    "Cancelled": "Canceled",
    "InProgress": "InProgress",
    "Suspended": "InProgress",
    "NotStarted": "InProgress",
}


@dataclass
class Operation:
    """An async operation, tracking a job or already finished."""

    id: str
    vault_key: tuple[str, str, str]
    started: datetime
    job_name: str | None
    result: Callable[[], dict[str, Any] | None]
    done_at: datetime | None = None


class OperationRegistry:
    """Operation ids -> operations; synchronous answers get bounded "already done" entries."""

    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}
        self._sync: collections.OrderedDict[str, datetime] = collections.OrderedDict()

    def add(self, op: Operation) -> Operation:
        """Register an operation."""
        self._ops[op.id.lower()] = op
        return op

    def get(self, op_id: str) -> Operation | None:
        """The operation with this id."""
        return self._ops.get(op_id.lower())

    def sync_id(self, now: datetime) -> str:
        """An id for the ``Azure-AsyncOperation`` header ASR puts on synchronous answers too."""
        op_id = str(uuid.uuid4())
        self._sync[op_id] = now
        while len(self._sync) > 2000:
            self._sync.popitem(last=False)
        return op_id

    def sync_done(self, op_id: str) -> datetime | None:
        """When a synchronous "operation" finished, if this id was one."""
        return self._sync.get(op_id.lower())


def _op_urls(ctx: Context, vault: VaultState, op_id: str) -> tuple[str, str]:
    base = f"{ctx.base_url}{vault.asr_id}"
    query = f"?api-version={ASR_API_VERSION}"
    return (
        f"{base}/replicationOperationStatus/{op_id}{query}",
        f"{base}/replicationOperationResults/{op_id}{query}",
    )


def _accepted(ctx: Context, vault: VaultState, op_id: str) -> Response:
    status_url, result_url = _op_urls(ctx, vault, op_id)
    return Response(
        202,
        None,
        {
            "Azure-AsyncOperation": status_url,
            "Location": result_url,
            "Retry-After": str(ctx.emulator.retry_after),
        },
    )


def accept_job(
    ctx: Context, vault: VaultState, job: Job, result: Callable[[], dict[str, Any] | None]
) -> Response:
    """Answer 202 for a request whose work is ``job``; the operation id is the job name."""
    op = Operation(
        id=job.name,
        vault_key=_vault_key(vault),
        started=ctx.now,
        job_name=job.name,
        result=result,
    )
    ctx.emulator.operations.add(op)
    ctx.created_job = job.name
    return _accepted(ctx, vault, op.id)


def accept_done(
    ctx: Context, vault: VaultState, result: Callable[[], dict[str, Any] | None]
) -> Response:
    """Answer 202 for an action that completed at once (job cancel, resume, restart)."""
    op = Operation(
        id=str(uuid.uuid4()),
        vault_key=_vault_key(vault),
        started=ctx.now,
        job_name=None,
        result=result,
        done_at=ctx.now,
    )
    ctx.emulator.operations.add(op)
    return _accepted(ctx, vault, op.id)


def _vault_key(vault: VaultState) -> tuple[str, str, str]:
    return (vault.subscription_id.lower(), vault.resource_group.lower(), vault.name.lower())


def _status_of(ctx: Context, op: Operation) -> tuple[str, dict[str, Any] | None, datetime | None]:
    if op.job_name is None:
        return "Succeeded", None, op.done_at
    vault = ctx.vault()
    job = vault.jobs.get(op.job_name)
    if job is None:
        return "Failed", {"code": "JobNotFound", "message": "The job was deleted."}, ctx.now
    status = _JOB_TO_ARM[job.state_at(ctx.now)]
    error = None
    if status == "Failed" and job.error is not None:
        error = {
            "code": job.error.code,
            "message": job.error.message,
            "possibleCauses": job.error.possible_causes,
            "recommendedAction": job.error.recommended_action,
        }
    if status == "Canceled":  # ARM RPC: error is required when Failed or Canceled
        error = {"code": "OperationCanceled", "message": "The operation was canceled."}
    return status, error, job.end_time(ctx.now)


def operation_status(ctx: Context) -> Response:
    """GET ``.../replicationOperationStatus/{id}``."""
    vault = ctx.vault()
    op_id = ctx.params["operationId"]
    op = ctx.emulator.operations.get(op_id)
    if op is None:
        done = ctx.emulator.operations.sync_done(op_id)
        if done is None:
            raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
        return Response(200, _status_body(ctx, vault, op_id, "Succeeded", None, done, done))
    status, error, end = _status_of(ctx, op)
    headers = {}
    if status == "InProgress":
        headers["Retry-After"] = str(ctx.emulator.retry_after)
    return Response(200, _status_body(ctx, vault, op.id, status, error, op.started, end), headers)


def _status_body(
    ctx: Context,
    vault: VaultState,
    op_id: str,
    status: str,
    error: dict[str, Any] | None,
    started: datetime,
    ended: datetime | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"{vault.asr_id}/replicationOperationStatus/{op_id}",
        "name": op_id,
        "status": status,
        "startTime": format_time(started),
    }
    if status != "InProgress" and ended is not None:
        body["endTime"] = format_time(ended)
    if error is not None:
        body["error"] = error
    return body


def operation_result(ctx: Context) -> Response:
    """GET ``.../replicationOperationResults/{id}``: 202 while running, then the resource."""
    vault = ctx.vault()
    op = ctx.emulator.operations.get(ctx.params["operationId"])
    if op is None:
        raise ArmError(404, "OperationNotFound", "The operation was not found.")
    status, error, _ = _status_of(ctx, op)
    if status == "InProgress":
        return _accepted(ctx, vault, op.id)
    if status == "Failed":
        assert error is not None
        raise ArmError(400, str(error["code"]), str(error["message"]))
    if status == "Canceled":
        raise ArmError(400, "OperationCanceled", "The operation was canceled.")
    body = op.result()
    if body is None:
        return Response(204)
    return Response(200, body)
