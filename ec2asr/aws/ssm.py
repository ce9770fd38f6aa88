"""AWS Systems Manager Run Command and Parameter Store, as the Mobility installer needs them.

A thin, typed boundary over a boto3 SSM client: every botocore error leaves it as an
:class:`~ec2asr.errors.AwsError`. Parameter values are secrets: errors about them never carry
AWS's message (which may quote the value) and never chain the original exception.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
from botocore.exceptions import BotoCoreError, ClientError

from ec2asr._secret import Secret, sending
from ec2asr.aws import _boto
from ec2asr.errors import AwsError, AwsPermissionError

__all__ = ["TERMINAL_STATUSES", "CommandInvocation", "RunCommandApi"]

logger = logging.getLogger("ec2asr")

TERMINAL_STATUSES = frozenset({"Success", "Failed", "Cancelled", "TimedOut"})
"""Invocation statuses after which nothing changes any more."""


@attrs.frozen
class CommandInvocation:
    """One instance's part of a Run Command command.

    Attributes:
        command_id: The command.
        instance_id: The instance.
        status: ``Pending``, ``InProgress``, ``Delayed``, ``Success``, ``Failed``,
            ``Cancelled``, ``TimedOut`` or ``Cancelling``.
        status_details: SSM's finer status (``Undeliverable``, ``DeliveryTimedOut``,
            ``ExecutionTimedOut``, ``Terminated`` ...).
        exit_code: The script's exit code (-1 or None when it did not run).
        output: The script's output as SSM keeps it (up to 2,500 characters).
    """

    command_id: str
    instance_id: str
    status: str
    status_details: str = ""
    exit_code: int | None = None
    output: str = ""

    @property
    def finished(self) -> bool:
        """True when the invocation reached a terminal status."""
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_boto(cls, item: Mapping[str, Any]) -> CommandInvocation:
        """Build from one ``ListCommandInvocations`` item (with ``Details=True``)."""
        plugins = item.get("CommandPlugins") or []
        codes = [p.get("ResponseCode") for p in plugins if p.get("ResponseCode") is not None]
        failing = [c for c in codes if c != 0]
        code = failing[0] if failing else (codes[0] if codes else None)
        return cls(
            command_id=item["CommandId"],
            instance_id=item["InstanceId"],
            status=str(item.get("Status", "Pending")),
            status_details=str(item.get("StatusDetails", "")),
            exit_code=None if code is None else int(code),
            output="\n".join(str(p.get("Output") or "") for p in plugins).strip(),
        )


def _action(operation: str) -> str:
    return f"ssm:{operation}"


class RunCommandApi:
    """The SSM calls of a Mobility installation.

    Args:
        client: A boto3 SSM client.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def region(self) -> str | None:
        """The client's region, when it has one."""
        meta = getattr(self._client, "meta", None)
        region = getattr(meta, "region_name", None)
        return str(region) if region else None

    def put_secure_parameter(
        self, name: str, value: Secret, *, description: str, kms_key_id: str | None = None
    ) -> None:
        """Store ``value`` as a SecureString (overwriting), tier chosen by size.

        Raises:
            AwsPermissionError: ``ssm:PutParameter`` (or the KMS key) was refused.
            AwsError: Any other failure; the message names only AWS's error code.
        """
        params: dict[str, Any] = {
            "Name": name,
            "Type": "SecureString",
            "Overwrite": True,
            "Tier": "Intelligent-Tiering",
            "Description": description,
        }
        if kms_key_id:
            params["KeyId"] = kms_key_id
        action = _action("PutParameter")
        # Raised outside the except blocks so that no exception chain keeps AWS's message,
        # which may quote the value.
        code: str | None = None
        try:
            with sending(value) as revealed:  # botocore's DEBUG log shows it masked
                self._client.put_parameter(Value=revealed, **params)
            return
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code") or "error")
        except BotoCoreError:
            code = None
        if code in _boto.PERMISSION_CODES:
            raise AwsPermissionError(action, code=code)
        if code is None:
            raise AwsError(f"{action} failed for {name}: no answer from AWS", action=action)
        raise AwsError(f"{action} failed ({code}) for {name}", code=code, action=action)

    def delete_parameter(self, name: str) -> bool:
        """Delete a parameter; False when it did not exist.

        Raises:
            AwsError: The parameter could not be deleted.
        """
        try:
            with _boto.translate_errors(_action("DeleteParameter")):
                self._client.delete_parameter(Name=name)
        except AwsError as exc:
            if exc.code == "ParameterNotFound":
                return False
            raise
        return True

    def send_command(
        self,
        instance_ids: Sequence[str],
        *,
        document: str,
        commands: Sequence[str],
        delivery_timeout: int,
        execution_timeout: int,
        comment: str,
    ) -> str:
        """Send one command to up to 50 instances; return its id.

        ``MaxErrors`` is 100% so one failing instance never stops the others.

        Raises:
            AwsError: SSM refused the command (``code`` tells why, e.g. ``InvalidInstanceId``).
        """
        with _boto.translate_errors(_action("SendCommand")):
            answer = self._client.send_command(
                InstanceIds=list(instance_ids),
                DocumentName=document,
                Parameters={
                    "commands": list(commands),
                    "executionTimeout": [str(execution_timeout)],
                },
                TimeoutSeconds=delivery_timeout,
                MaxConcurrency="50",
                MaxErrors="100%",
                Comment=comment[:100],
            )
        return str(answer["Command"]["CommandId"])

    def list_invocations(self, command_id: str) -> list[CommandInvocation]:
        """Every instance's invocation of one command (all pages).

        Raises:
            AwsError: SSM could not be asked.
        """
        return list(self._invocations(command_id))

    def _invocations(self, command_id: str) -> Iterator[CommandInvocation]:
        token: str | None = None
        with _boto.translate_errors(_action("ListCommandInvocations")):
            while True:
                params: dict[str, Any] = {"CommandId": command_id, "Details": True}
                if token:
                    params["NextToken"] = token
                page = self._client.list_command_invocations(**params)
                for item in page.get("CommandInvocations") or ():
                    yield CommandInvocation.from_boto(item)
                token = page.get("NextToken")
                if not token:
                    return

    def cancel_command(self, command_id: str, instance_ids: Sequence[str]) -> None:
        """Ask SSM to cancel a command on some instances (best effort: failures are logged)."""
        try:
            with _boto.translate_errors(_action("CancelCommand")):
                self._client.cancel_command(CommandId=command_id, InstanceIds=list(instance_ids))
        except AwsError as exc:
            logger.warning("could not cancel SSM command %s: %s", command_id, exc)
