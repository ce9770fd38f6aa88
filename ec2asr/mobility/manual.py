"""Manual installation: ec2asr runs (or hands out) the Mobility service install scripts.

:class:`ManualInstall` is the :class:`~ec2asr.mobility.base.MobilityInstaller` that builds one
:class:`InstallJob` per machine and gives them to an :class:`InstallExecutor`:

* :class:`~ec2asr.mobility.ssm.SsmRunCommand` runs them through AWS Systems Manager (no inbound
  port needed);
* :class:`~ec2asr.mobility.bundle.ScriptBundle` writes them to a folder for people to run;
* your own executor (Ansible, a CI job ...) implements ``run(jobs, context)``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import attrs

from ec2asr._secret import Secret
from ec2asr.errors import Ec2AsrError, InvalidInputError, MobilityError
from ec2asr.mobility.base import (
    ApplianceEndpoint,
    InstallContext,
    InstallResult,
    InstallState,
)
from ec2asr.mobility.scripts import (
    FileBesideScript,
    InstallerLocation,
    ParameterStoreConfig,
    Platform,
    render_script,
)
from ec2asr.models import SourceMachine

__all__ = ["InstallExecutor", "InstallJob", "ManualInstall"]

logger = logging.getLogger("ec2asr")


@attrs.frozen
class InstallJob:
    """Everything needed to install the Mobility service on one machine.

    Attributes:
        machine: The machine.
        platform: Its script flavour.
        appliance: The appliance it registers with.
        installer: Where its script gets the installer package.
        agent_config: The Mobility service configuration generated on the appliance (a secret:
            executors put it where the script reads it, never into the script).
    """

    machine: SourceMachine
    platform: Platform
    appliance: ApplianceEndpoint
    installer: InstallerLocation
    agent_config: Secret = attrs.field(eq=False)

    @property
    def instance_id(self) -> str:
        """The machine's instance id."""
        return self.machine.instance_id

    @property
    def document(self) -> str:
        """The Run Command document for this job's script."""
        return self.platform.document

    def render(
        self, config: ParameterStoreConfig | FileBesideScript, *, for_machine: bool = False
    ) -> str:
        """The script text for this job.

        Args:
            config: Where the script reads the configuration.
            for_machine: Name the machine in the header comment (a bundle's per-machine copy).
                Without it the script is identical for every machine of the platform, which is
                what lets Run Command send one command to 50 instances.

        Raises:
            InvalidInputError: The installer location cannot serve this platform.
        """
        appliance = self.appliance.ip_address
        if self.appliance.name:
            appliance = f"{self.appliance.name} ({appliance})"
        return render_script(
            self.platform,
            config=config,
            installer=self.installer,
            region=self.machine.region,
            appliance=appliance,
            target=self.machine.display_name if for_machine else None,
        )


@runtime_checkable
class InstallExecutor(Protocol):
    """Runs (or hands out) install jobs; answers one result per job."""

    def run(self, jobs: Sequence[InstallJob], context: InstallContext) -> Sequence[InstallResult]:
        """Run the jobs.

        Raises:
            MobilityError: When nothing at all could be done (a per-machine failure is a
                ``FAILED`` result instead).
        """
        ...


def _as_secret(value: Secret | str | os.PathLike[str]) -> Secret | Path:
    if isinstance(value, Secret):
        secret = value
    elif isinstance(value, str):
        secret = Secret(value, label="Mobility service configuration")
    elif isinstance(value, os.PathLike):
        return Path(value)
    else:
        raise InvalidInputError(
            "agent_config must be a Secret, the configuration text, or a pathlib.Path to the "
            f"file generated on the appliance, not {type(value).__name__}"
        )
    if not secret.reveal().strip():
        raise InvalidInputError("agent_config is empty")
    return secret


class ManualInstall:
    """Install the Mobility service with scripts, through an executor.

    Args:
        executor: Runs the scripts (:class:`~ec2asr.SsmRunCommand`, :class:`~ec2asr.ScriptBundle`
            or your own :class:`InstallExecutor`).
        agent_config: The Mobility service configuration file generated on the appliance
            (Appliance Configuration Manager, "Mobility service configuration details"): a
            :class:`~ec2asr.Secret`, its text, or a :class:`pathlib.Path` to the file (read when
            :meth:`install` runs).
        installer_location: Where the scripts get the installer package: ``"s3://bucket/prefix/"``,
            an absolute directory on the machines, an :class:`InstallerLocation`, or None for
            "next to the script" (bundles only).

    Raises:
        InvalidInputError: An argument is unusable (nothing is read or changed yet).
    """

    requires_inbound: bool = False
    """Nothing connects to the sources: no inbound port is needed."""

    def __init__(
        self,
        executor: InstallExecutor,
        agent_config: Secret | str | os.PathLike[str],
        *,
        installer_location: str | InstallerLocation | None = None,
    ) -> None:
        if not isinstance(executor, InstallExecutor):
            raise InvalidInputError(
                f"executor must have a run(jobs, context) method, not {type(executor).__name__}"
            )
        self._executor = executor
        self._config = _as_secret(agent_config)
        try:
            self._installer = InstallerLocation.parse(installer_location)
        except InvalidInputError as exc:
            raise InvalidInputError(f"installer_location: {exc}") from None

    def preflight(self) -> None:
        """Check, before the migration writes anything, that :meth:`install` can work: the agent
        configuration file (when a path was given) exists, is readable and is not empty, and
        Run Command is given an installer location it can use. The :class:`~ec2asr.Migration`
        calls it from ``plan()`` and ``run()``.

        Raises:
            InvalidInputError: The configuration file cannot be read or is empty, or the
                executor is :class:`~ec2asr.SsmRunCommand` and the installer is "next to the
                script" (only people running a bundle have a script folder).
        """
        from ec2asr.mobility.ssm import SsmRunCommand

        if isinstance(self._executor, SsmRunCommand) and self._installer.kind == "beside-script":
            raise InvalidInputError(
                "installer_location is required with SsmRunCommand: Run Command scripts cannot "
                "find an installer 'next to the script'; give s3://..., an HTTPS "
                "InstallerLocation or a directory on the machines"
            )
        self._secret()

    def __repr__(self) -> str:
        return (
            f"ManualInstall(executor={self._executor!r}, agent_config=<secret>, "
            f"installer_location={str(self._installer)!r})"
        )

    def _secret(self) -> Secret:
        if isinstance(self._config, Secret):
            return self._config
        try:
            text = self._config.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InvalidInputError(
                f"cannot read the agent configuration file {self._config}: {exc.strerror}"
            ) from None
        if not text.strip():
            raise InvalidInputError(f"the agent configuration file {self._config} is empty")
        return Secret(text, label="Mobility service configuration")

    def install(
        self, machines: Sequence[SourceMachine], context: InstallContext
    ) -> list[InstallResult]:
        """Install the agent on every machine the appliance has not discovered yet.

        Machines whose private IP the appliance already discovered are ``INSTALLED`` without
        running anything (a re-run never installs twice). Machines of unknown OS fail.

        Returns:
            One result per machine, in the order given.

        Raises:
            InvalidInputError: The configuration file cannot be read.
            MobilityError: The executor could do nothing at all.
        """
        secret = self._secret()
        results: dict[str, InstallResult] = {}
        jobs: list[InstallJob] = []
        for machine in machines:
            platform = Platform.of(machine.os.family)
            if set(machine.private_ips) & context.discovered_ips:
                results[machine.instance_id] = InstallResult(
                    machine.instance_id,
                    InstallState.INSTALLED,
                    f"{machine.display_name} is already registered with the appliance",
                    details={"skipped": "already discovered by the appliance"},
                )
            elif platform is None:
                error = MobilityError(
                    f"{machine.display_name}: the OS family is unknown, so ec2asr cannot tell "
                    "which installer to run; set the instance's ec2asr:os tag",
                    instance_id=machine.instance_id,
                )
                results[machine.instance_id] = InstallResult(
                    machine.instance_id, InstallState.FAILED, str(error), error=error
                )
            else:
                jobs.append(
                    InstallJob(machine, platform, context.appliance, self._installer, secret)
                )
        if jobs:
            for result in self._run(jobs, context):
                results[result.instance_id] = result
        return [results[m.instance_id] for m in machines]

    def _run(self, jobs: list[InstallJob], context: InstallContext) -> list[InstallResult]:
        answered = {r.instance_id: r for r in self._executor.run(jobs, context)}
        out = []
        for job in jobs:
            result = answered.pop(job.instance_id, None)
            if result is None:
                error: Ec2AsrError = MobilityError(
                    f"the executor returned no result for {job.machine.display_name}",
                    instance_id=job.instance_id,
                )
                result = InstallResult(
                    job.instance_id, InstallState.FAILED, str(error), error=error
                )
            out.append(result)
        if answered:
            logger.warning(
                "the executor answered for machines it was not given: %s", sorted(answered)
            )
        return out
