"""Assemble a :class:`SourceMachine` from the raw answers of the batched Describe* calls.

Pure functions, no I/O: :class:`~ec2asr.aws.discovery.Ec2Discovery` fetches, this module joins.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ec2asr.aws.osdetect import detect_os, secure_boot_from_tags
from ec2asr.models import (
    EbsVolume,
    Evidence,
    EvidenceSource,
    ImageInfo,
    InstanceStoreVolume,
    InstanceTypeInfo,
    NetworkInterface,
    OsInfo,
    SecurityGroup,
    SourceMachine,
    SsmStatus,
)

__all__ = [
    "boot_mode_of",
    "build_machine",
    "ebs_volumes",
    "ephemeral_devices",
    "instance_store_volumes",
    "ssm_status_from_boto",
    "tags_of",
]

logger = logging.getLogger("ec2asr")

NOT_MANAGED_REASON = (
    "not reported by Systems Manager (no SSM agent running, or the instance profile does not "
    "allow SSM)"
)


def tags_of(resource: Mapping[str, Any]) -> dict[str, str]:
    """The ``Tags`` list of an EC2 answer as a plain dict."""
    return {t["Key"]: t.get("Value", "") for t in resource.get("Tags") or ()}


def ssm_status_from_boto(info: Mapping[str, Any]) -> SsmStatus:
    """Build from one item of SSM ``DescribeInstanceInformation``' ``InstanceInformationList``."""
    return SsmStatus(
        available=True,
        managed=True,
        ping_status=info.get("PingStatus"),
        platform_type=info.get("PlatformType"),
        platform_name=info.get("PlatformName"),
        platform_version=info.get("PlatformVersion"),
        agent_version=info.get("AgentVersion"),
    )


def ephemeral_devices(*mapping_lists: Sequence[Mapping[str, Any]] | None) -> tuple[str, ...]:
    """Device names mapped to ``ephemeralN`` in block-device mappings, by N (later lists win)."""
    by_index: dict[int, str] = {}
    for mappings in mapping_lists:
        for mapping in mappings or ():
            virtual = str(mapping.get("VirtualName") or "")
            match = re.fullmatch(r"ephemeral(\d+)", virtual)
            if match and "NoDevice" not in mapping and mapping.get("DeviceName"):
                by_index[int(match.group(1))] = str(mapping["DeviceName"])
    return tuple(by_index[i] for i in sorted(by_index))


def instance_store_volumes(
    instance_type: InstanceTypeInfo,
    devices: Sequence[str],
    *,
    nvme_support: str | None = None,
) -> tuple[InstanceStoreVolume, ...]:
    """The local instance-store disks an instance has.

    NVMe instance-store disks (``NvmeSupport`` ``required``: m5d, c5d, i3 ...) are attached
    whether or not a block-device mapping names them; older (non-NVMe) instance store exists only
    where an ``ephemeralN`` mapping asked for it. When EC2 does not say, every disk of the type is
    assumed present (their data would be lost, so erring this way is the safe side). When EC2
    did not describe the type, each mapping counts as one disk of unknown size (0).

    Args:
        instance_type: The instance's type.
        devices: Device names mapped to ``ephemeral0``, ``ephemeral1`` ... in that order.
        nvme_support: The type's ``InstanceStorageInfo.NvmeSupport``, if known.
    """
    disks = [
        (disk.size_gb, disk.disk_type)
        for disk in instance_type.instance_storage
        for _ in range(disk.count)
    ]
    if not instance_type.known:
        disks = [(0, "ssd")] * len(devices)
    elif nvme_support in ("unsupported", "supported"):
        disks = disks[: len(devices)]
    return tuple(
        InstanceStoreVolume(
            size_gb=size, disk_type=kind, device_name=devices[i] if i < len(devices) else None
        )
        for i, (size, kind) in enumerate(disks)
    )


def ebs_volumes(
    instance: Mapping[str, Any], volumes_by_id: Mapping[str, Mapping[str, Any]]
) -> tuple[EbsVolume, ...]:
    """Join the instance's EBS block-device mappings with ``DescribeVolumes``; root first."""
    root = instance.get("RootDeviceName")
    result: list[EbsVolume] = []
    for mapping in instance.get("BlockDeviceMappings") or ():
        ebs = mapping.get("Ebs")
        if not ebs or not ebs.get("VolumeId"):
            continue
        volume = volumes_by_id.get(ebs["VolumeId"])
        if volume is None:
            logger.warning(
                "%s: volume %s on %s was not described (detached meanwhile?); left out",
                instance.get("InstanceId"),
                ebs["VolumeId"],
                mapping.get("DeviceName"),
            )
            continue
        device = str(mapping.get("DeviceName") or "")
        result.append(
            EbsVolume(
                volume_id=str(volume["VolumeId"]),
                device_name=device,
                size_gib=int(volume.get("Size", 0)),
                volume_type=str(volume.get("VolumeType", "standard")),
                iops=volume.get("Iops"),
                throughput=volume.get("Throughput"),
                encrypted=bool(volume.get("Encrypted", False)),
                is_root=bool(root) and device == root,
                delete_on_termination=ebs.get("DeleteOnTermination"),
            )
        )
    return tuple(sorted(result, key=lambda v: (not v.is_root, v.device_name)))


def boot_mode_of(
    instance: Mapping[str, Any],
    image: ImageInfo,
    *,
    architecture: str,
    type_boot_modes: Sequence[str] = (),
) -> tuple[str, Evidence]:
    """The boot mode and where it came from: the instance, else its AMI, else EC2's default.

    An AMI marked ``uefi-preferred`` boots UEFI when the instance type supports it.
    """
    for key in ("CurrentInstanceBootMode", "BootMode"):
        value = instance.get(key)
        if value:
            return str(value), Evidence(
                EvidenceSource.EC2_API, f"instance {key}={value!r}", "boot_mode"
            )
    if image.found and image.boot_mode:
        mode = image.boot_mode
        detail = f"AMI {image.image_id} BootMode={mode!r} (the instance reports none)"
        if mode == "uefi-preferred" and type_boot_modes:
            mode = "uefi" if "uefi" in type_boot_modes else "legacy-bios"
            detail += f"; its instance type supports {', '.join(type_boot_modes)}"
        return mode, Evidence(EvidenceSource.EC2_API, detail, "boot_mode")
    if architecture == "arm64":
        return "uefi", Evidence(
            EvidenceSource.UNKNOWN,
            "no boot mode reported by the instance or AMI; arm64 (Graviton) instances boot UEFI",
            "boot_mode",
        )
    return "legacy-bios", Evidence(
        EvidenceSource.UNKNOWN,
        "no boot mode reported by the instance or AMI; EC2 boots x86_64 AMIs without one in "
        "legacy BIOS mode",
        "boot_mode",
    )


def build_machine(
    instance: Mapping[str, Any],
    *,
    region: str,
    image: ImageInfo,
    image_mappings: Sequence[Mapping[str, Any]] = (),
    volumes_by_id: Mapping[str, Mapping[str, Any]],
    instance_type: InstanceTypeInfo,
    instance_type_raw: Mapping[str, Any] | None = None,
    security_groups: Mapping[str, SecurityGroup],
    ssm: SsmStatus,
    os_override: str | OsInfo | None = None,
) -> SourceMachine:
    """Join one ``DescribeInstances`` item with everything fetched for it.

    Args:
        instance: One item of a reservation's ``Instances``.
        region: The region it lives in.
        image: Its AMI (or :meth:`ImageInfo.missing`).
        image_mappings: The AMI's ``BlockDeviceMappings`` (for ``ephemeralN`` device names).
        volumes_by_id: ``DescribeVolumes`` items by volume id (may hold other instances' too).
        instance_type: Its type.
        instance_type_raw: The type's ``DescribeInstanceTypes`` item, if described (boot modes
            and NVMe support are read from it).
        security_groups: Described security groups by id (may hold others).
        ssm: What Systems Manager says about it.
        os_override: The caller's word on the OS, if any.
    """
    tags = tags_of(instance)
    type_raw = instance_type_raw or {}
    type_boot_modes = tuple(type_raw.get("SupportedBootModes") or ())
    nvme_support = (type_raw.get("InstanceStorageInfo") or {}).get("NvmeSupport")
    architecture = str(instance.get("Architecture") or image.architecture or "x86_64")
    boot_mode, boot_evidence = boot_mode_of(
        instance, image, architecture=architecture, type_boot_modes=type_boot_modes
    )
    platform_details = instance.get("PlatformDetails") or image.platform_details or None
    os = detect_os(
        image=image,
        tags=tags,
        ssm=ssm,
        platform=instance.get("Platform"),
        platform_details=platform_details,
        override=os_override,
    )
    secure_boot, secure_evidence = secure_boot_from_tags(tags)
    enis = sorted(
        (NetworkInterface.from_boto(eni) for eni in instance.get("NetworkInterfaces") or ()),
        key=lambda eni: eni.device_index,
    )
    group_ids = dict.fromkeys(gid for eni in enis for gid in eni.security_group_ids)
    if not enis:
        group_ids = dict.fromkeys(g["GroupId"] for g in instance.get("SecurityGroups") or ())
    groups = tuple(security_groups[gid] for gid in group_ids if gid in security_groups)
    profile = instance.get("IamInstanceProfile") or {}
    return SourceMachine(
        instance_id=str(instance["InstanceId"]),
        name=tags.get("Name"),
        tags=tags,
        state=str((instance.get("State") or {}).get("Name", "unknown")),
        region=region,
        availability_zone=(instance.get("Placement") or {}).get("AvailabilityZone"),
        instance_type=instance_type,
        architecture=architecture,
        virtualization_type=str(
            instance.get("VirtualizationType") or image.virtualization_type or "hvm"
        ),
        boot_mode=boot_mode,
        boot_mode_evidence=boot_evidence,
        secure_boot=secure_boot,
        secure_boot_evidence=secure_evidence,
        platform=instance.get("Platform"),
        platform_details=platform_details,
        image=image,
        os=os,
        root_device_name=instance.get("RootDeviceName"),
        volumes=ebs_volumes(instance, volumes_by_id),
        instance_store=instance_store_volumes(
            instance_type,
            ephemeral_devices(image_mappings, instance.get("BlockDeviceMappings")),
            nvme_support=nvme_support,
        ),
        network_interfaces=tuple(enis),
        security_groups=groups,
        iam_instance_profile=profile.get("Arn"),
        ssm=ssm,
        launch_time=instance.get("LaunchTime"),
    )
