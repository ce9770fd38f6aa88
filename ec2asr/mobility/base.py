"""The Mobility-installer strategy: a Protocol with one method, passed into the facade.

Like libcloud's ``Deployment`` objects handed to ``deploy_node``, an installer is an object the
caller chooses (:class:`~ec2asr.PushInstall`, :class:`~ec2asr.ManualInstall`, or their own) and
the :class:`~ec2asr.Migration` calls. It gets the machines that need the Mobility agent and a
context, and answers one :class:`InstallResult` per machine.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from ec2asr._frozen import frozen_map
from ec2asr.errors import Ec2AsrError
from ec2asr.models import SourceMachine

if TYPE_CHECKING:
    from ec2asr.aws.leases import SecurityGroupLeases

__all__ = [
    "ApplianceEndpoint",
    "InstallContext",
    "InstallResult",
    "InstallState",
    "MobilityInstaller",
]


@attrs.frozen
class ApplianceEndpoint:
    """Where the sources' Mobility agents reach the replication appliance.

    Attributes:
        ip_address: The appliance's (process server's) private IP address.
        name: The appliance's name in the vault.
        fabric_name: The ASR fabric it is registered under.
        process_server_id: The process server that will replicate the machines.
    """

    ip_address: str
    name: str | None = None
    fabric_name: str | None = None
    process_server_id: str | None = None


class InstallState(str, enum.Enum):
    """What happened to one machine's Mobility agent."""

    INSTALLED = "installed"
    """The agent was installed and registered with the appliance: discovery follows."""
    HANDED_OVER = "handed-over"
    """Push: the appliance knows the machine; ASR installs the agent when replication is enabled."""
    ACTION_REQUIRED = "action-required"
    """A person must act (run the scripts, add the server on the appliance); see instructions."""
    FAILED = "failed"
    """Installation failed; ``error`` says why."""

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class InstallResult:
    """The outcome for one machine.

    Attributes:
        instance_id: The machine.
        state: What happened.
        message: One human sentence.
        instructions: What a person must do (``ACTION_REQUIRED``), never containing secrets.
        error: The typed error when ``FAILED``.
        run_as_account: Push only: the name of the appliance credential ASR pushes with.
        details: Machine-readable facts (SSM command id, exit code ...), never secrets.
    """

    instance_id: str
    state: InstallState
    message: str
    instructions: str | None = None
    error: Ec2AsrError | None = attrs.field(default=None, eq=False)
    run_as_account: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_map, hash=False)


@attrs.frozen
class InstallContext:
    """What the facade gives an installer.

    Attributes:
        appliance: The appliance endpoint.
        discovered_ips: Private IPs the appliance has already discovered.
        ec2_client: A boto3 EC2 client (for connectivity checks and rule leases).
        ssm_client: A boto3 SSM client (for Run Command), or None.
        leases: Adds temporary security-group rules (``PushInstall(manage_security_groups=True)``),
            or None.
        emit: Reports progress: ``emit(message, instance_id=None)``.
        migration_id: A stable name of this migration (names temporary resources such as the
            Parameter Store parameter; letters, digits, ``.``, ``_`` and ``-``).
    """

    appliance: ApplianceEndpoint
    discovered_ips: frozenset[str] = frozenset()
    ec2_client: Any = None
    ssm_client: Any = None
    leases: SecurityGroupLeases | None = None
    emit: Callable[..., None] = attrs.field(default=lambda *a, **k: None, eq=False)
    migration_id: str = "ec2asr"


@runtime_checkable
class MobilityInstaller(Protocol):
    """Installs (or arranges the installation of) the Mobility agent on source machines.

    An installer may also define ``preflight() -> None``: the
    :class:`~ec2asr.Migration` calls it from ``plan()`` and ``run()`` before anything is
    written, so a problem it can see up front (a missing file, a bad setting) is refused
    with an :class:`~ec2asr.errors.InvalidInputError` instead of failing every machine later.
    """

    def install(
        self, machines: Sequence[SourceMachine], context: InstallContext
    ) -> Sequence[InstallResult]:
        """Return one result per machine, in any order.

        Raises:
            MobilityError: When nothing at all could be done (a per-machine failure is a
                ``FAILED`` result instead).
        """
        ...
