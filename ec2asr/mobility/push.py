"""Push installation: the appliance installs the Mobility service itself, with a run-as account.

ec2asr never sees a password: the credential lives on the appliance under a name (its "friendly
name"), and ec2asr only passes that name to ASR when replication is enabled. What ec2asr does:

1. checks the push-install paths from the appliance to each source (Windows TCP 445, 135,
   49152-65535; Linux TCP 22) and, with ``manage_security_groups=True``, leases the missing
   security-group rules (scoped to the appliance's /32 and the exact ports);
2. for machines the appliance has not discovered yet, tells exactly which servers to add on the
   appliance with which credential (``ACTION_REQUIRED``);
3. hands discovered machines over (``HANDED_OVER`` with ``run_as_account``): ASR pushes the agent
   when replication is enabled.

The :class:`~ec2asr.Migration` facade waits for discovery and calls :meth:`PushInstall.install`
again; a call only changes what is still missing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

from ec2asr._validate import check_bool, shown
from ec2asr.aws.leases import SecurityGroupLeases
from ec2asr.aws.network import FlowPurpose, MachineConnectivity, MissingRule, NetworkInspector
from ec2asr.errors import ConnectivityError, Ec2AsrError, InvalidInputError, MobilityError
from ec2asr.mobility.base import InstallContext, InstallResult, InstallState
from ec2asr.models import OsFamily, SourceMachine

__all__ = ["PushInstall"]

logger = logging.getLogger("ec2asr")

_FAMILIES = {"windows": OsFamily.WINDOWS, "linux": OsFamily.LINUX}


def _accounts(run_as_account: str | Mapping[str, str]) -> dict[OsFamily, str]:
    if isinstance(run_as_account, str):
        if not run_as_account.strip():
            raise InvalidInputError("run_as_account must name a credential on the appliance")
        return {OsFamily.WINDOWS: run_as_account, OsFamily.LINUX: run_as_account}
    if not isinstance(run_as_account, Mapping) or not run_as_account:
        raise InvalidInputError(
            "run_as_account must be a credential name, or {'windows': ..., 'linux': ...}, "
            f"not {shown(run_as_account)}"
        )
    accounts: dict[OsFamily, str] = {}
    for key, name in run_as_account.items():
        family = _FAMILIES.get(str(key).lower())
        if family is None:
            # A plain word (a typo, another OS) is shown; anything else could be a password
            # given by mistake, and must not reach a log.
            plain = isinstance(key, str) and re.fullmatch(r"[A-Za-z]{1,16}", key)
            what = repr(key) if plain else "a key that is not shown (it could be a secret)"
            raise InvalidInputError(f"run_as_account keys are 'windows' and 'linux', not {what}")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(f"run_as_account[{key!r}] must name a credential")
        accounts[family] = name
    return accounts


class PushInstall:
    """Let the replication appliance push the Mobility agent, with a credential it holds.

    Args:
        run_as_account: The friendly name of the credential on the appliance that may log on to
            the sources (an administrator on Windows, root-capable on Linux); or one per family:
            ``{"windows": "win-admin", "linux": "linux-root"}``. Never a password.
        manage_security_groups: Add the missing push-install rules as temporary leases (needs
            ``context.leases``); otherwise a closed path fails the machine.

    Raises:
        InvalidInputError: ``run_as_account`` is empty or malformed, or
            ``manage_security_groups`` is not a bool.
    """

    requires_inbound: bool = True
    """The appliance connects to the sources (push ports must be open)."""

    def __init__(
        self, run_as_account: str | Mapping[str, str], *, manage_security_groups: bool = False
    ) -> None:
        self._accounts = _accounts(run_as_account)
        self._manage = check_bool("manage_security_groups", manage_security_groups)

    def __repr__(self) -> str:
        names = {f.value: n for f, n in self._accounts.items()}
        return f"PushInstall(run_as_account={names!r}, manage_security_groups={self._manage})"

    @property
    def manage_security_groups(self) -> bool:
        """Whether the missing push-install rules are leased (the migration's plan reads it)."""
        return self._manage

    def run_as_account_for(self, machine: SourceMachine) -> str | None:
        """The credential name used for a machine, None when none applies."""
        return self._accounts.get(machine.os.family)

    def install(
        self, machines: Sequence[SourceMachine], context: InstallContext
    ) -> list[InstallResult]:
        """Check (or lease) the push paths, then hand over or ask for the appliance step.

        Returns:
            One result per machine, in the order given.

        Raises:
            MobilityError: No EC2 client to check the paths with, or
                ``manage_security_groups=True`` without ``context.leases``.
            AwsError: EC2 could not be read.
        """
        if not machines:
            return []
        if context.ec2_client is None:
            raise MobilityError("PushInstall needs context.ec2_client to check the push paths")
        if self._manage and not isinstance(context.leases, SecurityGroupLeases):
            raise MobilityError(
                "manage_security_groups=True needs context.leases (a SecurityGroupLeases)"
            )
        results: dict[str, InstallResult] = {}
        candidates = []
        for machine in machines:
            if machine.os.family is OsFamily.UNKNOWN:
                results[machine.instance_id] = _failed(
                    machine,
                    MobilityError(
                        f"{machine.display_name}: the OS family is unknown, so neither the push "
                        "ports nor the credential can be chosen; set the ec2asr:os tag",
                        instance_id=machine.instance_id,
                    ),
                )
            elif machine.os.family not in self._accounts:
                results[machine.instance_id] = _failed(
                    machine,
                    MobilityError(
                        f"{machine.display_name}: no run-as account is given for "
                        f"{machine.os.family.value} machines",
                        instance_id=machine.instance_id,
                    ),
                )
            else:
                candidates.append(machine)
        open_machines = self._open_paths(candidates, context, results)
        waiting = [m for m in open_machines if not set(m.private_ips) & context.discovered_ips]
        instructions = self._instructions(waiting, context)
        for machine in open_machines:
            account = self._accounts[machine.os.family]
            if machine in waiting:
                results[machine.instance_id] = InstallResult(
                    machine.instance_id,
                    InstallState.ACTION_REQUIRED,
                    f"add {machine.private_ip} on the appliance with the credential '{account}'",
                    instructions=instructions,
                    run_as_account=account,
                )
            else:
                results[machine.instance_id] = InstallResult(
                    machine.instance_id,
                    InstallState.HANDED_OVER,
                    f"the appliance knows {machine.display_name}: ASR pushes the Mobility agent "
                    f"with the credential '{account}' when replication is enabled",
                    run_as_account=account,
                )
        if waiting:
            context.emit(
                f"{len(waiting)} server(s) must be added on the appliance for push install"
            )
        return [results[m.instance_id] for m in machines]

    def _open_paths(
        self,
        machines: list[SourceMachine],
        context: InstallContext,
        results: dict[str, InstallResult],
    ) -> list[SourceMachine]:
        """The machines whose push paths are open (after leasing, when managed)."""
        if not machines:
            return []
        report = NetworkInspector(context.ec2_client).analyze(
            machines, context.appliance.ip_address, push=True
        )
        leased: dict[str, Ec2AsrError] = {}
        if self._manage:
            leases = context.leases
            assert isinstance(leases, SecurityGroupLeases)
            outcome = leases.acquire(report, purposes=[FlowPurpose.PUSH_INSTALL])
            leased = dict(outcome.errors)
        opened = []
        for machine in machines:
            verdict = report[machine.instance_id]
            blocking = [
                m
                for m in verdict.missing_for(FlowPurpose.PUSH_INSTALL)
                if not (self._manage and m.leasable)
            ]
            if machine.instance_id in leased:
                error = leased[machine.instance_id]
                results[machine.instance_id] = _failed(
                    machine,
                    ConnectivityError(
                        f"{machine.display_name}: a push-install rule could not be added: {error}",
                        instance_id=machine.instance_id,
                        missing=[str(m) for m in verdict.missing_for(FlowPurpose.PUSH_INSTALL)],
                    ),
                )
            elif blocking:
                results[machine.instance_id] = _failed(machine, _closed(verdict, blocking))
            else:
                opened.append(machine)
        return opened

    def _instructions(self, waiting: list[SourceMachine], context: InstallContext) -> str | None:
        if not waiting:
            return None
        appliance = context.appliance.ip_address
        if context.appliance.name:
            appliance = f"{context.appliance.name} ({appliance})"
        lines = [
            f"On the replication appliance {appliance}, open the Appliance Configuration Manager "
            "and add these servers as physical servers, each with the credential named below "
            "(create the credential there first if it does not exist; ec2asr never handles its "
            "password):"
        ]
        for family in (OsFamily.WINDOWS, OsFamily.LINUX):
            group = [m for m in waiting if m.os.family is family]
            if group:
                ips = ", ".join(f"{m.private_ip} ({m.display_name})" for m in group)
                lines.append(
                    f"- {family.value.capitalize()}, credential '{self._accounts[family]}': {ips}"
                )
        lines.append(
            "When the appliance lists them as discovered machines, run the migration again: "
            "ASR then pushes the Mobility agent as replication is enabled."
        )
        return "\n".join(lines)


def _closed(verdict: MachineConnectivity, blocking: Sequence[MissingRule]) -> ConnectivityError:
    rules = [str(m) for m in blocking]
    return ConnectivityError(
        f"{verdict.display_name}: the appliance cannot reach it for push install: "
        + "; ".join(rules),
        instance_id=verdict.instance_id,
        missing=rules,
    )


def _failed(machine: SourceMachine, error: Ec2AsrError) -> InstallResult:
    return InstallResult(machine.instance_id, InstallState.FAILED, str(error), error=error)
