"""The appliance side of Mobility agent registration.

* :func:`register_appliance` creates the InMageRcm fabric, its protection container, the
  ``Microsoft.OffAzure`` server site and the appliance, with the Mobility service configuration
  the appliance generates (a secret).
* :func:`register_machine` — a Mobility agent registered (installed by hand or through SSM with
  the right configuration): the machine appears in the site, agent registered.
* :func:`add_push_servers` — the appliance-side "add these servers with this credential": the
  machines appear in the site without an agent, and a run-as account exists for push install.
* :func:`check_configuration` decides whether a configurator run with some configuration text
  registers, and why not.
* :func:`push_outcome` decides how a push installation ends (credentials, then the network).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import datetime

from ec2asr._secret import Secret
from ec2asr.testing.emulator import asr_errors
from ec2asr.testing.emulator.arm import stable_guid
from ec2asr.testing.emulator.models import ApplianceInfo, ConnectivityOracle, JobError, MachineSpec
from ec2asr.testing.emulator.state import (
    Appliance,
    Container,
    DiscoveredMachine,
    Fabric,
    RunAsAccount,
    VaultState,
)

__all__ = [
    "add_push_servers",
    "check_configuration",
    "push_outcome",
    "register_appliance",
    "register_machine",
]


def mobility_configuration(appliance: ApplianceInfo) -> Secret:
    """A Mobility service configuration for the appliance (fields of the agent's RCM registration
    info; the one-time password makes it a secret)."""
    content = json.dumps(
        {
            "ApplianceFqdn": appliance.name,
            "IpAddresses": appliance.private_ip,
            "RcmProxyPort": "443",
            "Otp": secrets.token_urlsafe(24),
            "IsCredentialLessDiscovery": "false",
            "ClientRequestId": stable_guid("config", appliance.appliance_id),
        },
        sort_keys=True,
    )
    return Secret(content, label="Mobility service configuration")


def register_appliance(
    vault: VaultState,
    info: ApplianceInfo,
    now: datetime,
    *,
    fabric_name: str | None = None,
    container_name: str | None = None,
    site_name: str | None = None,
) -> Appliance:
    """Register an appliance with the vault (creating the InMageRcm fabric on first use).

    The appliance joins the vault's fabric, or the one ``fabric_name`` names; a ``fabric_name``
    no fabric has yet creates a fabric of its own, with its own site and container (a vault
    with several appliance sites, as ec2asr's ``appliance=`` option expects).
    """
    if fabric_name is not None:
        fabric = vault.fabrics.get(fabric_name.lower())
    else:
        fabric = next(iter(vault.fabrics.values()), None)
    if fabric is None:
        name = fabric_name or f"{info.name}-{stable_guid('fabric', vault.asr_id)[:8]}"
        site = site_name or f"{info.name}-site"[:24]
        if any(f.site_name.lower() == site.lower() for f in vault.fabrics.values()):
            site = f"{site[:15]}-{stable_guid('site', name)[:8]}"
        fabric = Fabric(
            name=name,
            site_name=site,
            internal_id=stable_guid("fabric", vault.asr_id, name),
            created=now,
        )
        vault.fabrics[name.lower()] = fabric
        container = container_name or f"{name}-container"
        fabric.containers[container.lower()] = Container(name=container, fabric_name=name)
    appliance = Appliance(
        info=info, mobility_config=mobility_configuration(info), registered_at=now
    )
    fabric.appliances[info.appliance_id.lower()] = appliance
    return appliance


def _machine_name(spec: MachineSpec) -> str:
    return stable_guid("offazure-machine", spec.resolved_bios_guid)


def register_machine(
    fabric: Fabric, spec: MachineSpec, now: datetime, *, method: str = "manual"
) -> DiscoveredMachine:
    """A Mobility agent registered: the machine is discovered, agent installed."""
    existing = fabric.machine_by_instance(spec.instance_id)
    if existing is not None:
        existing.spec = spec
        existing.agent_registered = True
        existing.agent_installed_by = existing.agent_installed_by or method
        existing.updated_at = now
        return existing
    machine = DiscoveredMachine(
        name=_machine_name(spec),
        spec=spec,
        agent_registered=True,
        run_as_account=None,
        discovered_at=now,
        updated_at=now,
        agent_installed_by=method,
    )
    fabric.machines[machine.name.lower()] = machine
    return machine


def add_push_servers(
    fabric: Fabric,
    specs: Iterable[MachineSpec],
    *,
    account_name: str,
    credentials_valid: bool,
    now: datetime,
) -> RunAsAccount:
    """Add servers to the appliance with a credential (push installation): machines are
    discovered without an agent and a run-as account is created (or reused by name)."""
    spec_list = list(specs)
    kinds = {s.os_type for s in spec_list}
    credential_type = "LinuxServer" if kinds == {"linux"} else "WindowsServer"
    appliance = next(iter(fabric.appliances.values()))
    account = next(
        (a for a in fabric.run_as_accounts.values() if a.display_name == account_name), None
    )
    if account is None:
        account = RunAsAccount(
            name=stable_guid("run-as", fabric.internal_id, account_name),
            display_name=account_name,
            credential_type=credential_type,
            credentials_valid=credentials_valid,
            appliance_name=appliance.info.name,
            created=now,
        )
        fabric.run_as_accounts[account.name.lower()] = account
    else:
        account.credentials_valid = credentials_valid
    for spec in spec_list:
        machine = fabric.machine_by_instance(spec.instance_id)
        if machine is None:
            machine = DiscoveredMachine(
                name=_machine_name(spec),
                spec=spec,
                agent_registered=False,
                run_as_account=account.name,
                discovered_at=now,
                updated_at=now,
            )
            fabric.machines[machine.name.lower()] = machine
        else:
            machine.run_as_account = account.name
            machine.updated_at = now
    return account


def check_configuration(appliance: Appliance, text: str | None) -> str | None:
    """Why a configurator run with ``text`` as its configuration would not register (None: it
    registers). Never includes the configuration itself."""
    if text is None or not text.strip():
        return "the Mobility service configuration file is missing or empty"
    expected = appliance.mobility_config.reveal()
    if text.strip() == expected.strip():
        return None
    try:
        given = json.loads(text)
    except ValueError:
        return "the file is not a Mobility service configuration generated by the appliance"
    if not isinstance(given, dict) or "Otp" not in given:
        return "the file is not a Mobility service configuration generated by the appliance"
    wanted = json.loads(expected)
    if given.get("ApplianceFqdn") != wanted["ApplianceFqdn"]:
        return "the configuration was generated by another appliance"
    return "the configuration's one-time password is not valid (expired or from an older file)"


def push_outcome(
    spec: MachineSpec,
    run_as: RunAsAccount | None,
    appliance: Appliance,
    oracle: ConnectivityOracle,
) -> JobError | None:
    """How a push installation ends: a credentials error, a connectivity error, or success."""
    path = oracle.push_path(spec, appliance.info)
    if not path.open:
        return asr_errors.push_connectivity_error(
            spec.hostname, appliance.info.private_ip, path.missing
        )
    if run_as is None or not run_as.credentials_valid:
        account = run_as.display_name if run_as else "(none)"
        return asr_errors.push_credentials_error(spec.hostname, account, spec.os_type)
    return None
