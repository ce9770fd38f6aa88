"""Validation of enable-replication (``InMageRcmEnableProtectionInput``) and update inputs, as ASR
refuses them: required ids, ARM id shapes, a mapped policy, a discovered machine, Azure VM naming.

Azure VM names (Microsoft.Compute/virtualMachines naming rules): 1-15 characters for Windows
(the computer name limit), 1-64 for Linux; letters, digits and hyphens (Linux also periods); no
spaces or ``~ ! @ # $ % ^ & * ( ) = + _ [ ] { } \\ | ; : ' " , < > / ?``; Windows names can't end
with a hyphen or be all digits, Linux names can't end with a period or hyphen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ec2asr.testing.emulator.arm import ArmError, invalid, last_segment
from ec2asr.testing.emulator.state import (
    Appliance,
    Container,
    DiscoveredMachine,
    Fabric,
    Policy,
    RunAsAccount,
    VaultState,
)

__all__ = [
    "DISK_TYPES",
    "LICENSE_TYPES",
    "LINUX_LICENSE_TYPES",
    "EnableRequest",
    "check_vm_name",
    "parse_enable_input",
]

_RG_ID = re.compile(r"^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\w._()]{1,90}$", re.IGNORECASE)
_VNET_ID = re.compile(
    r"^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\w._()]{1,90}"
    r"/providers/Microsoft\.Network/virtualNetworks/[-\w._]{2,64}$",
    re.IGNORECASE,
)
_STORAGE_ID = re.compile(
    r"^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\w._()]{1,90}"
    r"/providers/Microsoft\.Storage/storageAccounts/[a-z0-9]{3,24}$",
    re.IGNORECASE,
)
# The SDK's DiskAccountType, LicenseType and LinuxLicenseType enums (service.json 2025-08-01);
# tests/contract/test_sdk_contract.py keeps these equal to the SDK's.
DISK_TYPES = frozenset(
    {
        "Standard_LRS",
        "Premium_LRS",
        "StandardSSD_LRS",
        "PremiumV2_LRS",
        "UltraSSD_LRS",
        "StandardSSD_ZRS",
        "Premium_ZRS",
    }
)
# "Premium SSD v2 disks can't be used as an OS disk" (learn.microsoft.com/azure/virtual-machines/
# disks-deploy-premium-v2), "Ultra Disks can't be used as an OS disk" (.../disks-enable-ultra-ssd).
DATA_ONLY_DISK_TYPES = frozenset({"PremiumV2_LRS", "UltraSSD_LRS"})
LICENSE_TYPES = frozenset({"NotSpecified", "NoLicenseType", "WindowsServer"})
LINUX_LICENSE_TYPES = frozenset({"NotSpecified", "NoLicenseType", "LinuxServer"})
MAX_DISK_GIB = 32 * 1024
MAX_OS_DISK_GIB = {"BIOS": 2048, "UEFI": 4096}


def check_vm_name(name: str, os_type: str) -> str | None:
    """Why ``name`` is not a valid Azure VM name for this OS, or None when it is."""
    limit = 15 if os_type == "windows" else 64
    if not 1 <= len(name) <= limit:
        return f"must be 1-{limit} characters long for a {os_type.capitalize()} virtual machine"
    allowed = r"[A-Za-z0-9-]" if os_type == "windows" else r"[A-Za-z0-9.-]"
    if not re.fullmatch(f"{allowed}+", name):
        extra = "" if os_type == "windows" else ", periods"
        return f"may contain only letters, digits{extra} and hyphens"
    if not name[0].isalnum():
        return "must start with a letter or digit"
    if os_type == "windows" and (name.endswith("-") or name.isdigit()):
        return "can't end with a hyphen or consist of digits only"
    if os_type == "linux" and name[-1] in ".-":
        return "can't end with a period or a hyphen"
    return None


@dataclass
class EnableRequest:
    """A validated enable-replication request."""

    policy: Policy
    machine: DiscoveredMachine
    appliance: Appliance
    run_as: RunAsAccount | None
    settings: dict[str, Any]
    disks: list[dict[str, Any]]


def _require(settings: dict[str, Any], key: str) -> str:
    value = settings.get(key)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"'{key}' is required for InMageRcm enable protection.")
    return value


def _check_id(value: str | None, pattern: re.Pattern[str], what: str) -> None:
    if value and not pattern.match(value):
        raise invalid(f"'{value}' is not a valid {what} ARM id.")


def check_target_settings(settings: dict[str, Any], os_type: str) -> None:
    """Validate the target settings shared by enable and update.

    Raises:
        ArmError: 400 on an invalid value.
    """
    _check_id(settings.get("targetResourceGroupId"), _RG_ID, "resource group")
    _check_id(settings.get("targetNetworkId"), _VNET_ID, "virtual network")
    _check_id(settings.get("testNetworkId"), _VNET_ID, "virtual network")
    _check_id(settings.get("targetBootDiagnosticsStorageAccountId"), _STORAGE_ID, "storage account")
    name = settings.get("targetVmName")
    if name is not None:
        reason = check_vm_name(str(name), os_type)
        if reason:
            raise invalid(
                f"The target VM name '{name}' is not valid: it {reason}.",
                code="InvalidTargetVmName",
            )
    license_type = settings.get("licenseType")
    if license_type is not None and license_type not in LICENSE_TYPES:
        raise invalid(f"licenseType '{license_type}' is not valid.")
    linux_license = settings.get("linuxLicenseType")
    if linux_license is not None and linux_license not in LINUX_LICENSE_TYPES:
        raise invalid(f"linuxLicenseType '{linux_license}' is not valid.")
    zone = settings.get("targetAvailabilityZone")
    if zone not in (None, "", "1", "2", "3"):
        raise invalid("targetAvailabilityZone must be '1', '2' or '3'.")
    if zone and settings.get("targetAvailabilitySetId"):
        raise invalid("A target availability zone and availability set cannot both be set.")


def _disks(settings: dict[str, Any], machine: DiscoveredMachine) -> list[dict[str, Any]]:
    spec = machine.spec
    by_id = {spec.disk_id(d).lower(): d for d in spec.disks}
    include = settings.get("disksToInclude")
    default = settings.get("disksDefault")
    if include and default:
        raise invalid("Specify either disksToInclude or disksDefault, not both.")
    if not include and not default:
        raise invalid("Either disksToInclude or disksDefault is required.")
    chosen: list[dict[str, Any]] = []
    if default:
        for disk in spec.disks:
            chosen.append({**default, "diskId": spec.disk_id(disk)})
    else:
        for entry in include or []:
            if not isinstance(entry, dict) or str(entry.get("diskId", "")).lower() not in by_id:
                raise invalid(
                    f"The disk '{entry.get('diskId') if isinstance(entry, dict) else entry}' "
                    "is not a disk of the machine."
                )
            chosen.append(dict(entry))
    os_ids = {spec.disk_id(d).lower() for d in spec.disks if d.is_os}
    if os_ids and not os_ids & {c["diskId"].lower() for c in chosen}:
        raise invalid("The OS disk must be included in replication.")
    for entry in chosen:
        disk = by_id[entry["diskId"].lower()]
        if entry.get("diskType") not in DISK_TYPES:
            raise invalid(f"diskType '{entry.get('diskType')}' is not supported for replication.")
        if disk.is_os and entry.get("diskType") in DATA_ONLY_DISK_TYPES:
            raise invalid(f"diskType '{entry.get('diskType')}' can't be used as an OS disk.")
        storage = entry.get("logStorageAccountId")
        if not storage or not _STORAGE_ID.match(str(storage)):
            raise invalid("Each disk needs a valid logStorageAccountId (cache storage account).")
        if disk.size_gib > MAX_DISK_GIB:
            raise invalid(
                f"The disk {disk.device_name} ({disk.size_gib} GiB) exceeds the 32 TB limit."
            )
        if disk.is_os and disk.size_gib > MAX_OS_DISK_GIB.get(spec.firmware, 2048):
            raise invalid(
                f"The OS disk {disk.device_name} ({disk.size_gib} GiB) is too large for the "
                "target generation."
            )
    return chosen


def parse_enable_input(
    vault: VaultState, fabric: Fabric, container: Container, body: dict[str, Any], site_id: str
) -> EnableRequest:
    """Validate an enable-protection body.

    Raises:
        ArmError: 400 when ASR would refuse it.
    """
    properties = body.get("properties") or {}
    policy_id = properties.get("policyId")
    if not policy_id:
        raise invalid("policyId is required.")
    policy = vault.policies.get(last_segment(str(policy_id)).lower())
    if policy is None:
        raise invalid(
            f"The replication policy '{policy_id}' does not exist.", code="PolicyNotFound"
        )
    if not any(m.policy_name.lower() == policy.name.lower() for m in container.mappings.values()):
        raise invalid(
            f"The replication policy '{policy.name}' is not associated with the protection "
            f"container '{container.name}'. Associate it before enabling replication.",
            code="PolicyNotAssociated",
        )
    settings = dict(properties.get("providerSpecificDetails") or {})
    if str(settings.get("instanceType", "")).lower() != "inmagercm":
        raise invalid("providerSpecificDetails.instanceType must be 'InMageRcm' for this fabric.")
    machine_id = _require(settings, "fabricDiscoveryMachineId")
    process_server_id = _require(settings, "processServerId")
    _require(settings, "targetResourceGroupId")
    prefix = f"{site_id}/machines/".lower()
    machine = None
    if machine_id.lower().startswith(prefix):
        machine = fabric.machines.get(last_segment(machine_id).lower())
    if machine is None:
        raise invalid(
            f"The machine '{machine_id}' was not discovered by the replication appliance.",
            code="MachineNotDiscovered",
        )
    appliance = fabric.appliance_by_process_server(process_server_id)
    if appliance is None:
        raise invalid(f"The process server '{process_server_id}' is not registered in the fabric.")
    settings.setdefault("targetVmName", machine.spec.hostname.split(".")[0])
    check_target_settings(settings, machine.spec.os_type)
    run_as = None
    run_as_id = settings.get("runAsAccountId")
    if run_as_id:
        run_as = fabric.run_as_accounts.get(last_segment(str(run_as_id)).lower())
        if run_as is None:
            raise invalid(f"The run-as account '{run_as_id}' does not exist on the appliance.")
    elif not machine.agent_registered:
        raise invalid(
            f"The Mobility agent of '{machine.spec.hostname}' is not registered with the "
            "appliance: "
            "provide runAsAccountId for push installation, or install the agent manually.",
            code="RunAsAccountRequired",
        )
    disks = _disks(settings, machine)
    for other in vault.items():
        if other.machine is machine:
            raise ArmError(
                409,
                "ProtectionAlreadyEnabled",
                (
                    f"Replication is already enabled for the machine "
                    f"'{machine.spec.hostname}' ({other.name})."
                ),
            )
        if (
            other.target_vm_name.lower() == str(settings["targetVmName"]).lower()
            and str(other.settings.get("targetResourceGroupId", "")).lower()
            == str(settings["targetResourceGroupId"]).lower()
        ):
            raise invalid(
                f"The target VM name '{settings['targetVmName']}' is already used by "
                f"'{other.name}' "
                "in the target resource group.",
                code="TargetVmNameInUse",
            )
    return EnableRequest(policy, machine, appliance, run_as, settings, disks)
