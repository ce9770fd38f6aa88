"""EBS volume -> Azure managed disk type for the replicated disk (InMageRcm ``diskType``).

Mapping and why (:data:`EBS_TO_AZURE_DISK_TYPE`):

- ``gp2``, ``gp3`` -> ``Premium_LRS``: EBS general-purpose SSD; Premium SSD is Azure's SSD tier
  with a per-disk performance guarantee, the closest match for what a gp volume delivers (a
  Standard SSD gives no guaranteed IOPS). Premium SSD is also what ASR's churn limits assume for
  anything beyond 2 MB/s per disk.
- ``io1``, ``io2`` -> ``Premium_LRS``; a *data* volume whose provisioned IOPS exceed what a Premium
  SSD of its size delivers (P10 500 ... P80 20,000 IOPS) -> ``PremiumV2_LRS`` (Premium SSD v2,
  up to 80,000 IOPS and 1,200 MB/s, IOPS and throughput set independently of size), which
  ``InMageRcmDiskInput`` accepts with ``iops`` / ``throughputInMbps``. Its throughput is the EBS
  volume's provisioned throughput when known, else the most io1/io2 deliver (500 MiB/s up to
  32,000 IOPS, 1,000 MiB/s above), within Premium SSD v2's bounds (at least its free 125 MB/s, at
  most 0.25 MB/s per provisioned IOPS and 1,200 MB/s). OS disks stay
  ``Premium_LRS``: Premium SSD v2 cannot be an OS disk.
- ``st1`` -> ``StandardSSD_LRS``: throughput-optimized HDD for streaming workloads (logs, data
  warehouses) that still expect steady sequential throughput; Standard SSD gives consistent
  latency at modest cost where Standard HDD would stall.
- ``sc1``, ``standard`` -> ``Standard_LRS``: cold HDD and previous-generation magnetic volumes hold
  infrequently accessed data; Standard HDD is the cheapest equivalent.
"""

from __future__ import annotations

import enum

import attrs

from ec2asr.errors import InvalidInputError
from ec2asr.models import EbsVolume

__all__ = [
    "EBS_TO_AZURE_DISK_TYPE",
    "PREMIUM_SSD_TIERS",
    "AzureDisk",
    "AzureDiskType",
    "azure_disk_for",
]


class AzureDiskType(str, enum.Enum):
    """Azure managed disk types, spelled as ASR's ``DiskAccountType``."""

    STANDARD_LRS = "Standard_LRS"
    STANDARD_SSD_LRS = "StandardSSD_LRS"
    PREMIUM_LRS = "Premium_LRS"
    PREMIUM_V2_LRS = "PremiumV2_LRS"


EBS_TO_AZURE_DISK_TYPE: dict[str, AzureDiskType] = {
    "gp2": AzureDiskType.PREMIUM_LRS,
    "gp3": AzureDiskType.PREMIUM_LRS,
    "io1": AzureDiskType.PREMIUM_LRS,
    "io2": AzureDiskType.PREMIUM_LRS,
    "st1": AzureDiskType.STANDARD_SSD_LRS,
    "sc1": AzureDiskType.STANDARD_LRS,
    "standard": AzureDiskType.STANDARD_LRS,
}
"""Default Azure disk type per EBS volume type (before the high-IOPS rule)."""

PREMIUM_SSD_TIERS: tuple[tuple[str, int, int, int], ...] = (
    ("P1", 4, 120, 25),
    ("P2", 8, 120, 25),
    ("P3", 16, 120, 25),
    ("P4", 32, 120, 25),
    ("P6", 64, 240, 50),
    ("P10", 128, 500, 100),
    ("P15", 256, 1100, 125),
    ("P20", 512, 2300, 150),
    ("P30", 1024, 5000, 200),
    ("P40", 2048, 7500, 250),
    ("P50", 4096, 7500, 250),
    ("P60", 8192, 16000, 500),
    ("P70", 16384, 18000, 750),
    ("P80", 32767, 20000, 900),
)
"""Premium SSD tiers: (name, max GiB, provisioned IOPS, MB/s), from Azure's managed-disk docs."""

PREMIUM_V2_MAX_IOPS = 80_000
PREMIUM_V2_MAX_MBPS = 1_200
PREMIUM_V2_IOPS_PER_GIB = 500
PREMIUM_V2_BASE_IOPS = 3_000
PREMIUM_V2_BASE_MBPS = 125


@attrs.frozen
class AzureDisk:
    """The recommended target disk for one EBS volume.

    Attributes:
        disk_type: The Azure disk type.
        size_gib: Target size in GiB (the EBS size), None when not known.
        iops: IOPS to provision (PremiumV2_LRS only), else None.
        throughput_mbps: MB/s to provision (PremiumV2_LRS only), else None.
        reason: Why this type was chosen.
    """

    disk_type: AzureDiskType
    size_gib: int | None
    iops: int | None = None
    throughput_mbps: int | None = None
    reason: str = ""


def premium_tier(size_gib: int) -> tuple[str, int, int, int]:
    """The Premium SSD tier a disk of ``size_gib`` falls in (the largest for bigger disks)."""
    for tier in PREMIUM_SSD_TIERS:
        if size_gib <= tier[1]:
            return tier
    return PREMIUM_SSD_TIERS[-1]


def azure_disk_for(
    volume: EbsVolume | str,
    *,
    size_gib: int | None = None,
    iops: int | None = None,
    throughput_mbps: int | None = None,
    is_os_disk: bool | None = None,
) -> AzureDisk:
    """Recommend the Azure managed disk for an EBS volume (see the module docstring).

    Args:
        volume: The :class:`~ec2asr.EbsVolume` (size, type, IOPS and root flag are read from
            it) or an EBS volume type name (``"gp3"``).
        size_gib: Overrides the volume's size (required with a type name for sizing details).
        iops: Overrides the volume's provisioned IOPS.
        throughput_mbps: Overrides the volume's provisioned throughput.
        is_os_disk: Overrides the volume's root flag (OS disks never get PremiumV2_LRS).

    Raises:
        InvalidInputError: Unknown EBS volume type, or a negative size/IOPS figure.
    """
    if isinstance(volume, EbsVolume):
        volume_type = volume.volume_type
        size_gib = volume.size_gib if size_gib is None else size_gib
        iops = volume.iops if iops is None else iops
        throughput_mbps = volume.throughput if throughput_mbps is None else throughput_mbps
        is_os_disk = volume.is_root if is_os_disk is None else is_os_disk
    elif isinstance(volume, str):
        volume_type = volume
    else:
        raise InvalidInputError(
            f"volume takes an EbsVolume or an EBS volume type, got {type(volume).__name__}"
        )
    key = volume_type.strip().lower()
    if key not in EBS_TO_AZURE_DISK_TYPE:
        raise InvalidInputError(
            f"unknown EBS volume type {volume_type!r}; known: {', '.join(EBS_TO_AZURE_DISK_TYPE)}"
        )
    for label, value in (("size_gib", size_gib), ("iops", iops), ("throughput", throughput_mbps)):
        if value is not None and (isinstance(value, bool) or value < 0):
            raise InvalidInputError(f"{label} must be a non-negative number, got {value!r}")
    size = None if size_gib is None else int(size_gib)
    default = EBS_TO_AZURE_DISK_TYPE[key]
    if key in ("io1", "io2") and iops and size:
        tier, _, tier_iops, _ = premium_tier(size)
        if iops > tier_iops and not is_os_disk:
            # Premium SSD v2: 3,000 IOPS included (the minimum), 500 per GiB, 80,000 at most.
            ceiling = min(
                PREMIUM_V2_MAX_IOPS, max(PREMIUM_V2_BASE_IOPS, PREMIUM_V2_IOPS_PER_GIB * size)
            )
            v2_iops = min(max(iops, PREMIUM_V2_BASE_IOPS), ceiling)
            ebs_max = 500 if iops <= 32_000 else 1_000
            v2_mbps = throughput_mbps or max(
                PREMIUM_V2_BASE_MBPS, min(PREMIUM_V2_MAX_MBPS, ebs_max, v2_iops // 4)
            )
            return AzureDisk(
                disk_type=AzureDiskType.PREMIUM_V2_LRS,
                size_gib=size,
                iops=v2_iops,
                throughput_mbps=v2_mbps,
                reason=(
                    f"{key} with {iops} provisioned IOPS: more than a {tier} Premium SSD "
                    f"({tier_iops} IOPS) delivers, so Premium SSD v2 with IOPS set explicitly"
                ),
            )
        if iops > tier_iops:
            return AzureDisk(
                disk_type=default,
                size_gib=size,
                reason=(
                    f"{key} OS disk with {iops} IOPS: Premium SSD v2 cannot be an OS disk; a "
                    f"{tier} Premium SSD gives {tier_iops} IOPS (grow the disk for more)"
                ),
            )
    return AzureDisk(
        disk_type=default,
        size_gib=size,
        reason=f"EBS {key} maps to {default.value}",
    )
