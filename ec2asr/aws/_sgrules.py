"""The EC2 calls that find and remove leased security-group rules, and small helpers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import attrs

from ec2asr.aws import _boto
from ec2asr.aws._leasetypes import LEASE_DESCRIPTION_PREFIX
from ec2asr.aws.netcheck import ConnectivityReport, MachineConnectivity, MissingRule
from ec2asr.errors import AwsError

__all__ = ["Failure", "OwnedRules", "find_owned", "missing_rules", "revoke_rules"]

OwnedRules = dict[str, list[tuple[str, bool, str]]]
"""Per lease id: (group id, is egress, security-group rule id) of each rule carrying it."""


@attrs.frozen
class Failure:
    """Why adding a rule failed: a duplicate, a refusal, or no answer (not definitive)."""

    error: AwsError
    duplicate: bool = False
    definitive: bool = True


def missing_rules(
    source: Iterable[MissingRule] | MachineConnectivity | ConnectivityReport,
) -> list[MissingRule]:
    if isinstance(source, ConnectivityReport):
        return list(source.missing_rules)
    if isinstance(source, MachineConnectivity):
        return list(source.missing)
    return list(source)


def find_owned(ec2: Any, group_ids: Iterable[str]) -> OwnedRules:
    """Rules whose description carries an ec2asr lease id, read 200 groups per call.

    Raises:
        AwsError: ``ec2:DescribeSecurityGroupRules`` failed.
    """
    owned: OwnedRules = defaultdict(list)
    for chunk in _boto.chunked(_boto.sorted_unique(group_ids), _boto.FILTER_VALUES_LIMIT):
        for rule in _boto.paginate(
            ec2,
            "describe_security_group_rules",
            "SecurityGroupRules",
            Filters=[{"Name": "group-id", "Values": chunk}],
        ):
            description = rule.get("Description") or ""
            if description.startswith(LEASE_DESCRIPTION_PREFIX):
                lease_id = description[len(LEASE_DESCRIPTION_PREFIX) :].strip()
                owned[lease_id].append(
                    (rule["GroupId"], bool(rule.get("IsEgress")), rule["SecurityGroupRuleId"])
                )
    return dict(owned)


def revoke_rules(ec2: Any, group_id: str, *, egress: bool, rule_ids: list[str]) -> AwsError | None:
    """Remove rules of one group and direction by id; None when done (or already gone)."""
    operation = "RevokeSecurityGroupEgress" if egress else "RevokeSecurityGroupIngress"
    call = ec2.revoke_security_group_egress if egress else ec2.revoke_security_group_ingress
    try:
        with _boto.translate_errors(f"ec2:{operation}"):
            call(GroupId=group_id, SecurityGroupRuleIds=rule_ids)
    except AwsError as exc:
        if exc.code != "InvalidPermission.NotFound":
            return exc
        if len(rule_ids) > 1:
            # One of them is gone already: remove the others one by one.
            for rule_id in rule_ids:
                failure = revoke_rules(ec2, group_id, egress=egress, rule_ids=[rule_id])
                if failure is not None:
                    return failure
    return None
