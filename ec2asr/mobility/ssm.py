"""Run the Mobility service install scripts through AWS Systems Manager Run Command.

:class:`SsmRunCommand` is an :class:`~ec2asr.mobility.manual.InstallExecutor`:

1. it stores the agent configuration as a SecureString parameter
   (``/ec2asr/agent-config/<migration id>``) — never in the command text;
2. it sends one command per platform and 50 instances (``AWS-RunShellScript`` /
   ``AWS-RunPowerShellScript``), with ``MaxErrors`` 100% so one machine never stops the others;
3. it polls with one ``ListCommandInvocations`` per in-flight command per cycle (not one call per
   instance), until every instance finished or the overall deadline passed (then it cancels);
4. it deletes the parameter, whatever happened.

Time is injected (``sleep``, ``clock``): tests never wait for real.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from ec2asr._secret import Secret
from ec2asr._validate import check_callable, check_int, check_number, check_str, shown
from ec2asr.aws import _boto
from ec2asr.aws.ssm import RunCommandApi
from ec2asr.errors import AwsError, AwsPermissionError, InvalidInputError, MobilityError
from ec2asr.mobility._outcomes import EXIT_CODES, failed_result, invocation_result, with_details
from ec2asr.mobility.base import InstallContext, InstallResult
from ec2asr.mobility.manual import InstallJob
from ec2asr.mobility.scripts import ParameterStoreConfig
from ec2asr.models import SsmStatus

__all__ = ["EXIT_CODES", "SsmRunCommand"]

logger = logging.getLogger("ec2asr")

_PREFIX = re.compile(r"^(/[A-Za-z0-9_.\-]+)+$")
_MIGRATION_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
_POLL_FAILURES = 5
"""Consecutive failed polls of one command after which ec2asr stops following it."""


def _unreachable(ssm: SsmStatus) -> str | None:
    if not ssm.available:
        return None  # unknown: try, SSM answers per instance
    if not ssm.managed:
        return f"it is not a Systems Manager managed node ({ssm.reason or 'no SSM agent reports'})"
    if ssm.ping_status and ssm.ping_status != "Online":
        return f"its SSM agent is {ssm.ping_status}"
    return None


class _Tracker:
    """The in-flight commands and which of their instances have not finished."""

    def __init__(self) -> None:
        self.waiting: dict[str, dict[str, InstallJob]] = {}
        self.documents: dict[str, str] = {}
        self.last_status: dict[str, str] = {}

    def add(self, command_id: str, document: str, jobs: Sequence[InstallJob]) -> None:
        self.waiting[command_id] = {j.instance_id: j for j in jobs}
        self.documents[command_id] = document

    def finish(self, command_id: str, instance_id: str) -> InstallJob | None:
        jobs = self.waiting.get(command_id, {})
        job = jobs.pop(instance_id, None)
        if not jobs:
            self.waiting.pop(command_id, None)
        return job


class SsmRunCommand:
    """Install the Mobility service through AWS Systems Manager Run Command.

    The instances need a running SSM agent and an instance role that may read the parameter
    (``ssm:GetParameter`` and ``kms:Decrypt``) and the installer location; Linux instances need
    the AWS CLI, Windows instances AWS Tools for PowerShell (see ``docs/mobility.md``).

    Args:
        ssm_client: A boto3 SSM client; defaults to the context's ``ssm_client``.
        timeout: Overall deadline in seconds for the whole run; then unfinished instances are
            cancelled and fail.
        command_timeout: Each instance's script may run this long (``executionTimeout``).
        delivery_timeout: How long SSM tries to reach an instance (``TimeoutSeconds``).
        poll_interval: Seconds between polls.
        sleep: Waits (injectable for tests).
        clock: Monotonic seconds (injectable for tests).
        batch_size: Instances per ``SendCommand``, 1 to 50.
        parameter_prefix: Where the configuration parameter is stored.
        kms_key_id: A customer-managed KMS key for the SecureString (default: AWS managed key).

    Raises:
        InvalidInputError: An argument is out of range.
    """

    def __init__(
        self,
        ssm_client: Any | None = None,
        *,
        timeout: float = 5400.0,
        command_timeout: int = 3600,
        delivery_timeout: int = 600,
        poll_interval: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        batch_size: int = 50,
        parameter_prefix: str = "/ec2asr/agent-config",
        kms_key_id: str | None = None,
    ) -> None:
        if check_int("batch_size", batch_size) < 1 or batch_size > 50:
            raise InvalidInputError(f"batch_size must be between 1 and 50, not {batch_size}")
        check_number("timeout", timeout, positive=True)
        check_number("poll_interval", poll_interval, positive=True)
        check_int("command_timeout", command_timeout, minimum=1, maximum=172800)
        check_int("delivery_timeout", delivery_timeout, minimum=30, maximum=2592000)
        check_callable("sleep", sleep)
        check_callable("clock", clock)
        if not isinstance(parameter_prefix, str) or not _PREFIX.match(parameter_prefix):
            raise InvalidInputError(
                f"parameter_prefix must be a Parameter Store path, not {shown(parameter_prefix)}"
            )
        if kms_key_id is not None:
            check_str("kms_key_id", kms_key_id)
        if ssm_client is not None and not hasattr(ssm_client, "send_command"):
            raise InvalidInputError(
                f"ssm_client must be a boto3 SSM client, not {shown(ssm_client)}"
            )
        self._client = ssm_client
        self._timeout = timeout
        self._command_timeout = command_timeout
        self._delivery_timeout = delivery_timeout
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._clock = clock
        self._batch_size = batch_size
        self._prefix = parameter_prefix
        self._kms_key_id = kms_key_id

    def __repr__(self) -> str:
        return f"SsmRunCommand(batch_size={self._batch_size}, timeout={self._timeout})"

    def parameter_name(self, migration_id: str) -> str:
        """The Parameter Store name used for a migration.

        Raises:
            InvalidInputError: ``migration_id`` holds characters a parameter name cannot.
        """
        if not _MIGRATION_ID.match(migration_id):
            raise InvalidInputError(
                f"migration id {migration_id!r} cannot name a parameter (letters, digits, . _ -)"
            )
        return f"{self._prefix}/{migration_id}"

    def run(self, jobs: Sequence[InstallJob], context: InstallContext) -> list[InstallResult]:
        """Run the jobs; one result per job, in order.

        Raises:
            InvalidInputError: The jobs cannot run through SSM (no installer location, several
                configurations, a bad migration id).
            MobilityError: No SSM client, or the configuration could not be stored.
        """
        if not jobs:
            return []
        client = self._client if self._client is not None else context.ssm_client
        if client is None:
            raise MobilityError("SsmRunCommand needs an SSM client: pass ssm_client=")
        if len({job.agent_config for job in jobs}) > 1:
            raise InvalidInputError("SsmRunCommand sends one agent configuration per run")
        if any(job.installer.kind == "beside-script" for job in jobs):
            raise InvalidInputError(
                "Run Command scripts cannot find an installer 'next to the script': give "
                "ManualInstall an installer_location (s3://..., HTTPS or a directory)"
            )
        api = RunCommandApi(client)
        name = self.parameter_name(context.migration_id)
        config = ParameterStoreConfig(name, api.region or jobs[0].machine.region)
        results: dict[str, InstallResult] = {}
        runnable = []
        for job in jobs:
            reason = _unreachable(job.machine.ssm)
            if reason is None:
                runnable.append(job)
            else:
                results[job.instance_id] = failed_result(
                    job, f"Run Command cannot reach {job.machine.display_name}: {reason}"
                )
        if runnable:
            self._install(api, runnable, config, context, results)
        return [results[job.instance_id] for job in jobs]

    def _install(
        self,
        api: RunCommandApi,
        jobs: list[InstallJob],
        config: ParameterStoreConfig,
        context: InstallContext,
        results: dict[str, InstallResult],
    ) -> None:
        secret = jobs[0].agent_config
        groups: dict[tuple[str, str], list[InstallJob]] = {}
        for job in jobs:
            groups.setdefault((job.document, job.render(config)), []).append(job)
        stored: AwsError | None = None
        try:
            api.put_secure_parameter(
                config.name,
                secret,
                description=f"ec2asr: Mobility agent configuration ({context.migration_id}); "
                "deleted when the installation ends",
                kms_key_id=self._kms_key_id,
            )
        except AwsError as exc:
            stored = exc
        if stored is not None:
            raise MobilityError(
                f"could not store the agent configuration in Parameter Store as {config.name}: "
                f"{stored}"
            ) from stored
        start = self._clock()
        try:
            tracker = _Tracker()
            for (document, script), group in groups.items():
                for chunk in _boto.chunked(group, self._batch_size):
                    self._send(api, chunk, document, script, tracker, results, context)
            self._wait(api, tracker, start, secret, results, context)
        finally:
            try:
                api.delete_parameter(config.name)
            except AwsError as exc:
                logger.error(
                    "the agent configuration is still in Parameter Store as %s: delete it (%s)",
                    config.name,
                    exc,
                )
                for job in jobs:
                    if job.instance_id in results:
                        result = results[job.instance_id]
                        results[job.instance_id] = with_details(
                            result, parameter_not_deleted=config.name
                        )

    def _send(
        self,
        api: RunCommandApi,
        jobs: Sequence[InstallJob],
        document: str,
        script: str,
        tracker: _Tracker,
        results: dict[str, InstallResult],
        context: InstallContext,
    ) -> None:
        try:
            command_id = api.send_command(
                [job.instance_id for job in jobs],
                document=document,
                commands=script.splitlines(),
                delivery_timeout=self._delivery_timeout,
                execution_timeout=self._command_timeout,
                comment=f"ec2asr Mobility install ({context.migration_id})",
            )
        except AwsError as exc:
            if exc.code == "InvalidInstanceId" and len(jobs) > 1:
                # One instance SSM does not know refuses the whole command: isolate it.
                for job in jobs:
                    self._send(api, [job], document, script, tracker, results, context)
                return
            for job in jobs:
                results[job.instance_id] = failed_result(
                    job, f"SSM refused to run the install on {job.machine.display_name}: {exc}"
                )
            return
        tracker.add(command_id, document, jobs)
        logger.info(
            "SSM command %s installs the Mobility agent on %d instances", command_id, len(jobs)
        )
        context.emit(
            f"Mobility agent install sent to {len(jobs)} instance(s) ({document}, {command_id})"
        )

    def _wait(
        self,
        api: RunCommandApi,
        tracker: _Tracker,
        start: float,
        secret: Secret,
        results: dict[str, InstallResult],
        context: InstallContext,
    ) -> None:
        deadline = start + self._timeout
        failures: dict[str, int] = {}
        while tracker.waiting:
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            self._sleep(min(self._poll_interval, remaining))
            for command_id in list(tracker.waiting):
                try:
                    invocations = api.list_invocations(command_id)
                except AwsPermissionError as exc:
                    self._abandon(tracker, command_id, results, f"ec2asr cannot follow it: {exc}")
                    continue
                except AwsError as exc:
                    failures[command_id] = failures.get(command_id, 0) + 1
                    if failures[command_id] >= _POLL_FAILURES:
                        why = (
                            f"ec2asr cannot follow it ({failures[command_id]} polls failed): {exc}"
                        )
                        self._abandon(tracker, command_id, results, why)
                    else:
                        logger.warning(
                            "polling SSM command %s failed, retrying: %s", command_id, exc
                        )
                    continue
                failures.pop(command_id, None)
                for invocation in invocations:
                    tracker.last_status[invocation.instance_id] = invocation.status
                    if not invocation.finished:
                        continue
                    job = tracker.finish(command_id, invocation.instance_id)
                    if job is not None:
                        result = invocation_result(
                            job, invocation, tracker.documents[command_id], secret
                        )
                        results[job.instance_id] = result
                        context.emit(result.message, instance_id=job.instance_id)
        for command_id, waiting in list(tracker.waiting.items()):
            api.cancel_command(command_id, sorted(waiting))
            self._abandon(
                tracker,
                command_id,
                results,
                f"did not finish within {self._timeout:g} s and was cancelled",
            )

    @staticmethod
    def _abandon(
        tracker: _Tracker, command_id: str, results: dict[str, InstallResult], why: str
    ) -> None:
        for instance_id, job in tracker.waiting.pop(command_id, {}).items():
            status = tracker.last_status.get(instance_id, "Pending")
            results[instance_id] = failed_result(
                job,
                f"the Mobility install on {job.machine.display_name} (SSM command {command_id}, "
                f"last status {status}) {why}",
                command_id=command_id,
            )
