"""Which instances to discover: validating the selectors and turning them into EC2 filters."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import attrs

from ec2asr._validate import shown
from ec2asr.aws import _boto
from ec2asr.aws.ostext import parse_os_text
from ec2asr.errors import InvalidInputError
from ec2asr.models import OsInfo

__all__ = ["LIVE_STATES", "Selection", "TagSelector", "validate"]

TagSelector: TypeAlias = Mapping[str, str | Iterable[str] | None]
"""``{"Environment": "prod", "App": ["erp", "crm"], "Migrate": None}``: each key must match
(AND); a list matches any of its values; ``None`` only requires the key. Values may use
EC2's wildcards ``*`` and ``?``."""

LIVE_STATES = ("pending", "running", "stopping", "stopped")
"""Instance states discovery returns; ``shutting-down`` and ``terminated`` count as gone."""
_INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_VPC_ID = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")


@attrs.frozen
class Selection:
    """Validated selectors; ``None`` means "not selected on"."""

    instance_ids: frozenset[str] | None
    tags: Mapping[str, tuple[str, ...] | None] | None
    vpc_id: str | None
    private_ips: frozenset[str] | None

    def matches(self, instance: Mapping[str, Any]) -> bool:
        """True when a ``DescribeInstances`` item meets every selector."""
        if self.instance_ids is not None and instance["InstanceId"] not in self.instance_ids:
            return False
        if self.vpc_id is not None and instance.get("VpcId") != self.vpc_id:
            return False
        if (
            self.private_ips is not None
            and instance.get("PrivateIpAddress") not in self.private_ips
        ):
            return False
        if self.tags:
            tags = {t["Key"]: t.get("Value", "") for t in instance.get("Tags") or ()}
            for key, values in self.tags.items():
                if key not in tags:
                    return False
                if values is not None and not any(
                    _wildcard(v).fullmatch(tags[key]) for v in values
                ):
                    return False
        return True

    def server_filters(self) -> list[dict[str, Any]]:
        """The ``DescribeInstances`` filters; what does not fit one filter is matched locally."""
        filters: list[dict[str, Any]] = [
            {"Name": "instance-state-name", "Values": list(LIVE_STATES)}
        ]
        if self.instance_ids is not None:
            # Only the ids go to AWS, so that "not found" means exactly that: the other
            # selectors are then applied to what came back.
            if len(self.instance_ids) <= _boto.FILTER_VALUES_LIMIT:
                filters.append({"Name": "instance-id", "Values": sorted(self.instance_ids)})
            return filters
        if self.vpc_id is not None:
            filters.append({"Name": "vpc-id", "Values": [self.vpc_id]})
        if self.private_ips is not None and len(self.private_ips) <= _boto.FILTER_VALUES_LIMIT:
            filters.append({"Name": "private-ip-address", "Values": sorted(self.private_ips)})
        for key, values in (self.tags or {}).items():
            if values is None:
                filters.append({"Name": "tag-key", "Values": [key]})
            elif len(values) <= _boto.FILTER_VALUES_LIMIT:
                filters.append({"Name": f"tag:{key}", "Values": list(values)})
        return filters


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))


def _strings(name: str, values: Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        raise InvalidInputError(f"{name} must be a list of strings, not one string: {values!r}")
    if isinstance(values, Mapping) or not isinstance(values, Iterable):
        raise InvalidInputError(f"{name} must be a list of strings, not {shown(values)}")
    items = list(values)
    for value in items:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"{name} holds an empty or non-string value: {shown(value)}")
    result = tuple(dict.fromkeys(items))
    if not result:
        raise InvalidInputError(f"{name} is empty; pass None to leave it out of the selection")
    return result


def validate(
    instance_ids: Iterable[str] | None,
    tags: TagSelector | None,
    vpc_id: str | None,
    private_ips: Iterable[str] | None,
    os_overrides: Mapping[str, str | OsInfo] | None,
) -> Selection:
    """Check every selector before any AWS call.

    Raises:
        InvalidInputError: A selector or override is malformed.
    """
    ids = _strings("instance_ids", instance_ids)
    bad = [i for i in ids or () if not _INSTANCE_ID.match(i)]
    if bad:
        raise InvalidInputError(
            f"not EC2 instance ids in instance_ids (expected i-<8 or 17 hex digits>): {bad}"
        )
    if vpc_id is not None and (not isinstance(vpc_id, str) or not _VPC_ID.match(vpc_id)):
        raise InvalidInputError(
            f"not a VPC id for vpc_id (expected vpc-<8 or 17 hex digits>): {shown(vpc_id)}"
        )
    ips = _strings("private_ips", private_ips)
    for ip in ips or ():
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise InvalidInputError(f"not an IPv4 address in private_ips: {ip!r}") from None
    tag_selector: dict[str, tuple[str, ...] | None] | None = None
    if tags is not None:
        if not isinstance(tags, Mapping) or not tags:
            raise InvalidInputError(
                f"tags must be a non-empty mapping of tag key to value(s), not {shown(tags)}"
            )
        tag_selector = {}
        for key, value in tags.items():
            if not isinstance(key, str) or not key.strip():
                raise InvalidInputError(f"tags holds an empty or non-string key: {key!r}")
            if value is None:
                tag_selector[key] = None
            elif isinstance(value, str):
                tag_selector[key] = (value,)
            else:
                tag_selector[key] = _strings(f"tags[{key!r}]", value)
    if os_overrides is not None and not isinstance(os_overrides, Mapping):
        raise InvalidInputError(
            f"os_overrides must be a mapping of instance id to OS, not {shown(os_overrides)}"
        )
    for instance_id, override in (os_overrides or {}).items():
        if not isinstance(instance_id, str) or not _INSTANCE_ID.match(instance_id):
            raise InvalidInputError(f"os_overrides key is not an instance id: {instance_id!r}")
        if isinstance(override, OsInfo):
            continue
        if not isinstance(override, str) or parse_os_text(override).empty:
            raise InvalidInputError(
                f"os_overrides[{instance_id!r}]={override!r} names no known OS; use e.g. "
                "'Windows Server 2019', 'rhel 8.6', 'ubuntu 20.04' or an OsInfo"
            )
    return Selection(
        instance_ids=frozenset(ids) if ids is not None else None,
        tags=tag_selector,
        vpc_id=vpc_id,
        private_ips=frozenset(ips) if ips is not None else None,
    )
