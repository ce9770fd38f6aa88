"""ARM long-running operations, as Site Recovery answers them.

The published spec declares every ASR long-running operation as ``202`` with ``Location`` and
``Retry-After`` (``x-ms-long-running-operation-options: final-state-via: location``). The live
service answers ``202`` with no body, an integer ``Retry-After``,
``Location: {resource}/operationresults/{jobId}`` (Az.RecoveryServices'
``PSRecoveryServicesClient.GetJobIdFromReponseLocation`` reads the job id there) and also
``Azure-AsyncOperation: {vault}/replicationOperationStatus/{jobId}``. The emulator sends both in
its default ``live`` mode and only what the spec declares in ``spec`` mode
(``AsrEmulator(lro_mode="spec")``).

``{resource}`` is the resource the request addresses: the request path, without the action
segment for a POST (``.../replicationProtectedItems/{item}/unplannedFailover`` ->
``.../replicationProtectedItems/{item}/operationresults/{jobId}``) — an assumption for the
families no captured answer shows. A GET on ``Location`` answers ``202`` (``Location``,
``Retry-After``) while the operation runs, then ``200`` with the resource (or ``204``), or the
error. The operation-status body is ``{"id", "name", "status", "startTime", "endTime",
"error"}`` with ARM's terminal states ``Succeeded``, ``Failed`` and ``Canceled`` (the ASR job
itself says ``Cancelled``).
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
    resource: str = ""


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


def _resource_path(ctx: Context, vault: VaultState) -> str:
    """The addressed resource, as ASR writes ids (``/Subscriptions/`` ...)."""
    path = ctx.request.path.rstrip("/")
    if ctx.request.method == "POST":
        path = path.rsplit("/", 1)[0]
    lower = path.lower()
    marker = "/providers/microsoft.recoveryservices/vaults/"
    at = lower.find(marker)
    if at < 0:
        return vault.asr_id
    rest = path[at + len(marker) :].split("/", 1)
    return vault.asr_id + ("/" + rest[1] if len(rest) > 1 else "")


def _headers(ctx: Context, vault: VaultState, op_id: str, resource: str) -> dict[str, str]:
    query = f"?api-version={ASR_API_VERSION}"
    headers = {
        "Location": f"{ctx.base_url}{resource}/operationresults/{op_id}{query}",
        "Retry-After": str(ctx.emulator.retry_after),
    }
    if ctx.emulator.lro_mode == "live":
        headers["Azure-AsyncOperation"] = (
            f"{ctx.base_url}{vault.asr_id}/replicationOperationStatus/{op_id}{query}"
        )
    return headers


def _accepted(ctx: Context, vault: VaultState, op: Operation) -> Response:
    return Response(202, None, _headers(ctx, vault, op.id, op.resource))


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
        resource=_resource_path(ctx, vault),
    )
    ctx.emulator.operations.add(op)
    ctx.created_job = job.name
    return _accepted(ctx, vault, op)


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
        resource=_resource_path(ctx, vault),
    )
    ctx.emulator.operations.add(op)
    return _accepted(ctx, vault, op)


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
        # ARM's ErrorDetail: code and message; ASR's causes and action in details[].
        error = {
            "code": job.error.code,
            "message": job.error.message,
            "details": [
                {
                    "code": job.error.code,
                    "message": job.error.message,
                    "possibleCauses": job.error.possible_causes,
                    "recommendedAction": job.error.recommended_action,
                }
            ],
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
    """GET ``{resource}/operationresults/{id}``: 202 while running, then the resource."""
    vault = ctx.vault()
    op = ctx.emulator.operations.get(ctx.params["operationId"])
    if op is None:
        raise ArmError(404, "OperationNotFound", "The operation was not found.")
    status, error, _ = _status_of(ctx, op)
    if status == "InProgress":
        return _accepted(ctx, vault, op)
    if status in ("Failed", "Canceled"):
        assert error is not None
        details = (error.get("details") or [{}])[0]
        failure = ArmError(
            400,
            str(error["code"]),
            str(error["message"]),
            extra={k: v for k, v in details.items() if k not in ("code", "message")},
        )
        failure.asr = True
        raise failure
    body = op.result()
    if body is None:
        return Response(204)
    return Response(200, body)
