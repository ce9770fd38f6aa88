"""What the caller decides: the replication policy and the Azure target of each machine."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ec2asr._frozen import frozen_map as _frozen
from ec2asr.errors import InvalidInputError
from ec2asr.models import SourceMachine

__all__ = ["ReplicationPolicy", "TargetSettings", "azure_vm_name"]

_ARM_RG = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+$", re.IGNORECASE)
_ARM_VNET = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+$",
    re.IGNORECASE,
)
_ARM_STORAGE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[^/]+$",
    re.IGNORECASE,
)
DISK_TYPES = (
    "Standard_LRS",
    "StandardSSD_LRS",
    "Premium_LRS",
    "PremiumV2_LRS",
    "StandardSSD_ZRS",
    "Premium_ZRS",
)
LICENSE_TYPES = ("NoLicenseType", "WindowsServer")
LINUX_LICENSE_TYPES = ("NoLicenseType", "LinuxServer")


@attrs.frozen
class ReplicationPolicy:
    """An InMageRcm replication policy.

    Attributes:
        name: The policy's name in the vault (reused when one with the same settings exists).
        recovery_point_history_minutes: How long recovery points are kept (0 to 21600, 15 days).
        app_consistent_frequency_minutes: How often app-consistent points are taken (0 = never,
            at most 720 and not more than the history).
        crash_consistent_frequency_minutes: Crash-consistent point frequency (ASR uses 5).
        multi_vm_sync: Whether machines of one replication group share consistent points.

    Raises:
        InvalidInputError: When a value is outside what ASR accepts.
    """

    name: str = "ec2asr-policy"
    recovery_point_history_minutes: int = 4320
    app_consistent_frequency_minutes: int = 240
    crash_consistent_frequency_minutes: int = 5
    multi_vm_sync: bool = False

    def __attrs_post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}", self.name):
            raise InvalidInputError(f"invalid replication policy name {self.name!r}")
        if not 0 <= self.recovery_point_history_minutes <= 21600:
            raise InvalidInputError(
                "recovery_point_history_minutes must be within 0..21600 (15 days)"
            )
        if not 0 <= self.app_consistent_frequency_minutes <= 720:
            raise InvalidInputError(
                "app_consistent_frequency_minutes must be within 0..720 (12 hours)"
            )
        if (
            self.app_consistent_frequency_minutes
            and self.app_consistent_frequency_minutes > self.recovery_point_history_minutes
        ):
            raise InvalidInputError(
                "app_consistent_frequency_minutes cannot exceed recovery_point_history_minutes"
            )
        if self.crash_consistent_frequency_minutes != 5:
            raise InvalidInputError("InMageRcm takes crash-consistent points every 5 minutes")


_NAME_CHARS = re.compile(r"[^A-Za-z0-9-]+")


def azure_vm_name(raw: str, *, windows: bool, taken: Iterable[str] = ()) -> str:
    """Turn a Name tag into a valid, unique Azure VM name.

    Azure VM names allow letters, digits and hyphens, may not start or end with a hyphen, and
    are limited to 15 characters for Windows (the computer name) and 64 for Linux. Windows names
    cannot be only digits. When the result is already in ``taken``, a numeric suffix is added.

    Raises:
        InvalidInputError: When nothing usable is left of ``raw``.
    """
    limit = 15 if windows else 64
    name = _NAME_CHARS.sub("-", raw.strip()).strip("-")
    name = re.sub(r"-{2,}", "-", name)[:limit].strip("-")
    if not name:
        raise InvalidInputError(f"cannot make an Azure VM name from {raw!r}")
    if windows and name.isdigit():
        name = ("vm-" + name)[:limit]
    used = {t.lower() for t in taken}
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        suffix = f"-{n}"
        candidate = name[: limit - len(suffix)].rstrip("-") + suffix
    return candidate


@attrs.frozen
class TargetSettings:
    """Where and how each machine lands in Azure.

    Attributes:
        resource_group_id: ARM id of the target resource group.
        network_id: ARM id of the target virtual network.
        subnet_name: The subnet the migrated VMs join.
        log_storage_account_id: ARM id of the cache (log) storage account in the target region
            that ASR stages replicated data in.
        test_network_id: ARM id of an isolated virtual network for test migrations (defaults to
            none: test migration then needs it).
        test_subnet_name: Its subnet (defaults to ``subnet_name``).
        vm_sizes: Per-instance Azure VM size overrides (``{"i-...": "Standard_D4s_v5"}``);
            other machines get the nearest size for their EC2 type.
        vm_names: Per-instance Azure VM name overrides; others derive from the Name tag.
        disk_type: Force one managed-disk type; None maps each EBS volume type.
        azure_hybrid_benefit: Use Windows Server licences you own (``licenseType=WindowsServer``).
        linux_license_type: ``LinuxServer`` when bringing Linux subscriptions (RHEL/SLES BYOS).
        tags: Tags for the Azure VMs, disks and NICs (ec2asr adds ``ec2-instance-id``).
        availability_zone: The zone for every VM (``"1"``), or None.

    Raises:
        InvalidInputError: When an id is not an ARM id of the right kind or a value is unknown.
    """

    resource_group_id: str
    network_id: str
    subnet_name: str
    log_storage_account_id: str
    test_network_id: str | None = None
    test_subnet_name: str | None = None
    vm_sizes: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, hash=False)
    vm_names: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, hash=False)
    disk_type: str | None = None
    azure_hybrid_benefit: bool = False
    linux_license_type: str = "NoLicenseType"
    tags: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, hash=False)
    availability_zone: str | None = None

    def __attrs_post_init__(self) -> None:
        if not _ARM_RG.match(self.resource_group_id):
            raise InvalidInputError(
                "resource_group_id must be an ARM resource-group id, "
                f"got {self.resource_group_id!r}"
            )
        for label, value in (
            ("network_id", self.network_id),
            ("test_network_id", self.test_network_id),
        ):
            if value is not None and not _ARM_VNET.match(value):
                raise InvalidInputError(f"{label} must be an ARM virtual-network id, got {value!r}")
        if not _ARM_STORAGE.match(self.log_storage_account_id):
            raise InvalidInputError(
                "log_storage_account_id must be an ARM storage-account id, "
                f"got {self.log_storage_account_id!r}"
            )
        if not self.subnet_name:
            raise InvalidInputError("subnet_name must not be empty")
        if self.disk_type is not None and self.disk_type not in DISK_TYPES:
            raise InvalidInputError(f"disk_type must be one of {', '.join(DISK_TYPES)}")
        if self.linux_license_type not in LINUX_LICENSE_TYPES:
            raise InvalidInputError(
                f"linux_license_type must be one of {', '.join(LINUX_LICENSE_TYPES)}"
            )
        if self.availability_zone is not None and self.availability_zone not in ("1", "2", "3"):
            raise InvalidInputError("availability_zone must be '1', '2' or '3'")

    @property
    def subscription_id(self) -> str:
        """The target subscription (from the resource-group id)."""
        return self.resource_group_id.split("/")[2]

    def license_type(self, machine: SourceMachine) -> str:
        """``WindowsServer`` for Windows with Azure Hybrid Benefit, else ``NoLicenseType``."""
        return (
            "WindowsServer" if self.azure_hybrid_benefit and machine.is_windows else "NoLicenseType"
        )

    def vm_tags(self, machine: SourceMachine) -> dict[str, str]:
        """Tags for the Azure VM of ``machine``."""
        out = dict(self.tags)
        out["ec2-instance-id"] = machine.instance_id
        return out

    def describe(self) -> dict[str, Any]:
        """A JSON-safe description (for plans and reports)."""
        return {
            "resource_group_id": self.resource_group_id,
            "network_id": self.network_id,
            "subnet_name": self.subnet_name,
            "test_network_id": self.test_network_id,
            "azure_hybrid_benefit": self.azure_hybrid_benefit,
            "availability_zone": self.availability_zone,
        }
