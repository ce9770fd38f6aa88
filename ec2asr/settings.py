"""What the caller decides: the replication policy and the Azure target of each machine.

Both value types check every field when they are built (types, ARM's naming rules for ids,
names and tags, known disk/licence/zone values, VM size names), so a value ARM would refuse never
reaches Azure: see :mod:`ec2asr._validate` for the rules and Microsoft's pages they come from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ec2asr import _validate as v
from ec2asr._frozen import FrozenMap
from ec2asr.errors import InvalidInputError
from ec2asr.models import SourceMachine

__all__ = ["ReplicationPolicy", "TargetSettings", "azure_vm_name"]

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
INSTANCE_ID_TAG = "ec2-instance-id"
"""The tag ec2asr adds to every Azure VM (so at most 49 of the caller's tags fit)."""
_CONSTRAINED = re.compile(r"^(?:Standard|Basic)_[A-Z]+\d+-\d+")
_SIZE_SERIES = re.compile(r"^((?:Standard|Basic)_[A-Z]+)\d+", re.IGNORECASE)


def vm_size_problem(size: str) -> str | None:
    """Why the packaged size table refuses ``size``, or None.

    The table (``ec2asr/assessment/data/azure_vm_sizes.json``) lists every size of the series
    ec2asr proposes; a name of one of those series that the table lacks (``Standard_D3s_v5``)
    does not exist. A size of another series (or a constrained-vCPU size such as
    ``Standard_E8-4s_v5``) is not the table's to judge: it passes, and ARM has the last word.
    """
    from ec2asr.assessment.sizing import load_vm_size_catalog

    catalog = load_vm_size_catalog()
    names = {s.name.lower() for s in catalog.sizes}
    if size.lower() in names or _CONSTRAINED.match(size):
        return None
    shape = _SIZE_SERIES.sub(r"\1#", size).lower()
    siblings = sorted(
        (s for s in catalog.sizes if _SIZE_SERIES.sub(r"\1#", s.name).lower() == shape),
        key=lambda s: s.vcpus,
    )
    if not siblings:
        return None
    listed = ", ".join(s.name for s in siblings)
    return (
        f"{size!r} is not an Azure VM size: the {siblings[0].series} series has {listed} "
        f"(size table {catalog.version})"
    )


def _mapping(name: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return FrozenMap()
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{name} must be a mapping (a dict), not {v.shown(value)}")
    return FrozenMap(value)


def _vm_sizes(value: Any) -> Mapping[str, Any]:
    return _mapping("vm_sizes", value)


def _vm_names(value: Any) -> Mapping[str, Any]:
    return _mapping("vm_names", value)


def _tags(value: Any) -> Mapping[str, Any]:
    return _mapping("tags", value)


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
        if not isinstance(self.name, str) or not re.fullmatch(
            r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}", self.name
        ):
            raise InvalidInputError(
                f"invalid replication policy name {v.shown(self.name)} (1-80 letters, "
                "digits, '_', '.' or '-', starting with a letter or digit)"
            )
        v.check_int("recovery_point_history_minutes", self.recovery_point_history_minutes)
        if not 0 <= self.recovery_point_history_minutes <= 21600:
            raise InvalidInputError(
                "recovery_point_history_minutes must be within 0..21600 (15 days), "
                f"not {self.recovery_point_history_minutes}"
            )
        v.check_int("app_consistent_frequency_minutes", self.app_consistent_frequency_minutes)
        if not 0 <= self.app_consistent_frequency_minutes <= 720:
            raise InvalidInputError(
                "app_consistent_frequency_minutes must be within 0..720 (12 hours), "
                f"not {self.app_consistent_frequency_minutes}"
            )
        v.check_int("crash_consistent_frequency_minutes", self.crash_consistent_frequency_minutes)
        v.check_bool("multi_vm_sync", self.multi_vm_sync)
        if (
            self.app_consistent_frequency_minutes
            and self.app_consistent_frequency_minutes > self.recovery_point_history_minutes
        ):
            raise InvalidInputError(
                "app_consistent_frequency_minutes cannot exceed recovery_point_history_minutes"
            )
        if self.crash_consistent_frequency_minutes != 5:
            raise InvalidInputError(
                "crash_consistent_frequency_minutes: InMageRcm takes crash-consistent points "
                f"every 5 minutes, not {self.crash_consistent_frequency_minutes}"
            )


_NAME_CHARS = re.compile(r"[^A-Za-z0-9-]+")


def azure_vm_name(raw: str, *, windows: bool, taken: Iterable[str] = ()) -> str:
    """Turn a Name tag into a valid, unique Azure VM name.

    Azure VM names allow letters, digits and hyphens, may not start or end with a hyphen, and
    are limited to 15 characters for Windows (the computer name) and 64 for Linux. Windows names
    cannot be only digits. When the result is already in ``taken``, a numeric suffix is added.

    Raises:
        InvalidInputError: When nothing usable is left of ``raw``.
    """
    if not isinstance(raw, str):
        raise InvalidInputError(f"raw must be a string, not {v.shown(raw)}")
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
        InvalidInputError: When a field has the wrong type; an id is not an ARM id of the right
            kind (subscription GUID, names within ARM's naming rules); a subnet or VM name
            breaks ARM's rules (no ``/`` or spaces); a VM size is not a size name, or one of a
            series the packaged size table lists without it; a tag value is not a string, a tag
            name holds ``< > % & \\ ? /`` or there are more than 49 tags (Azure allows 50 and
            ec2asr adds ``ec2-instance-id``); or a disk type, licence or zone is unknown.
    """

    resource_group_id: str
    network_id: str
    subnet_name: str
    log_storage_account_id: str
    test_network_id: str | None = None
    test_subnet_name: str | None = None
    vm_sizes: Mapping[str, str] = attrs.field(factory=dict, converter=_vm_sizes, hash=False)
    vm_names: Mapping[str, str] = attrs.field(factory=dict, converter=_vm_names, hash=False)
    disk_type: str | None = None
    azure_hybrid_benefit: bool = False
    linux_license_type: str = "NoLicenseType"
    tags: Mapping[str, str] = attrs.field(factory=dict, converter=_tags, hash=False)
    availability_zone: str | None = None

    def __attrs_post_init__(self) -> None:
        v.check_arm_id("resource_group_id", self.resource_group_id, "resource group")
        v.check_arm_id("network_id", self.network_id, "virtual network")
        if self.test_network_id is not None:
            v.check_arm_id("test_network_id", self.test_network_id, "virtual network")
        v.check_arm_id("log_storage_account_id", self.log_storage_account_id, "storage account")
        v.check_subnet_name("subnet_name", self.subnet_name)
        if self.test_subnet_name is not None:
            v.check_subnet_name("test_subnet_name", self.test_subnet_name)
        for iid, size in self.vm_sizes.items():
            v.check_str("vm_sizes key", iid)
            v.check_vm_size(f"vm_sizes[{iid!r}]", size, vm_size_problem)
        for iid, vm_name in self.vm_names.items():
            v.check_str("vm_names key", iid)
            v.check_vm_name(f"vm_names[{iid!r}]", vm_name)
        if self.disk_type is not None and self.disk_type not in DISK_TYPES:
            raise InvalidInputError(
                f"disk_type must be one of {', '.join(DISK_TYPES)} (or None), "
                f"not {v.shown(self.disk_type)}"
            )
        v.check_bool("azure_hybrid_benefit", self.azure_hybrid_benefit)
        if self.linux_license_type not in LINUX_LICENSE_TYPES:
            raise InvalidInputError(
                f"linux_license_type must be one of {', '.join(LINUX_LICENSE_TYPES)}, "
                f"not {v.shown(self.linux_license_type)}"
            )
        v.check_tags("tags", self.tags, reserved=[INSTANCE_ID_TAG])
        if self.availability_zone is not None and self.availability_zone not in ("1", "2", "3"):
            raise InvalidInputError(
                f"availability_zone must be '1', '2' or '3' (or None), "
                f"not {v.shown(self.availability_zone)}"
            )

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
        out[INSTANCE_ID_TAG] = machine.instance_id
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
