"""Frozen value types shared by ec2asr's layers.

Every model is an ``@attrs.frozen`` class. Models built from an SDK answer have a named
constructor (``from_boto``) that does no I/O; the AWS layer is the only place that calls them
with boto3 dictionaries.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ec2asr._frozen import frozen_map as _frozen_map

__all__ = [
    "EbsVolume",
    "Evidence",
    "EvidenceSource",
    "ImageInfo",
    "InstanceStorageDisk",
    "InstanceStoreVolume",
    "InstanceTypeInfo",
    "NetworkInterface",
    "OsFamily",
    "OsInfo",
    "SecurityGroup",
    "SecurityGroupRule",
    "SourceMachine",
    "SsmStatus",
]


class EvidenceSource(str, enum.Enum):
    """Where a fact about a machine came from, most trusted first."""

    OVERRIDE = "override"
    """The caller said so (``os_overrides=`` and similar)."""
    TAG = "tag"
    """An ``ec2asr:*`` tag on the instance."""
    SSM_INVENTORY = "ssm-inventory"
    """AWS Systems Manager's instance information, reported by the agent in the guest."""
    PLATFORM = "platform"
    """EC2's ``Platform`` / ``PlatformDetails`` field."""
    AMI_NAME = "ami-name"
    """The name of the AMI the instance was launched from."""
    AMI_DESCRIPTION = "ami-description"
    """The description of that AMI."""
    EC2_API = "ec2-api"
    """A field EC2 reports directly (architecture, boot mode, instance type, ...)."""
    UNKNOWN = "unknown"
    """Nothing said; the value is a default or missing."""


@attrs.frozen
class Evidence:
    """One piece of evidence for a fact.

    Attributes:
        source: Where it came from.
        detail: What exactly was seen, e.g. ``"AMI name 'RHEL-8.6.0_HVM-...'"``.
        field: Which fact it supports (``"family"``, ``"name"``, ``"version"``, ``"kernel"``,
            ``"boot_mode"``, ``"pv_driver"``, ``"ssm"`` ...).
    """

    source: EvidenceSource
    detail: str
    field: str = ""

    def __str__(self) -> str:
        return f"{self.source.value}: {self.detail}"


class OsFamily(str, enum.Enum):
    """Operating-system family, as ASR distinguishes them."""

    WINDOWS = "windows"
    LINUX = "linux"
    UNKNOWN = "unknown"


@attrs.frozen
class OsInfo:
    """What ec2asr knows about a machine's operating system, and why.

    Attributes:
        family: Windows, Linux or unknown.
        distribution: A stable short key: ``windows``, ``rhel``, ``centos``, ``oracle``, ``ubuntu``,
            ``debian``, ``sles``, ``amazon``, ``rocky``, ``alma`` or ``None`` when unknown.
        name: A human name (``"Windows Server 2019 Datacenter"``, ``"Ubuntu 20.04 LTS"``).
        version: The version as ASR's support matrix spells it (``"2019"``, ``"2008 R2 SP1"``,
            ``"8.6"``, ``"20.04"``), or ``None``.
        kernel: The kernel release where known (``"5.15.0-1019-aws"``), else ``None``.
        evidence: Evidence for each fact; see :meth:`evidence_for`.
    """

    family: OsFamily = OsFamily.UNKNOWN
    distribution: str | None = None
    name: str | None = None
    version: str | None = None
    kernel: str | None = None
    evidence: tuple[Evidence, ...] = ()

    def evidence_for(self, field: str) -> tuple[Evidence, ...]:
        """Return the evidence recorded for one fact (``"family"``, ``"version"``, ...)."""
        return tuple(e for e in self.evidence if e.field == field)


@attrs.frozen
class ImageInfo:
    """The AMI an instance was launched from, as far as EC2 still describes it.

    Attributes:
        image_id: The AMI id.
        found: False when the AMI was deregistered or is not visible to the caller; the other
            fields are then ``None``.
    """

    image_id: str
    found: bool = True
    name: str | None = None
    description: str | None = None
    owner_id: str | None = None
    platform: str | None = None
    platform_details: str | None = None
    architecture: str | None = None
    virtualization_type: str | None = None
    boot_mode: str | None = None
    root_device_name: str | None = None
    tags: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map, hash=False)

    @classmethod
    def from_boto(cls, image: Mapping[str, Any]) -> ImageInfo:
        """Build from one item of ``DescribeImages``' ``Images``."""
        return cls(
            image_id=image["ImageId"],
            name=image.get("Name"),
            description=image.get("Description"),
            owner_id=image.get("OwnerId"),
            platform=image.get("Platform"),
            platform_details=image.get("PlatformDetails") or None,
            architecture=image.get("Architecture"),
            virtualization_type=image.get("VirtualizationType"),
            boot_mode=image.get("BootMode"),
            root_device_name=image.get("RootDeviceName"),
            tags={t["Key"]: t.get("Value", "") for t in image.get("Tags", ())},
        )

    @classmethod
    def missing(cls, image_id: str) -> ImageInfo:
        """An AMI that EC2 no longer describes."""
        return cls(image_id=image_id, found=False)


@attrs.frozen
class InstanceStorageDisk:
    """One kind of local disk an instance type carries (from ``DescribeInstanceTypes``)."""

    count: int
    size_gb: int
    disk_type: str  # "ssd" | "hdd"


@attrs.frozen
class InstanceTypeInfo:
    """An EC2 instance type's size.

    Attributes:
        name: ``"m5.large"``.
        vcpus: Default vCPU count.
        memory_mib: Memory in MiB.
        architectures: Supported architectures (``("x86_64",)``).
        instance_storage_gb: Total instance-store capacity, 0 when the type has none.
        instance_storage: The local disks by kind.
        known: False when EC2 did not describe the type; sizes are then 0.
    """

    name: str
    vcpus: int = 0
    memory_mib: int = 0
    architectures: tuple[str, ...] = ()
    instance_storage_gb: int = 0
    instance_storage: tuple[InstanceStorageDisk, ...] = ()
    known: bool = True

    @property
    def memory_gib(self) -> float:
        """Memory in GiB."""
        return self.memory_mib / 1024

    @classmethod
    def from_boto(cls, info: Mapping[str, Any]) -> InstanceTypeInfo:
        """Build from one item of ``DescribeInstanceTypes``' ``InstanceTypes``."""
        storage = info.get("InstanceStorageInfo") or {}
        disks = tuple(
            InstanceStorageDisk(
                count=int(d.get("Count", 1)),
                size_gb=int(d.get("SizeInGB", 0)),
                disk_type=str(d.get("Type", "ssd")),
            )
            for d in storage.get("Disks", ())
        )
        return cls(
            name=info["InstanceType"],
            vcpus=int(info.get("VCpuInfo", {}).get("DefaultVCpus", 0)),
            memory_mib=int(info.get("MemoryInfo", {}).get("SizeInMiB", 0)),
            architectures=tuple(info.get("ProcessorInfo", {}).get("SupportedArchitectures", ())),
            instance_storage_gb=int(storage.get("TotalSizeInGB", 0)),
            instance_storage=disks,
        )

    @classmethod
    def unknown(cls, name: str) -> InstanceTypeInfo:
        """An instance type EC2 did not describe."""
        return cls(name=name, known=False)


@attrs.frozen
class EbsVolume:
    """An EBS volume attached to an instance.

    Attributes:
        volume_id: ``vol-...``.
        device_name: ``/dev/sda1``, ``/dev/xvdf`` ...
        size_gib: Size in GiB.
        volume_type: ``gp2``, ``gp3``, ``io1``, ``io2``, ``st1``, ``sc1``, ``standard``.
        iops: Provisioned (or baseline) IOPS, if EC2 reports them.
        throughput: Provisioned throughput in MiB/s (gp3), if reported.
        encrypted: Whether the volume is encrypted.
        is_root: True for the instance's root device.
    """

    volume_id: str
    device_name: str
    size_gib: int
    volume_type: str
    iops: int | None = None
    throughput: int | None = None
    encrypted: bool = False
    is_root: bool = False
    delete_on_termination: bool | None = None


@attrs.frozen
class InstanceStoreVolume:
    """A local instance-store disk: its data is NOT replicated by ASR.

    Attributes:
        device_name: The block-device name when the AMI/launch mapped one (``/dev/sdb``), else None.
        size_gb: Size in GB as EC2 reports it.
        disk_type: ``ssd`` or ``hdd``.
    """

    size_gb: int
    disk_type: str = "ssd"
    device_name: str | None = None


@attrs.frozen
class NetworkInterface:
    """An elastic network interface of an instance.

    Attributes:
        private_ips: Every private IPv4 address, primary first.
        security_group_ids: The groups attached to this interface.
    """

    interface_id: str
    subnet_id: str | None
    vpc_id: str | None
    private_ips: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    mac_address: str | None = None
    device_index: int = 0

    @property
    def primary_private_ip(self) -> str | None:
        """The interface's primary private IPv4 address."""
        return self.private_ips[0] if self.private_ips else None

    @classmethod
    def from_boto(cls, eni: Mapping[str, Any]) -> NetworkInterface:
        """Build from one item of an instance's ``NetworkInterfaces``."""
        addresses = eni.get("PrivateIpAddresses") or []
        ips = [a["PrivateIpAddress"] for a in addresses if a.get("Primary")]
        ips += [a["PrivateIpAddress"] for a in addresses if not a.get("Primary")]
        if not ips and eni.get("PrivateIpAddress"):
            ips = [eni["PrivateIpAddress"]]
        return cls(
            interface_id=eni.get("NetworkInterfaceId", ""),
            subnet_id=eni.get("SubnetId"),
            vpc_id=eni.get("VpcId"),
            private_ips=tuple(ips),
            security_group_ids=tuple(g["GroupId"] for g in eni.get("Groups", ())),
            mac_address=eni.get("MacAddress"),
            device_index=int(eni.get("Attachment", {}).get("DeviceIndex", 0)),
        )


@attrs.frozen
class SecurityGroupRule:
    """One security-group permission, flattened: one protocol/port range, its peers.

    Attributes:
        protocol: ``tcp``, ``udp``, ``icmp`` or ``-1`` (all).
        from_port: First port (``None`` with protocol ``-1``).
        to_port: Last port, inclusive.
        cidrs: IPv4 CIDR peers.
        group_ids: Security-group peers (references).
        prefix_list_ids: Managed prefix-list peers.
    """

    protocol: str
    from_port: int | None
    to_port: int | None
    cidrs: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    prefix_list_ids: tuple[str, ...] = ()

    @classmethod
    def from_boto(cls, perm: Mapping[str, Any]) -> SecurityGroupRule:
        """Build from one ``IpPermissions`` / ``IpPermissionsEgress`` item."""
        protocol = str(perm.get("IpProtocol", "-1"))
        from_port = perm.get("FromPort")
        to_port = perm.get("ToPort")
        if protocol in ("-1", "all"):
            protocol, from_port, to_port = "-1", None, None
        return cls(
            protocol=protocol,
            from_port=None if from_port is None else int(from_port),
            to_port=None if to_port is None else int(to_port),
            cidrs=tuple(r["CidrIp"] for r in perm.get("IpRanges", ()) if "CidrIp" in r),
            group_ids=tuple(
                p["GroupId"] for p in perm.get("UserIdGroupPairs", ()) if "GroupId" in p
            ),
            prefix_list_ids=tuple(
                p["PrefixListId"] for p in perm.get("PrefixListIds", ()) if "PrefixListId" in p
            ),
        )

    def covers_port(self, protocol: str, port: int) -> bool:
        """True when this rule admits ``protocol``/``port`` (ignoring peers)."""
        if self.protocol == "-1":
            return True
        if self.protocol != protocol:
            return False
        if self.from_port is None or self.to_port is None:
            return True
        return self.from_port <= port <= self.to_port


@attrs.frozen
class SecurityGroup:
    """A security group with its rules."""

    group_id: str
    name: str
    vpc_id: str | None
    ingress: tuple[SecurityGroupRule, ...] = ()
    egress: tuple[SecurityGroupRule, ...] = ()

    @classmethod
    def from_boto(cls, group: Mapping[str, Any]) -> SecurityGroup:
        """Build from one item of ``DescribeSecurityGroups``' ``SecurityGroups``."""
        return cls(
            group_id=group["GroupId"],
            name=group.get("GroupName", ""),
            vpc_id=group.get("VpcId"),
            ingress=tuple(SecurityGroupRule.from_boto(p) for p in group.get("IpPermissions", ())),
            egress=tuple(
                SecurityGroupRule.from_boto(p) for p in group.get("IpPermissionsEgress", ())
            ),
        )


@attrs.frozen
class SsmStatus:
    """What AWS Systems Manager knows of an instance.

    Attributes:
        available: False when SSM could not be asked (absent, unauthorised, not implemented).
        managed: True when the instance is a managed node (its agent reports in).
        ping_status: ``Online``, ``ConnectionLost``, ``Inactive`` or None.
        platform_type: ``Windows`` / ``Linux`` as reported by the agent.
        platform_name: e.g. ``"Red Hat Enterprise Linux"``.
        platform_version: e.g. ``"8.6"``.
        agent_version: The SSM agent version.
        reason: Why SSM could not be asked / why the instance is not managed.
    """

    available: bool
    managed: bool = False
    ping_status: str | None = None
    platform_type: str | None = None
    platform_name: str | None = None
    platform_version: str | None = None
    agent_version: str | None = None
    reason: str | None = None


@attrs.frozen
class SourceMachine:
    """One EC2 instance as ec2asr sees it: everything readiness and migration need.

    Built by :class:`ec2asr.Ec2Discovery`; plain data, safe to pickle and compare.

    Attributes:
        instance_id: ``i-...``.
        name: The ``Name`` tag, or None.
        tags: Every tag.
        state: ``running``, ``stopped``, ...
        region: The AWS region.
        availability_zone: The instance's zone.
        instance_type: The type with its vCPU/memory/instance storage.
        architecture: ``x86_64``, ``arm64``, ``i386``, ``x86_64_mac``.
        virtualization_type: ``hvm`` or ``paravirtual``.
        boot_mode: ``legacy-bios``, ``uefi`` or ``uefi-preferred`` (or None when unknown).
        boot_mode_evidence: Where ``boot_mode`` came from.
        secure_boot: True/False when known (tag or SSM), None when unknown.
        secure_boot_evidence: Where ``secure_boot`` came from.
        platform: EC2's ``Platform`` (``windows`` or None).
        platform_details: EC2's ``PlatformDetails`` (often empty on moto).
        image: The AMI.
        os: Operating system with evidence.
        root_device_name: The root device.
        volumes: Every attached EBS volume, root first.
        instance_store: Local instance-store disks (their data is not replicated).
        network_interfaces: Every ENI, primary first.
        security_groups: The security groups attached to any ENI, with their rules.
        iam_instance_profile: The instance profile ARN, or None.
        ssm: What Systems Manager knows.
        launch_time: When the instance was launched.
    """

    instance_id: str
    name: str | None
    tags: Mapping[str, str] = attrs.field(converter=_frozen_map, hash=False)
    state: str
    region: str
    availability_zone: str | None
    instance_type: InstanceTypeInfo
    architecture: str
    virtualization_type: str
    boot_mode: str | None
    boot_mode_evidence: Evidence | None
    secure_boot: bool | None
    platform: str | None
    platform_details: str | None
    image: ImageInfo
    os: OsInfo
    root_device_name: str | None
    volumes: tuple[EbsVolume, ...]
    instance_store: tuple[InstanceStoreVolume, ...]
    network_interfaces: tuple[NetworkInterface, ...]
    security_groups: tuple[SecurityGroup, ...]
    iam_instance_profile: str | None
    ssm: SsmStatus
    launch_time: datetime | None = None
    secure_boot_evidence: Evidence | None = None

    @property
    def private_ip(self) -> str | None:
        """The primary private IPv4 address of the primary interface."""
        for eni in self.network_interfaces:
            if eni.primary_private_ip:
                return eni.primary_private_ip
        return None

    @property
    def private_ips(self) -> tuple[str, ...]:
        """Every private IPv4 address on every interface."""
        return tuple(ip for eni in self.network_interfaces for ip in eni.private_ips)

    @property
    def vpc_id(self) -> str | None:
        """The VPC of the primary interface."""
        return self.network_interfaces[0].vpc_id if self.network_interfaces else None

    @property
    def subnet_id(self) -> str | None:
        """The subnet of the primary interface."""
        return self.network_interfaces[0].subnet_id if self.network_interfaces else None

    @property
    def security_group_ids(self) -> tuple[str, ...]:
        """Every security-group id on any interface, without duplicates."""
        seen: dict[str, None] = {}
        for eni in self.network_interfaces:
            for gid in eni.security_group_ids:
                seen.setdefault(gid, None)
        return tuple(seen)

    @property
    def root_volume(self) -> EbsVolume | None:
        """The root EBS volume, if any."""
        for v in self.volumes:
            if v.is_root:
                return v
        return None

    @property
    def data_volumes(self) -> tuple[EbsVolume, ...]:
        """The EBS volumes that are not the root volume."""
        return tuple(v for v in self.volumes if not v.is_root)

    @property
    def display_name(self) -> str:
        """``Name (i-...)`` or just the id."""
        return f"{self.name} ({self.instance_id})" if self.name else self.instance_id

    @property
    def is_windows(self) -> bool:
        """True when the OS family is Windows."""
        return self.os.family is OsFamily.WINDOWS
