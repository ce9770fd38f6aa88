"""Network preparation: read the security groups and network ACLs between sources and appliance.

:class:`NetworkInspector` finds the appliance's interface by its private IP and reads, in batched
calls, every security group and network ACL involved, then hands them to
:func:`~ec2asr.aws.netcheck.evaluate_connectivity`. It only calls ``Describe*`` operations; the
calls grow with the number of distinct groups and subnets (200 per call), not with machines:

* one ``DescribeNetworkInterfaces`` (the appliance),
* ``DescribeSecurityGroups`` per 200 groups,
* ``DescribeNetworkAcls`` per 200 subnets.

Adding missing security-group rules is :class:`~ec2asr.aws.leases.SecurityGroupLeases`'s job;
network ACLs are only ever reported.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ec2asr._validate import check_bool, shown
from ec2asr.aws import _boto
from ec2asr.aws._netrules import NetworkAcl, NetworkAclEntry, PortRange
from ec2asr.aws._paths import EPHEMERAL_PORTS, PUSH_PORTS, REPLICATION_PORTS
from ec2asr.aws.netcheck import (
    ApplianceNetwork,
    ConnectivityReport,
    Direction,
    Flow,
    FlowPurpose,
    MachineConnectivity,
    MissingRule,
    RuleKind,
    evaluate_connectivity,
)
from ec2asr.errors import InvalidInputError
from ec2asr.models import SecurityGroup, SourceMachine

if TYPE_CHECKING:
    from ec2asr.mobility.base import ApplianceEndpoint

__all__ = [
    "EPHEMERAL_PORTS",
    "PUSH_PORTS",
    "REPLICATION_PORTS",
    "ApplianceNetwork",
    "ConnectivityReport",
    "Direction",
    "Flow",
    "FlowPurpose",
    "MachineConnectivity",
    "MissingRule",
    "NetworkAcl",
    "NetworkAclEntry",
    "NetworkInspector",
    "PortRange",
    "RuleKind",
    "analyze_fleet",
    "evaluate_connectivity",
]

logger = logging.getLogger("ec2asr")


def _ipv4(value: str, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except (ValueError, TypeError):
        raise InvalidInputError(f"{what} is not an IPv4 address: {value!r}") from None


def _appliance(
    eni: Mapping[str, Any], groups: Mapping[str, SecurityGroup], ip: str
) -> ApplianceNetwork:
    group_ids = [g["GroupId"] for g in eni.get("Groups") or ()]
    tags = {t["Key"]: t.get("Value", "") for t in eni.get("TagSet") or ()}
    return ApplianceNetwork(
        private_ip=ip,
        instance_id=(eni.get("Attachment") or {}).get("InstanceId"),
        interface_id=eni.get("NetworkInterfaceId"),
        subnet_id=eni.get("SubnetId"),
        vpc_id=eni.get("VpcId"),
        security_groups=tuple(groups[g] for g in group_ids if g in groups),
        name=tags.get("Name"),
    )


class NetworkInspector:
    """Reads what connectivity analysis needs from EC2 (read-only, batched).

    Args:
        ec2_client: A boto3 EC2 client of the sources' region.

    Example:
        >>> inspector = NetworkInspector(session.client("ec2"))
        >>> report = inspector.analyze(machines, "10.0.0.10", push=True)
        >>> print(report)
    """

    def __init__(self, ec2_client: Any) -> None:
        if not callable(getattr(ec2_client, "describe_security_groups", None)):
            raise InvalidInputError(
                f"ec2_client must be a boto3 EC2 client, not {shown(ec2_client)}"
            )
        self._ec2 = ec2_client

    def __repr__(self) -> str:
        return "NetworkInspector()"

    def find_appliance(self, private_ip: str) -> ApplianceNetwork | None:
        """Find the EC2 interface holding the appliance's private IP, with its groups' rules.

        Returns:
            The appliance's network position, or None when no interface in the region holds
            that address (an appliance outside EC2, reached over VPN or Direct Connect).

        Raises:
            InvalidInputError: ``private_ip`` is not an IPv4 address.
            AwsPermissionError: ``ec2:DescribeNetworkInterfaces`` or
                ``ec2:DescribeSecurityGroups`` is refused.
            AwsError: Any other AWS failure.
        """
        ip = _ipv4(private_ip, "the appliance address")
        eni = self._interface(ip)
        if eni is None:
            return None
        groups = self.list_security_groups(g["GroupId"] for g in eni.get("Groups") or ())
        return _appliance(eni, groups, ip)

    def _interface(self, ip: str) -> dict[str, Any] | None:
        interfaces = _boto.paginate(
            self._ec2,
            "describe_network_interfaces",
            "NetworkInterfaces",
            Filters=[{"Name": "addresses.private-ip-address", "Values": [ip]}],
        )
        if not interfaces:
            logger.info("no EC2 network interface holds %s: the appliance is outside EC2", ip)
            return None
        return interfaces[0]

    def list_security_groups(self, group_ids: Iterable[str]) -> dict[str, SecurityGroup]:
        """Read security groups with their rules, 200 per call.

        Raises:
            AwsPermissionError: ``ec2:DescribeSecurityGroups`` is refused.
            AwsError: Any other AWS failure.
        """
        found: dict[str, SecurityGroup] = {}
        for chunk in _boto.chunked(_boto.sorted_unique(group_ids), _boto.FILTER_VALUES_LIMIT):
            for raw in _boto.paginate(
                self._ec2,
                "describe_security_groups",
                "SecurityGroups",
                Filters=[{"Name": "group-id", "Values": chunk}],
            ):
                found[raw["GroupId"]] = SecurityGroup.from_boto(raw)
        return found

    def list_network_acls(self, subnet_ids: Iterable[str]) -> dict[str, NetworkAcl]:
        """Read the network ACL of each subnet, 200 subnets per call.

        Returns:
            The ACL per subnet id (every subnet has exactly one).

        Raises:
            AwsPermissionError: ``ec2:DescribeNetworkAcls`` is refused.
            AwsError: Any other AWS failure.
        """
        wanted = set(subnet_ids)
        by_subnet: dict[str, NetworkAcl] = {}
        for chunk in _boto.chunked(sorted(wanted), _boto.FILTER_VALUES_LIMIT):
            for raw in _boto.paginate(
                self._ec2,
                "describe_network_acls",
                "NetworkAcls",
                Filters=[{"Name": "association.subnet-id", "Values": chunk}],
            ):
                acl = NetworkAcl.from_boto(raw)
                for subnet in acl.subnet_ids:
                    if subnet in wanted:
                        by_subnet[subnet] = acl
        return by_subnet

    def analyze(
        self,
        machines: Sequence[SourceMachine],
        appliance: str | ApplianceNetwork,
        *,
        push: bool = False,
        check_network_acls: bool = True,
    ) -> ConnectivityReport:
        """Check every required path between the machines and the appliance.

        Security groups are read again (the machines' copies may predate a lease), so the
        answer reflects EC2 now.

        Args:
            machines: The source machines.
            appliance: The appliance's private IP, or an already found :class:`ApplianceNetwork`.
            push: Also check the push-install paths (appliance -> source).
            check_network_acls: Evaluate the subnets' network ACLs too.

        Returns:
            Per machine, exactly which rules are missing.

        Raises:
            InvalidInputError: ``appliance`` is not an IPv4 address, ``machines`` are not
                SourceMachine objects, or a flag is not a bool.
            AwsPermissionError: A required ``ec2:Describe*`` action is refused.
            AwsError: Any other AWS failure.
        """
        if isinstance(machines, (str, bytes, Mapping, SourceMachine)) or not isinstance(
            machines, Iterable
        ):
            raise InvalidInputError(
                f"machines must be a list of SourceMachine objects, not {shown(machines)}"
            )
        machines = list(machines)
        wrong = [m for m in machines if not isinstance(m, SourceMachine)]
        if wrong:
            raise InvalidInputError(
                f"machines must hold SourceMachine objects, not {shown(wrong[0])}"
            )
        check_bool("push", push)
        check_bool("check_network_acls", check_network_acls)
        group_ids = {g for m in machines for g in m.security_group_ids}
        if isinstance(appliance, ApplianceNetwork):
            where = appliance
            group_ids.update(where.security_group_ids)
            groups = self.list_security_groups(group_ids)
        else:
            ip = _ipv4(appliance, "the appliance address")
            eni = self._interface(ip)
            group_ids.update(g["GroupId"] for g in (eni or {}).get("Groups") or ())
            groups = self.list_security_groups(group_ids)
            where = _appliance(eni, groups, ip) if eni else ApplianceNetwork(private_ip=ip)
        acls = None
        if check_network_acls:
            subnets = {m.subnet_id for m in machines if m.subnet_id}
            if where.subnet_id:
                subnets.add(where.subnet_id)
            acls = self.list_network_acls(subnets)
        report = evaluate_connectivity(
            machines, where, push=push, security_groups=groups, network_acls=acls
        )
        logger.info(
            "connectivity to the appliance %s: %d of %d machines open",
            where.private_ip,
            len(report.machines) - len(report.blocked),
            len(report.machines),
        )
        return report


def analyze_fleet(
    ec2_client: Any,
    machines: Sequence[SourceMachine],
    appliance: str | ApplianceEndpoint,
    *,
    push: bool = False,
) -> dict[str, list[str]]:
    """The missing rules per machine, as sentences (a shortcut for plans and reports).

    Args:
        ec2_client: A boto3 EC2 client.
        machines: The source machines.
        appliance: The appliance endpoint (or its private IP).
        push: Also report the push-install paths.

    Returns:
        Per instance id, one sentence per missing rule; an empty list when every path is open.
        Use :meth:`NetworkInspector.analyze` for typed rules (which are leasable, which are
        network-ACL entries ec2asr never changes).

    Raises:
        InvalidInputError: The appliance address is not IPv4.
        AwsError: EC2 could not be read.
    """
    ip = appliance if isinstance(appliance, str) else appliance.ip_address
    report = NetworkInspector(ec2_client).analyze(machines, ip, push=push)
    return {m.instance_id: [str(rule) for rule in m.missing] for m in report}
