"""Test-side factories for realistic :class:`ec2asr.SourceMachine` objects.

``make_machine()`` with no arguments builds a machine every readiness rule accepts: a running
RHEL 8.6 HVM x86_64 m5.large with a stock kernel, BIOS boot, a 30 GiB gp3 root volume and one
100 GiB gp3 data volume. Keyword overrides replace any ``SourceMachine`` field; a few shortcuts
build the nested parts:

- ``distribution=``, ``version=``, ``os_name=``, ``kernel=``, ``family=`` build the ``OsInfo``
  (with evidence) unless ``os=`` is given;
- ``root_gib=``, ``root_type=``, ``data_gib=[...]`` build ``volumes`` unless ``volumes=`` is given;
- ``instance_type=`` accepts a name (``"m5d.large"``) as well as an ``InstanceTypeInfo``;
- ``ami_name=``, ``ami_description=``, ``ami_owner=`` build ``image`` unless ``image=`` is given.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

from ec2asr.models import (
    EbsVolume,
    Evidence,
    EvidenceSource,
    ImageInfo,
    InstanceStorageDisk,
    InstanceStoreVolume,
    InstanceTypeInfo,
    NetworkInterface,
    OsFamily,
    OsInfo,
    SourceMachine,
    SsmStatus,
)

_ids = itertools.count(1)

# Realistic shapes for the instance types the tests use (from DescribeInstanceTypes).
INSTANCE_TYPES: dict[str, InstanceTypeInfo] = {
    "m5.large": InstanceTypeInfo("m5.large", 2, 8192, ("x86_64",)),
    "m5.xlarge": InstanceTypeInfo("m5.xlarge", 4, 16384, ("x86_64",)),
    "t3.micro": InstanceTypeInfo("t3.micro", 2, 1024, ("x86_64",)),
    "c5.2xlarge": InstanceTypeInfo("c5.2xlarge", 8, 16384, ("x86_64",)),
    "r5.4xlarge": InstanceTypeInfo("r5.4xlarge", 16, 131072, ("x86_64",)),
    "m6g.large": InstanceTypeInfo("m6g.large", 2, 8192, ("arm64",)),
    "m5d.large": InstanceTypeInfo(
        "m5d.large",
        2,
        8192,
        ("x86_64",),
        instance_storage_gb=75,
        instance_storage=(InstanceStorageDisk(1, 75, "ssd"),),
    ),
    "i3.2xlarge": InstanceTypeInfo(
        "i3.2xlarge",
        8,
        62464,
        ("x86_64",),
        instance_storage_gb=1900,
        instance_storage=(InstanceStorageDisk(1, 1900, "ssd"),),
    ),
    "m1.small": InstanceTypeInfo("m1.small", 1, 1740, ("i386", "x86_64")),
}

_OS_NAMES = {
    "windows": "Windows Server {v}",
    "rhel": "Red Hat Enterprise Linux {v}",
    "centos": "CentOS {v}",
    "oracle": "Oracle Linux {v}",
    "ubuntu": "Ubuntu {v}",
    "debian": "Debian {v}",
    "sles": "SUSE Linux Enterprise Server {v}",
    "amazon": "Amazon Linux {v}",
    "rocky": "Rocky Linux {v}",
    "alma": "AlmaLinux {v}",
}


def make_os(
    distribution: str | None = "rhel",
    version: str | None = "8.6",
    *,
    name: str | None = None,
    kernel: str | None = None,
    family: OsFamily | None = None,
    source: EvidenceSource = EvidenceSource.AMI_NAME,
    extra_evidence: tuple[Evidence, ...] = (),
) -> OsInfo:
    """An ``OsInfo`` with evidence for each fact it states."""
    if family is None:
        family = (
            OsFamily.UNKNOWN
            if distribution is None
            else OsFamily.WINDOWS
            if distribution == "windows"
            else OsFamily.LINUX
        )
    if name is None and distribution is not None:
        name = _OS_NAMES.get(distribution, distribution).format(v=version or "").strip()
    evidence: list[Evidence] = []
    if distribution is not None:
        evidence.append(Evidence(source, f"{source.value} says {name!r}", "distribution"))
        evidence.append(Evidence(source, f"{source.value} says family {family.value}", "family"))
    if version is not None:
        evidence.append(Evidence(source, f"{source.value} says version {version!r}", "version"))
    if kernel is not None:
        evidence.append(Evidence(EvidenceSource.SSM_INVENTORY, f"uname -r {kernel!r}", "kernel"))
    return OsInfo(
        family=family,
        distribution=distribution,
        name=name,
        version=version,
        kernel=kernel,
        evidence=(*evidence, *extra_evidence),
    )


def make_volume(
    size_gib: int = 100,
    *,
    volume_type: str = "gp3",
    is_root: bool = False,
    device_name: str | None = None,
    iops: int | None = None,
    throughput: int | None = None,
) -> EbsVolume:
    """One EBS volume with a fresh id."""
    n = next(_ids)
    return EbsVolume(
        volume_id=f"vol-{n:017x}",
        device_name=device_name or ("/dev/sda1" if is_root else f"/dev/sd{chr(ord('f') + n % 20)}"),
        size_gib=size_gib,
        volume_type=volume_type,
        iops=iops if iops is not None else (3000 if volume_type == "gp3" else None),
        throughput=throughput,
        encrypted=True,
        is_root=is_root,
        delete_on_termination=is_root,
    )


def make_instance_type(name: str) -> InstanceTypeInfo:
    """A known instance type from :data:`INSTANCE_TYPES`, or an 'unknown' one."""
    return INSTANCE_TYPES.get(name) or InstanceTypeInfo.unknown(name)


def make_machine(**overrides: Any) -> SourceMachine:
    """A realistic ``SourceMachine``; see the module docstring for the overrides."""
    n = next(_ids)
    instance_id = overrides.pop("instance_id", f"i-{n:017x}")
    os_keys = ("distribution", "version", "os_name", "kernel", "family")
    os_args = {k: overrides.pop(k) for k in os_keys if k in overrides}
    if "os" not in overrides:
        distribution = os_args.get("distribution", "rhel")
        default_kernel = "4.18.0-372.9.1.el8.x86_64" if distribution == "rhel" else None
        overrides["os"] = make_os(
            distribution,
            os_args.get("version", "8.6"),
            name=os_args.get("os_name"),
            kernel=os_args.get("kernel", default_kernel),
            family=os_args.get("family"),
        )
    root_gib = overrides.pop("root_gib", 30)
    root_type = overrides.pop("root_type", "gp3")
    data_gib = overrides.pop("data_gib", [100])
    if "volumes" not in overrides:
        overrides["volumes"] = (
            make_volume(root_gib, volume_type=root_type, is_root=True),
            *(make_volume(size) for size in data_gib),
        )
    itype = overrides.get("instance_type", "m5.large")
    if isinstance(itype, str):
        overrides["instance_type"] = make_instance_type(itype)
    ami_name = overrides.pop("ami_name", "RHEL-8.6.0_HVM-20220503-x86_64-2-Hourly2-GP2")
    ami_description = overrides.pop("ami_description", "Provided by Red Hat, Inc.")
    ami_owner = overrides.pop("ami_owner", "309956199498")
    if "image" not in overrides:
        overrides["image"] = ImageInfo(
            image_id=f"ami-{n:017x}",
            name=ami_name,
            description=ami_description,
            owner_id=ami_owner,
            architecture=overrides.get("architecture", "x86_64"),
            virtualization_type=overrides.get("virtualization_type", "hvm"),
            root_device_name="/dev/sda1",
        )
    boot_mode = overrides.get("boot_mode", "legacy-bios")
    fields: dict[str, Any] = {
        "instance_id": instance_id,
        "name": f"app-{n:03d}",
        "tags": {"Name": f"app-{n:03d}", "env": "prod"},
        "state": "running",
        "region": "eu-west-1",
        "availability_zone": "eu-west-1a",
        "architecture": "x86_64",
        "virtualization_type": "hvm",
        "boot_mode": boot_mode,
        "boot_mode_evidence": Evidence(
            EvidenceSource.EC2_API, f"CurrentInstanceBootMode {boot_mode!r}", "boot_mode"
        ),
        "secure_boot": None,
        "platform": "windows" if overrides["os"].family is OsFamily.WINDOWS else None,
        "platform_details": None,
        "root_device_name": "/dev/sda1",
        "instance_store": (),
        "network_interfaces": (
            NetworkInterface(
                interface_id=f"eni-{n:017x}",
                subnet_id="subnet-0123456789abcdef0",
                vpc_id="vpc-0123456789abcdef0",
                private_ips=(f"10.0.{n // 250 % 250}.{n % 250 + 4}",),
                security_group_ids=("sg-0123456789abcdef0",),
            ),
        ),
        "security_groups": (),
        "iam_instance_profile": None,
        "ssm": SsmStatus(available=True, managed=True, ping_status="Online"),
        "launch_time": datetime(2024, 1, 15, 9, 30, tzinfo=timezone.utc),
    }
    fields.update(overrides)
    return SourceMachine(**fields)


def with_instance_store(*sizes_gb: int) -> tuple[InstanceStoreVolume, ...]:
    """Instance-store volumes of the given sizes, mapped to /dev/sdb, /dev/sdc ..."""
    return tuple(
        InstanceStoreVolume(
            size_gb=size, disk_type="ssd", device_name=f"/dev/sd{chr(ord('b') + i)}"
        )
        for i, size in enumerate(sizes_gb)
    )
