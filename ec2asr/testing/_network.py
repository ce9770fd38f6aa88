"""The source network a seeded fleet lives in: VPC, subnets, security groups, appliance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "APPLIANCE_NAME",
    "APPLIANCE_PRIVATE_IP",
    "CORPORATE_CIDR",
    "VPC_CIDR",
    "Network",
    "create_network",
    "ebs_mapping",
    "tag_spec",
]

VPC_CIDR = "10.0.0.0/16"
APPLIANCE_PRIVATE_IP = "10.0.0.10"
APPLIANCE_NAME = "asr-appliance-01"
CORPORATE_CIDR = "10.200.0.0/16"
"""Where administrators connect from (a VPN range outside the VPC, not the appliance)."""


@attrs.frozen
class Network:
    """What :func:`create_network` made.

    Attributes:
        subnets: The workload subnets as ``(subnet id, availability zone)``.
        groups: Security-group id per tier.
    """

    vpc_id: str
    management_subnet_id: str
    subnets: tuple[tuple[str, str], ...]
    groups: Mapping[str, str]
    appliance_id: str
    appliance_ip: str


def create_network(ec2: Any, region: str, appliance_ami: Mapping[str, Any]) -> Network:
    """Create the VPC, its subnets and security groups, and the replication appliance."""
    vpc_id = ec2.create_vpc(
        CidrBlock=VPC_CIDR,
        TagSpecifications=[tag_spec("vpc", {"Name": "migration-source"})],
    )["Vpc"]["VpcId"]
    zones = (f"{region}a", f"{region}b")

    def subnet(cidr: str, zone: str, name: str) -> str:
        return str(
            ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=cidr,
                AvailabilityZone=zone,
                TagSpecifications=[tag_spec("subnet", {"Name": name})],
            )["Subnet"]["SubnetId"]
        )

    management = subnet("10.0.0.0/24", zones[0], "management")
    workloads = (
        (subnet("10.0.16.0/20", zones[0], "workloads-a"), zones[0]),
        (subnet("10.0.32.0/20", zones[1], "workloads-b"), zones[1]),
    )
    groups = _security_groups(ec2, vpc_id)
    reservation = ec2.run_instances(
        ImageId=appliance_ami["ami_id"],
        InstanceType="m5.2xlarge",
        MinCount=1,
        MaxCount=1,
        SubnetId=management,
        PrivateIpAddress=APPLIANCE_PRIVATE_IP,
        SecurityGroupIds=[groups["appliance"]],
        BlockDeviceMappings=[
            ebs_mapping(appliance_ami["root_device_name"], 128, "gp3"),
            ebs_mapping("/dev/xvdf", 620, "gp3"),
        ],
        TagSpecifications=[
            tag_spec(
                "instance",
                {
                    "Name": APPLIANCE_NAME,
                    "Role": "asr-replication-appliance",
                    "Environment": "prod",
                },
            )
        ],
    )
    appliance = reservation["Instances"][0]
    return Network(
        vpc_id=vpc_id,
        management_subnet_id=management,
        subnets=workloads,
        groups=groups,
        appliance_id=appliance["InstanceId"],
        appliance_ip=appliance["PrivateIpAddress"],
    )


def _security_groups(ec2: Any, vpc_id: str) -> dict[str, str]:
    """One group per tier. The appliance's admits 443/9443 from the VPC; source groups allow all
    egress (``restricted``: 443 only) and admit nothing from the appliance on push-install ports.
    """

    def group(name: str, description: str) -> str:
        return str(
            ec2.create_security_group(
                GroupName=name,
                Description=description,
                VpcId=vpc_id,
                TagSpecifications=[tag_spec("security-group", {"Name": name})],
            )["GroupId"]
        )

    groups = {
        "appliance": group("asr-appliance", "ASR replication appliance"),
        "web": group("web-tier", "Public web servers"),
        "app": group("app-tier", "Application servers"),
        "db": group("db-tier", "Databases"),
        "linux": group("linux-ops", "Linux back-end servers"),
        "restricted": group("api-restricted", "PCI API servers: egress on HTTPS only"),
    }
    ingress = {
        "appliance": [_tcp(443, cidr=VPC_CIDR), _tcp(9443, cidr=VPC_CIDR)],
        "web": [_tcp(80, cidr="0.0.0.0/0"), _tcp(443, cidr="0.0.0.0/0"), *_admin()],
        "app": [_tcp(8080, 8090, group=groups["web"]), *_admin()],
        "db": [
            _tcp(1433, group=groups["app"]),
            _tcp(1521, group=groups["app"]),
            _tcp(5432, group=groups["app"]),
            *_admin(),
        ],
        "linux": [_tcp(22, cidr=CORPORATE_CIDR)],
        "restricted": [_tcp(443, group=groups["web"]), _tcp(22, cidr=CORPORATE_CIDR)],
    }
    for tier, permissions in ingress.items():
        ec2.authorize_security_group_ingress(GroupId=groups[tier], IpPermissions=permissions)
    restricted = groups["restricted"]
    ec2.revoke_security_group_egress(
        GroupId=restricted,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.authorize_security_group_egress(
        GroupId=restricted,
        IpPermissions=[
            _tcp(443, cidr="0.0.0.0/0"),
            {
                "IpProtocol": "udp",
                "FromPort": 53,
                "ToPort": 53,
                "IpRanges": [{"CidrIp": "10.0.0.2/32"}],
            },
        ],
    )
    return groups


def tag_spec(resource_type: str, tags: Mapping[str, str]) -> dict[str, Any]:
    """A ``TagSpecifications`` item."""
    return {
        "ResourceType": resource_type,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }


def _tcp(
    from_port: int, to_port: int | None = None, *, cidr: str | None = None, group: str | None = None
) -> dict[str, Any]:
    permission: dict[str, Any] = {
        "IpProtocol": "tcp",
        "FromPort": from_port,
        "ToPort": to_port if to_port is not None else from_port,
    }
    if cidr is not None:
        permission["IpRanges"] = [{"CidrIp": cidr}]
    if group is not None:
        permission["UserIdGroupPairs"] = [{"GroupId": group}]
    return permission


def _admin() -> list[dict[str, Any]]:
    """RDP and SSH from the corporate VPN range only (never from the appliance)."""
    return [_tcp(3389, cidr=CORPORATE_CIDR), _tcp(22, cidr=CORPORATE_CIDR)]


def ebs_mapping(
    device: str, size: int, volume_type: str, encrypted: bool = False
) -> dict[str, Any]:
    """A ``BlockDeviceMappings`` item for an EBS volume deleted with its instance."""
    return {
        "DeviceName": device,
        "Ebs": {
            "VolumeSize": size,
            "VolumeType": volume_type,
            "DeleteOnTermination": True,
            "Encrypted": encrypted,
        },
    }
