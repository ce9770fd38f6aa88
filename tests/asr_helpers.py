"""Shared helpers for tests that drive the ASR emulator with the real SDK client."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ec2asr.testing.emulator import AsrEmulator, DiskSpec, MachineSpec, SimulatedClock

START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
POLICY = "ec2asr-policy"
MAPPING = "ec2asr-mapping"


def linux_spec(index: int = 1, *, disks: tuple[int, ...] = (30, 100)) -> MachineSpec:
    """A Linux source machine with an OS disk and data disks of these sizes (GiB)."""
    return MachineSpec(
        instance_id=f"i-0{index:016x}",
        hostname=f"web{index:02d}",
        private_ips=[f"10.0.1.{10 + index}"],
        os_type="linux",
        os_name="Ubuntu 20.04 LTS",
        os_version="20.04",
        disks=[
            DiskSpec(size, f"/dev/xvd{chr(ord('a') + n)}", is_os=n == 0)
            for n, size in enumerate(disks)
        ],
    )


def windows_spec(index: int = 1, *, disks: tuple[int, ...] = (60,)) -> MachineSpec:
    """A Windows source machine."""
    return MachineSpec(
        instance_id=f"i-1{index:016x}",
        hostname=f"WIN{index:02d}",
        private_ips=[f"10.0.2.{10 + index}"],
        os_type="windows",
        os_name="Windows Server 2019 Datacenter",
        os_version="10.0.17763",
        disks=[DiskSpec(size, f"disk{n}", is_os=n == 0) for n, size in enumerate(disks)],
    )


def new_emulator(**kwargs: Any) -> AsrEmulator:
    """A started emulator on a frozen clock with an appliance registered."""
    kwargs.setdefault("clock", SimulatedClock(START, speed=0))
    emulator = AsrEmulator(**kwargs).start()
    emulator.register_appliance("appliance01", "10.0.0.4")
    return emulator


def finish(emulator: AsrEmulator, poller: Any, seconds: float = 3600) -> Any:
    """Advance the simulated clock past the job, then collect the poller's result."""
    emulator.advance(seconds)
    result = poller.result(timeout=20)
    assert poller.done(), "the operation did not finish in simulated time"
    return result


def arm(emulator: AsrEmulator, rest: str) -> str:
    """An ARM id in the emulator's subscription."""
    return f"/subscriptions/{emulator.subscription_id}/resourceGroups/{rest}"


def policy_input(history: int = 1440, app: int = 60) -> dict[str, Any]:
    """An InMageRcm policy creation body."""
    return {
        "properties": {
            "providerSpecificInput": {
                "instanceType": "InMageRcm",
                "recoveryPointHistoryInMinutes": history,
                "crashConsistentFrequencyInMinutes": 5,
                "appConsistentFrequencyInMinutes": app,
                "enableMultiVmSync": "True",
            }
        }
    }


def setup_policy(emulator: AsrEmulator, client: Any) -> str:
    """Create the policy and map it to the container; returns the policy id."""
    rg, vault = emulator.resource_group, emulator.vault
    policy = finish(
        emulator, client.replication_policies.begin_create(rg, vault, POLICY, policy_input())
    )
    finish(
        emulator,
        client.replication_protection_container_mappings.begin_create(
            rg,
            vault,
            emulator.fabric_name,
            emulator.container_name,
            MAPPING,
            {
                "properties": {
                    "policyId": policy.id,
                    "targetProtectionContainerId": "Microsoft Azure",
                }
            },
        ),
    )
    return str(policy.id)


def enable_input(
    emulator: AsrEmulator,
    policy_id: str,
    machine_id: str,
    **overrides: Any,
) -> dict[str, Any]:
    """An InMageRcm enable-protection body for a discovered machine."""
    details: dict[str, Any] = {
        "instanceType": "InMageRcm",
        "fabricDiscoveryMachineId": machine_id,
        "processServerId": emulator.appliance.appliance_id,
        "targetResourceGroupId": arm(emulator, "target-rg"),
        "targetNetworkId": arm(
            emulator, "net-rg/providers/Microsoft.Network/virtualNetworks/vnet-prod"
        ),
        "testNetworkId": arm(
            emulator, "net-rg/providers/Microsoft.Network/virtualNetworks/vnet-test"
        ),
        "targetSubnetName": "default",
        "disksDefault": {
            "diskType": "Standard_LRS",
            "logStorageAccountId": arm(
                emulator, "net-rg/providers/Microsoft.Storage/storageAccounts/cachesa01"
            ),
        },
    }
    details.update(overrides)
    return {"properties": {"policyId": policy_id, "providerSpecificDetails": details}}


def items_api(emulator: AsrEmulator, client: Any) -> tuple[Any, tuple[str, str, str, str]]:
    """The protected-items operations and their leading arguments."""
    return client.replication_protected_items, (
        emulator.resource_group,
        emulator.vault,
        emulator.fabric_name,
        emulator.container_name,
    )


def protect(emulator: AsrEmulator, client: Any, spec: MachineSpec, policy_id: str) -> Any:
    """Register the machine, enable replication and advance until it is Protected."""
    machine_id = emulator.register_machine(spec)
    items, args = items_api(emulator, client)
    finish(
        emulator,
        items.begin_create(*args, spec.instance_id, enable_input(emulator, policy_id, machine_id)),
    )
    emulator.advance(6 * 3600)
    item = items.get(*args, spec.instance_id)
    assert item.properties.protection_state == "Protected", item.properties.protection_state
    return item


def asr_code(error: Any) -> str | None:
    """The ASR code of an ``HttpResponseError``: Site Recovery puts its own error in
    ``error.details[0]`` under a generic top level (``BadRequest``); ARM's platform errors have
    their code at the top."""
    details = getattr(error.error, "details", None) or []
    return details[0].code if details and details[0].code else error.error.code
