"""The journal's rows as frozen records, and the JSON coding that refuses secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from ec2asr._secret import Secret
from ec2asr.errors import InvalidInputError
from ec2asr.migration.stages import MachineStatus, Stage

__all__ = ["ClaimView", "LeaseRecord", "MachineRecord", "StepRecord", "StepState"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _json_default(value: Any) -> Any:
    if isinstance(value, Secret):
        raise InvalidInputError("refusing to write a secret into the migration journal")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value  # enums
    raise TypeError(f"cannot record a {type(value).__name__} in the journal")


def dumps(value: Any) -> str:
    if isinstance(value, Secret):
        raise InvalidInputError("refusing to write a secret into the migration journal")
    return json.dumps(value, default=_json_default, sort_keys=True)


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class StepState:
    """The states of a journal step (plain strings, stored as such)."""

    STARTED = "started"
    """Recorded before the call was sent: it may or may not have reached AWS/Azure."""
    ACCEPTED = "accepted"
    """AWS/Azure accepted it; a job or operation runs."""
    SUCCEEDED = "succeeded"
    """It finished successfully."""
    FAILED = "failed"
    """It finished with an error."""
    ABANDONED = "abandoned"
    """Reconciliation found it was never sent (or superseded)."""

    OPEN = (STARTED, ACCEPTED)


@attrs.frozen
class MachineRecord:
    """The journal's row for one machine.

    Attributes:
        instance_id: The EC2 instance id (also the protected item's name).
        name: The instance's Name tag when recorded.
        stage: The last stage the machine reached.
        status: How it is doing at that stage.
        data: Facts recorded along the way (protected item, fabric, job names, timings ...).
        error_type: The ec2asr error class name of the last permanent failure, if any.
        error_message: Its message.
    """

    instance_id: str
    name: str | None
    stage: Stage
    status: MachineStatus
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    error_type: str | None = None
    error_message: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen
class StepRecord:
    """One write-ahead step.

    Attributes:
        id: The row id.
        subject: The instance id, or ``plan:<name>`` for recovery-plan steps.
        step: The step name (``enable-replication``, ``unplanned-failover`` ...).
        state: One of :class:`StepState`'s values.
        job_name: The ASR job name, once known.
        polling_url: The ``Azure-AsyncOperation`` URL, once known.
        continuation_token: The SDK poller's continuation token, once known.
        detail: Extra facts (recovery point id, stop time ...).
        error: The error message when it failed.
    """

    id: int
    subject: str
    step: str
    state: str
    job_name: str | None = None
    polling_url: str | None = None
    continuation_token: str | None = None
    detail: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    error: str | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """True while the step is started or accepted but not ended."""
        return self.state in StepState.OPEN


@attrs.frozen
class LeaseRecord:
    """A temporary change ec2asr made and must undo (a security-group rule).

    Attributes:
        lease_id: A deterministic id for the change (same rule -> same id).
        resource_id: What was changed (a security-group id).
        spec: What exactly (direction, protocol, ports, CIDR).
        holders: The machines that need it; it is revoked when none is left.
        state: ``requested`` (written before the change), ``active`` or ``revoked``.
    """

    lease_id: str
    resource_id: str
    spec: Mapping[str, Any] = attrs.field(hash=False)
    holders: tuple[str, ...] = ()
    state: str = "requested"
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen
class ClaimView:
    """A machine as a worker deciding what to claim sees it.

    Attributes:
        record: The machine's record.
        changed_before_run: Its record last changed before this worker's run began (a
            machine that failed or waits for a person is retried only then).
        holder: Another live worker holding it, or None.
    """

    record: MachineRecord
    changed_before_run: bool = True
    holder: str | None = None
