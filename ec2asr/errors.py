"""Every error ec2asr raises, in one tree.

Callers catch ``Ec2AsrError`` (or one of its branches) and never the SDKs' own
exceptions: botocore's ``ClientError`` and azure-core's ``HttpResponseError`` are
translated where ec2asr calls the SDK, with the original kept as ``__cause__``
(``raise ... from exc``)::

    Ec2AsrError
    ├── InvalidInputError            bad arguments, refused before anything changes (a ValueError)
    ├── AwsError                     something AWS refused or failed to do
    │   ├── InstancesNotFoundError   unknown instance ids (``.missing_ids`` lists exactly which)
    │   ├── AwsPermissionError       the caller may not perform ``.action`` (``ec2:StopInstances``)
    │   └── AwsThrottlingError       still throttled after botocore's retries
    ├── AzureError                   something Azure refused or failed to do
    │   ├── AzurePermissionError     401/403 from ARM
    │   ├── AzureResourceNotFoundError  a ``get_`` on something that does not exist
    │   ├── AzureConflictError       a same-named resource exists with different settings
    │   ├── AzureThrottlingError     still throttled (429) after honouring ``Retry-After``
    │   └── AsrJobError              an ASR job failed (``.error_code``, ``.possible_causes``,
    │                                ``.recommended_action``, ``.job_name``)
    ├── ReadinessError               a machine is not ready and the caller asked to proceed
    ├── ConnectivityError            a required network path between source and appliance is closed
    ├── MobilityError                installing or registering the Mobility agent failed
    └── MigrationError               the orchestration cannot continue as asked
        ├── JournalError             the journal cannot be used as it is (``.location``)
        │   ├── JournalLockedError   another process drives this (SQLite) journal
        │   ├── JournalUnavailableError  the file or database cannot be opened (missing
        │   │                        directory, permissions, server down, credentials refused)
        │   ├── JournalCorruptError  the journal is damaged (truncated, garbled, tables missing)
        │   ├── JournalSchemaError   written by another ec2asr schema version
        │   └── MachineClaimedError  a live worker holds these machines (``.holders``)
        │       └── ClaimLostError   this worker's claim was taken over after it expired
        ├── CutoverNotConfirmedError a failover was requested without ``confirm_cutover=True``
        ├── DataPendingError         a stopped source's data did not reach Azure in time
        └── InvalidStateError        the step is not valid in the machine's current stage

Messages never contain secrets (run-as passwords, agent configuration, tokens, database
passwords: a journal's ``location`` is its file or its DSN without the password).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "AsrJobError",
    "AwsError",
    "AwsPermissionError",
    "AwsThrottlingError",
    "AzureConflictError",
    "AzureError",
    "AzurePermissionError",
    "AzureResourceNotFoundError",
    "AzureThrottlingError",
    "ClaimLostError",
    "ConnectivityError",
    "CutoverNotConfirmedError",
    "DataPendingError",
    "Ec2AsrError",
    "InstancesNotFoundError",
    "InvalidInputError",
    "InvalidStateError",
    "JournalCorruptError",
    "JournalError",
    "JournalLockedError",
    "JournalSchemaError",
    "JournalUnavailableError",
    "MachineClaimedError",
    "MigrationError",
    "MobilityError",
    "ReadinessError",
]


class Ec2AsrError(Exception):
    """Base class of every error ec2asr raises."""


class InvalidInputError(Ec2AsrError, ValueError):
    """An argument is invalid; raised before anything is changed."""


class AwsError(Ec2AsrError):
    """AWS refused or failed a request.

    Attributes:
        code: The AWS error code (``InvalidInstanceID.NotFound``, ...), if AWS sent one.
        action: The AWS API action, as ``service:Operation`` (``ec2:DescribeInstances``).
    """

    def __init__(self, message: str, *, code: str | None = None, action: str | None = None):
        super().__init__(message)
        self.code = code
        self.action = action


class InstancesNotFoundError(AwsError):
    """Some requested EC2 instance ids do not exist in the region.

    Attributes:
        missing_ids: Exactly the ids that were not found, sorted.
    """

    def __init__(
        self,
        missing_ids: Iterable[str],
        *,
        region: str | None = None,
        code: str | None = "InvalidInstanceID.NotFound",
        action: str | None = "ec2:DescribeInstances",
    ):
        self.missing_ids: tuple[str, ...] = tuple(sorted(set(missing_ids)))
        where = f" in {region}" if region else ""
        noun = "instance" if len(self.missing_ids) == 1 else "instances"
        super().__init__(
            f"{len(self.missing_ids)} EC2 {noun} not found{where}: {', '.join(self.missing_ids)}",
            code=code,
            action=action,
        )


class AwsPermissionError(AwsError):
    """The AWS identity may not perform an action (``UnauthorizedOperation``, ``AccessDenied``)."""

    def __init__(self, action: str, *, code: str | None = None, detail: str | None = None):
        message = f"AWS refused {action}: the caller's IAM identity is not allowed to perform it"
        if detail:
            message += f" ({detail})"
        super().__init__(message, code=code, action=action)


class AwsThrottlingError(AwsError):
    """AWS kept throttling a request after botocore's retries were exhausted."""


class AzureError(Ec2AsrError):
    """Azure refused or failed a request.

    Attributes:
        code: The ARM/ASR error code, if Azure sent one.
        status_code: The HTTP status, if there was a response.
    """

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.code = code
        self.status_code = status_code


class AzurePermissionError(AzureError):
    """ARM answered 401 or 403."""


class AzureResourceNotFoundError(AzureError):
    """The Azure resource asked for does not exist."""


class AzureConflictError(AzureError):
    """A same-named Azure resource exists with different settings, or the operation conflicts."""


class AzureThrottlingError(AzureError):
    """ARM kept answering 429 after ``Retry-After`` was honoured."""


class AsrJobError(AzureError):
    """An Azure Site Recovery job (or a request ASR rejected) failed.

    Attributes:
        job_name: The ASR job's name, when a job was created.
        error_code: ASR's error code (for example ``"78027"``).
        possible_causes: ASR's explanation of why.
        recommended_action: What ASR recommends doing.
    """

    def __init__(
        self,
        message: str,
        *,
        job_name: str | None = None,
        error_code: str | None = None,
        possible_causes: str | None = None,
        recommended_action: str | None = None,
        status_code: int | None = None,
    ):
        parts = [message]
        if error_code:
            parts.append(f"[ASR error {error_code}]")
        if possible_causes:
            parts.append(f"Possible causes: {possible_causes}")
        if recommended_action:
            parts.append(f"Recommended action: {recommended_action}")
        super().__init__(" ".join(parts), code=error_code, status_code=status_code)
        self.job_name = job_name
        self.error_code = error_code
        self.possible_causes = possible_causes
        self.recommended_action = recommended_action


class ReadinessError(Ec2AsrError):
    """Machines are not ready for migration and the caller asked to proceed anyway.

    Attributes:
        instance_ids: The machines that are not ready.
    """

    def __init__(self, message: str, *, instance_ids: Sequence[str] = ()):
        super().__init__(message)
        self.instance_ids = tuple(instance_ids)


class ConnectivityError(Ec2AsrError):
    """A network path that replication or push install needs is closed.

    Attributes:
        instance_id: The source machine concerned.
        missing: Human descriptions of each missing rule.
    """

    def __init__(
        self, message: str, *, instance_id: str | None = None, missing: Sequence[str] = ()
    ):
        super().__init__(message)
        self.instance_id = instance_id
        self.missing = tuple(missing)


class MobilityError(Ec2AsrError):
    """Installing or registering the Mobility agent failed.

    Attributes:
        instance_id: The source machine concerned, if one.
    """

    def __init__(self, message: str, *, instance_id: str | None = None):
        super().__init__(message)
        self.instance_id = instance_id


class MigrationError(Ec2AsrError):
    """The migration cannot continue as asked."""


class JournalError(MigrationError):
    """The migration journal cannot be used as it is; the message says why and what to do.

    Attributes:
        location: The journal's file, or its database DSN without the password.
    """

    def __init__(self, message: str, *, location: str | None = None):
        super().__init__(message)
        self.location = location


class JournalLockedError(JournalError):
    """Another process holds the (SQLite) journal's lock: two processes must not drive one
    migration journal file. Several workers share a migration through a PostgreSQL journal."""


class JournalUnavailableError(JournalError):
    """The journal cannot be opened: its directory is missing or not writable, the database
    server does not answer, refuses the credentials, or the database does not exist."""


class JournalCorruptError(JournalError):
    """The journal is damaged (a truncated or garbled file, a missing table, a row ec2asr
    cannot read). Nothing was changed; restore the journal from its backup."""


class JournalSchemaError(JournalError):
    """The journal was written by another ec2asr schema version (a newer ec2asr, or not by
    ec2asr), or it needs an upgrade this connection may not make.

    Attributes:
        found: The schema version found (None when there is none).
        expected: The version this ec2asr reads and writes.
    """

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        found: str | None = None,
        expected: str | None = None,
    ):
        super().__init__(message, location=location)
        self.found = found
        self.expected = expected


class MachineClaimedError(JournalError):
    """Live workers hold these machines (PostgreSQL journal): the step was refused before
    anything was written; wait for them to finish with the machines, or stop them.

    Attributes:
        holders: Instance id -> the worker holding it.
    """

    def __init__(
        self,
        message: str,
        *,
        holders: Mapping[str, str] | None = None,
        location: str | None = None,
    ):
        super().__init__(message, location=location)
        self.holders: dict[str, str] = dict(holders or {})


class ClaimLostError(MachineClaimedError):
    """This worker's claim on a machine expired and another worker took the machine over:
    this worker stops driving it (nothing was written)."""


class CutoverNotConfirmedError(MigrationError):
    """A failover was requested without an explicit ``confirm_cutover=True``."""


class DataPendingError(MigrationError):
    """A stopped source's writes did not all reach Azure within the cutover's drain timeout, so
    ec2asr did not fail it over (a failover then would lose them).

    Attributes:
        instance_id: The source machine.
        pending: What is still pending, per disk (and the agent's last heartbeat), in words.
        waited_seconds: How long ec2asr waited.
    """

    def __init__(
        self,
        message: str,
        *,
        instance_id: str | None = None,
        pending: Sequence[str] = (),
        waited_seconds: float = 0.0,
    ):
        super().__init__(message)
        self.instance_id = instance_id
        self.pending = tuple(pending)
        self.waited_seconds = waited_seconds


class InvalidStateError(MigrationError):
    """The requested step is not valid in the machine's current stage."""
