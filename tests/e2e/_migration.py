"""Helpers for end-to-end migration tests on the sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ec2asr
from ec2asr.migration.facade import Migration
from ec2asr.mobility.base import InstallContext, InstallResult, InstallState
from ec2asr.models import SourceMachine
from ec2asr.testing import Sandbox, SimulatedClock, Timings

RG = "/subscriptions/00000000-0000-4000-8000-0000000ec2a5/resourceGroups/target-rg"
TARGET = ec2asr.TargetSettings(
    resource_group_id=RG,
    network_id=RG + "/providers/Microsoft.Network/virtualNetworks/prod-vnet",
    subnet_name="default",
    log_storage_account_id=RG + "/providers/Microsoft.Storage/storageAccounts/cache01",
    test_network_id=RG + "/providers/Microsoft.Network/virtualNetworks/test-vnet",
)


class AgentsByHand:
    """A user-written installer (the Protocol's one method): the agents were installed by
    hand, so it only registers them with the appliance, through the sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.calls: list[list[str]] = []

    def install(
        self, machines: Sequence[SourceMachine], context: InstallContext
    ) -> Sequence[InstallResult]:
        ids = [m.instance_id for m in machines]
        self.calls.append(ids)
        self.sandbox.register_agents(ids)
        return [InstallResult(i, InstallState.INSTALLED, "agent registered by hand") for i in ids]


def fast_sandbox(**kwargs: Any) -> Sandbox:
    """A sandbox whose simulated clock moves only when ec2asr sleeps (see :func:`sim_sleep`):
    hours of replication pass in a few real seconds, deterministically. ``kwargs`` go to
    :class:`Sandbox` (``lro_mode``, ``missing_child_status`` ...)."""
    return Sandbox(clock=SimulatedClock(speed=0), timings=Timings(bandwidth_mbps=2000), **kwargs)


def sim_sleep(sandbox: Sandbox) -> Any:
    """A ``sleep`` that advances the sandbox's simulated clock instead of waiting."""

    def sleep(seconds: float) -> None:
        sandbox.emulator.clock.advance(max(float(seconds), 1.0))

    return sleep


def make_migration(
    sandbox: Sandbox, journal: Path | ec2asr.Journal, installer: Any = None, **kwargs: Any
) -> Migration:
    """A Migration on the sandbox, polling fast, on the emulator's clock. ``journal``: a SQLite
    path, or a journal object (keeping time on the emulator's clock too)."""
    discovery = ec2asr.Ec2Discovery(sandbox.new_aws_session())
    asr = ec2asr.SiteRecoveryClient(
        sandbox.credential,
        sandbox.subscription_id,
        resource_group=sandbox.resource_group,
        vault=sandbox.vault,
        base_url=sandbox.base_url,
        polling_interval=30,
        sleep=sim_sleep(sandbox),
        clock=lambda: sandbox.now().timestamp(),
    )
    kwargs.setdefault("poll_interval", 120)
    kwargs.setdefault("sleep", sim_sleep(sandbox))
    kwargs.setdefault("now", sandbox.now)
    return Migration(
        ec2=discovery,
        asr=asr,
        installer=installer or AgentsByHand(sandbox),
        target=kwargs.pop("target", TARGET),
        policy=kwargs.pop("policy", ec2asr.ReplicationPolicy()),
        journal=journal,
        **kwargs,
    )


def writes_by_item(sandbox: Sandbox) -> dict[str, list[str]]:
    """The emulator's accepted writes on protected items: item name -> operations."""
    out: dict[str, list[str]] = {}
    for w in sandbox.emulator.writes:
        parts = w.path.split("?")[0].split("/")
        lowered = [p.lower() for p in parts]
        if "replicationprotecteditems" not in lowered:
            continue
        i = lowered.index("replicationprotecteditems")
        if i + 1 >= len(parts):
            continue
        op = parts[i + 2] if i + 2 < len(parts) else w.method
        out.setdefault(parts[i + 1], []).append(op)
    return out


def ec2asr_rules(sandbox: Sandbox) -> list[str]:
    """Security-group rules ec2asr leased that still exist (described ``ec2asr lease ...``)."""
    ec2 = sandbox.new_aws_session().client("ec2")
    found = []
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        for direction in ("IpPermissions", "IpPermissionsEgress"):
            for perm in group.get(direction, ()):
                for ip in perm.get("IpRanges", ()):
                    if (ip.get("Description") or "").startswith("ec2asr lease"):
                        found.append(f"{group['GroupId']} {ip['CidrIp']} {perm.get('FromPort')}")
    return found


def delete_vm(sandbox: Sandbox, vm_id: str) -> None:
    """What a person does in the portal after a rollback: delete the VM it left, deallocated."""
    from azure.core.rest import HttpRequest

    client = sandbox.emulator.asr_management_client()
    response = client.send_request(HttpRequest("DELETE", f"{vm_id}?api-version=2024-07-01"))
    assert response.status_code == 202
    sandbox.emulator.advance(120)
    assert sandbox.emulator.virtual_machine(vm_id) is None
