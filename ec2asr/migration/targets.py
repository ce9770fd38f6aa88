"""Where each machine lands in Azure: VM name, size, disk type, licence, tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ec2asr._frozen import frozen_map
from ec2asr.assessment import azure_disk_for, azure_vm_size_for
from ec2asr.assessment.disks import AzureDiskType
from ec2asr.errors import InvalidInputError
from ec2asr.models import SourceMachine
from ec2asr.settings import TargetSettings, azure_vm_name

__all__ = ["MachineTarget", "map_targets"]

_RANK = {
    AzureDiskType.STANDARD_LRS.value: 0,
    AzureDiskType.STANDARD_SSD_LRS.value: 1,
    AzureDiskType.PREMIUM_LRS.value: 2,
    AzureDiskType.PREMIUM_V2_LRS.value: 2,
}


@attrs.frozen
class MachineTarget:
    """The Azure side of one machine.

    Attributes:
        vm_name: A valid, fleet-unique Azure VM name.
        vm_size: The Azure size (``Standard_D2s_v5``).
        vm_size_reason: ``override`` or how it was chosen from the EC2 type.
        disk_type: The managed-disk type for every disk (ASR's ``disksDefault``).
        disk_reason: Why.
        license_type: ``NoLicenseType`` or ``WindowsServer`` (Azure Hybrid Benefit).
        linux_license_type: ``NoLicenseType`` or ``LinuxServer`` (Linux only).
        tags: Tags for the VM, its disks and NICs.
        availability_zone: The zone, or None.
    """

    vm_name: str
    vm_size: str
    vm_size_reason: str
    disk_type: str
    disk_reason: str
    license_type: str
    linux_license_type: str | None
    tags: Mapping[str, str] = attrs.field(factory=dict, converter=frozen_map, hash=False)
    availability_zone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "vm_name": self.vm_name,
            "vm_size": self.vm_size,
            "vm_size_reason": self.vm_size_reason,
            "disk_type": self.disk_type,
            "disk_reason": self.disk_reason,
            "license_type": self.license_type,
            "linux_license_type": self.linux_license_type,
            "tags": dict(self.tags),
            "availability_zone": self.availability_zone,
        }


def _disk_type(machine: SourceMachine, settings: TargetSettings) -> tuple[str, str]:
    if settings.disk_type:
        return settings.disk_type, "override"
    if not machine.volumes:
        return AzureDiskType.PREMIUM_LRS.value, "no EBS volume reported; Premium SSD by default"
    best = max((azure_disk_for(v) for v in machine.volumes), key=lambda d: _RANK[d.disk_type.value])
    # ASR's disksDefault takes one type for every disk; Premium SSD v2 cannot hold an OS disk,
    # so the fleet-wide default falls back to Premium SSD when any volume asks for v2.
    chosen = best.disk_type.value
    if chosen == AzureDiskType.PREMIUM_V2_LRS.value:
        chosen = AzureDiskType.PREMIUM_LRS.value
    types = sorted({v.volume_type for v in machine.volumes})
    return chosen, f"from EBS {', '.join(types)}: {best.reason}".strip(": ")


def map_targets(
    machines: Iterable[SourceMachine],
    settings: TargetSettings,
    *,
    taken_names: Iterable[str] = (),
) -> dict[str, MachineTarget]:
    """Map every machine to its Azure target; names are unique across the fleet.

    Args:
        machines: The machines, in a stable order (names are allotted in this order).
        settings: The caller's target settings (overrides win).
        taken_names: Azure VM names already in use.

    Returns:
        ``{instance_id: MachineTarget}``.

    Raises:
        InvalidInputError: An override names an unknown instance, a name override is invalid
            or duplicated, or no size fits a machine.
    """
    machines = list(machines)
    known = {m.instance_id for m in machines}
    unknown = sorted((set(settings.vm_sizes) | set(settings.vm_names)) - known)
    if unknown:
        raise InvalidInputError(f"target overrides name unknown instances: {', '.join(unknown)}")
    taken = list(taken_names)
    out: dict[str, MachineTarget] = {}
    for machine in machines:
        override = settings.vm_names.get(machine.instance_id)
        raw = override or machine.name or machine.instance_id
        name = azure_vm_name(raw, windows=machine.is_windows, taken=taken)
        if override is not None and name != override:
            raise InvalidInputError(
                f"vm name override {override!r} for {machine.instance_id} is not a valid, "
                f"unique Azure VM name (would become {name!r})"
            )
        taken.append(name)
        if machine.instance_id in settings.vm_sizes:
            size, size_reason = settings.vm_sizes[machine.instance_id], "override"
        else:
            chosen = azure_vm_size_for(machine.instance_type, data_disks=len(machine.data_volumes))
            size = chosen.name
            size_reason = (
                f"nearest {chosen.family.value} size to {machine.instance_type.name} "
                f"({machine.instance_type.vcpus} vCPU, {machine.instance_type.memory_gib:g} GiB)"
            )
        disk_type, disk_reason = _disk_type(machine, settings)
        out[machine.instance_id] = MachineTarget(
            vm_name=name,
            vm_size=size,
            vm_size_reason=size_reason,
            disk_type=disk_type,
            disk_reason=disk_reason,
            license_type=settings.license_type(machine),
            linux_license_type=None if machine.is_windows else settings.linux_license_type,
            tags=settings.vm_tags(machine),
            availability_zone=settings.availability_zone,
        )
    return out
