"""Frozen ec2asr models of ASR jobs (every long-running ASR operation creates one)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ec2asr.azure import _json as j
from ec2asr.azure.models import attr_path as _get
from ec2asr.errors import AsrJobError

__all__ = ["TERMINAL_JOB_STATES", "AsrJob", "JobError"]


@attrs.frozen
class JobError:
    """One error of an ASR job."""

    code: str | None
    message: str
    possible_causes: str | None = None
    recommended_action: str | None = None

    @classmethod
    def from_azure(cls, err: Any) -> JobError:
        """Build from ``models.JobErrorDetails`` (service or provider error)."""
        service = err.service_error_details
        if service is not None and (service.code or service.message):
            return cls(
                code=service.code,
                message=str(service.message or ""),
                possible_causes=service.possible_causes,
                recommended_action=service.recommended_action,
            )
        provider = err.provider_error_details
        if provider is not None:
            return cls(
                code=None if provider.error_code is None else str(provider.error_code),
                message=str(provider.error_message or ""),
                possible_causes=provider.possible_causes,
                recommended_action=provider.recommended_action,
            )
        return cls(code=None, message="unknown error")

    @classmethod
    def from_json(cls, err: Any) -> JobError:
        """Build from a ``JobErrorDetails`` JSON object (service or provider error)."""
        service = j.get(err, "serviceErrorDetails")
        code = j.json_str(j.get(service, "code"))
        message = j.json_str(j.get(service, "message"))
        if isinstance(service, Mapping) and (code or message):
            return cls(
                code=code,
                message=str(message or ""),
                possible_causes=j.json_str(j.get(service, "possibleCauses")),
                recommended_action=j.json_str(j.get(service, "recommendedAction")),
            )
        provider = j.get(err, "providerErrorDetails")
        if isinstance(provider, Mapping):
            number = j.json_int(provider.get("errorCode"))
            return cls(
                code=None if number is None else str(number),
                message=str(j.json_str(provider.get("errorMessage")) or ""),
                possible_causes=j.json_str(provider.get("possibleCauses")),
                recommended_action=j.json_str(provider.get("recommendedAction")),
            )
        return cls(code=None, message="unknown error")


TERMINAL_JOB_STATES = frozenset(
    {"Succeeded", "Failed", "Cancelled", "Suspended", "CompletedWithInformation"}
)


@attrs.frozen
class AsrJob:
    """An ASR job (every long-running ASR operation creates one).

    Attributes:
        state: ``NotStarted``, ``InProgress``, ``Succeeded``, ``Failed``, ``Cancelled``...
        scenario_name: What it does (``EnableDr``, ``UnplannedFailover``, ``Commit``...).
        target_object_name: The item it acts on (the protected item's name).
    """

    id: str
    name: str
    state: str | None
    scenario_name: str | None
    friendly_name: str | None
    target_object_id: str | None
    target_object_name: str | None
    start_time: datetime | None
    end_time: datetime | None
    errors: tuple[JobError, ...] = ()

    @classmethod
    def from_azure(cls, job: Any) -> AsrJob:
        """Build from ``models.Job``."""
        p = job.properties
        return cls(
            id=str(job.id),
            name=str(job.name),
            state=_get(p, "state"),
            scenario_name=_get(p, "scenario_name"),
            friendly_name=_get(p, "friendly_name"),
            target_object_id=_get(p, "target_object_id"),
            target_object_name=_get(p, "target_object_name"),
            start_time=_get(p, "start_time"),
            end_time=_get(p, "end_time"),
            errors=tuple(JobError.from_azure(e) for e in (_get(p, "errors") or ())),
        )

    @classmethod
    def from_json(cls, job: Mapping[str, Any]) -> AsrJob:
        """Build from a ``Job`` JSON object (a GET's body or a list page's member), equal to
        :meth:`from_azure` on the SDK model of the same JSON."""
        p = j.get(job, "properties")
        return cls(
            id=str(job.get("id")),
            name=str(job.get("name")),
            state=j.json_str(j.get(p, "state")),
            scenario_name=j.json_str(j.get(p, "scenarioName")),
            friendly_name=j.json_str(j.get(p, "friendlyName")),
            target_object_id=j.json_str(j.get(p, "targetObjectId")),
            target_object_name=j.json_str(j.get(p, "targetObjectName")),
            start_time=j.json_time(j.get(p, "startTime")),
            end_time=j.json_time(j.get(p, "endTime")),
            errors=tuple(JobError.from_json(e) for e in j.json_list(j.get(p, "errors"))),
        )

    @property
    def is_terminal(self) -> bool:
        """True when the job will not change any more."""
        return self.state in TERMINAL_JOB_STATES

    @property
    def succeeded(self) -> bool:
        """True when the job succeeded."""
        return self.state in ("Succeeded", "CompletedWithInformation")

    def to_error(self) -> AsrJobError:
        """The ec2asr error for a failed job (its first error's code, causes and action)."""
        first = self.errors[0] if self.errors else JobError(code=None, message="")
        what = self.friendly_name or self.scenario_name or "ASR job"
        target = f" for {self.target_object_name}" if self.target_object_name else ""
        message = f"{what}{target} ended {self.state}"
        if first.message:
            message += f": {first.message}"
        return AsrJobError(
            message,
            job_name=self.name,
            error_code=first.code,
            possible_causes=first.possible_causes,
            recommended_action=first.recommended_action,
        )
