"""Find EC2 instances and describe everything a migration needs to know about them.

:class:`Ec2Discovery` is read-only: it only calls ``Describe*`` operations. The number of AWS
calls does not grow with the number of instances beyond pagination: one paginated
``DescribeInstances``, then one batched call each for images, volumes, instance types, security
groups and SSM instance information.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ec2asr.aws import _boto
from ec2asr.aws._machine import NOT_MANAGED_REASON, build_machine, ssm_status_from_boto
from ec2asr.aws.osdetect import parse_os_text
from ec2asr.errors import InstancesNotFoundError, InvalidInputError
from ec2asr.models import (
    ImageInfo,
    InstanceTypeInfo,
    OsInfo,
    SecurityGroup,
    SourceMachine,
    SsmStatus,
)

if TYPE_CHECKING:
    import boto3

__all__ = ["Ec2Discovery", "TagSelector"]

logger = logging.getLogger("ec2asr")

TagSelector: TypeAlias = Mapping[str, str | Iterable[str] | None]
"""``{"Environment": "prod", "App": ["erp", "crm"], "Migrate": None}``: each key must match
(AND); a list matches any of its values; ``None`` only requires the key. Values may use
EC2's wildcards ``*`` and ``?``."""

LIVE_STATES = ("pending", "running", "stopping", "stopped")
"""Instance states discovery returns; ``shutting-down`` and ``terminated`` count as gone."""
_INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_VPC_ID = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_SSM_FILTER_LIMIT = 50
_TYPES_PER_CALL = 100


@attrs.frozen
class _Selection:
    instance_ids: frozenset[str] | None
    tags: Mapping[str, tuple[str, ...] | None] | None
    vpc_id: str | None
    private_ips: frozenset[str] | None

    def matches(self, instance: Mapping[str, Any]) -> bool:
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
    result = tuple(dict.fromkeys(values))
    if not result:
        raise InvalidInputError(f"{name} is empty; pass None to leave it out of the selection")
    for value in result:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"{name} holds an empty or non-string value: {value!r}")
    return result


def _validate(
    instance_ids: Iterable[str] | None,
    tags: TagSelector | None,
    vpc_id: str | None,
    private_ips: Iterable[str] | None,
    os_overrides: Mapping[str, str | OsInfo] | None,
) -> _Selection:
    ids = _strings("instance_ids", instance_ids)
    bad = [i for i in ids or () if not _INSTANCE_ID.match(i)]
    if bad:
        raise InvalidInputError(f"not EC2 instance ids (expected i-<8 or 17 hex digits>): {bad}")
    if vpc_id is not None and (not isinstance(vpc_id, str) or not _VPC_ID.match(vpc_id)):
        raise InvalidInputError(f"not a VPC id (expected vpc-<8 or 17 hex digits>): {vpc_id!r}")
    ips = _strings("private_ips", private_ips)
    for ip in ips or ():
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise InvalidInputError(f"not an IPv4 address in private_ips: {ip!r}") from None
    tag_selector: dict[str, tuple[str, ...] | None] | None = None
    if tags is not None:
        if not isinstance(tags, Mapping) or not tags:
            raise InvalidInputError("tags must be a non-empty mapping of tag key to value(s)")
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
    return _Selection(
        instance_ids=frozenset(ids) if ids is not None else None,
        tags=tag_selector,
        vpc_id=vpc_id,
        private_ips=frozenset(ips) if ips is not None else None,
    )


class Ec2Discovery:
    """Discover EC2 instances in one region, with every fact readiness and migration need.

    The constructor does no I/O. Give a ready ``boto3.Session`` (its region is used), or ready
    clients; with neither, a default ``boto3.Session()`` is created on first use. Clients are
    created with botocore's *standard* retry mode; pass ``config`` to add or override settings.

    Example:
        >>> discovery = Ec2Discovery(boto3.Session(region_name="eu-west-1"))
        >>> machines = discovery.discover(tags={"Migrate": "wave-1"})

    Args:
        session: The boto3 session to create clients from.
        ec2_client: A ready EC2 client (``config`` is then not applied to it).
        ssm_client: A ready SSM client. Without it (and without a session) SSM is not asked.
        config: botocore ``Config`` merged over ec2asr's default (standard retries).
        page_size: ``DescribeInstances`` page size, 5 to 1000.

    Raises:
        InvalidInputError: ``page_size`` is out of range.
    """

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        ec2_client: Any | None = None,
        ssm_client: Any | None = None,
        config: Config | None = None,
        page_size: int = 1000,
    ) -> None:
        if not 5 <= page_size <= 1000:
            raise InvalidInputError(f"page_size must be between 5 and 1000, not {page_size}")
        self._session = session
        self._ec2 = ec2_client
        self._ssm = ssm_client
        self._ssm_given = ssm_client is not None
        self._config = _boto.client_config(config)
        self._page_size = page_size

    def __repr__(self) -> str:
        return f"Ec2Discovery(region={self.region!r})" if self._ec2 else "Ec2Discovery()"

    def _get_session(self) -> boto3.Session:
        if self._session is None:
            import boto3

            self._session = boto3.Session()
        return self._session

    @property
    def ec2(self) -> Any:
        """The EC2 client (created from the session on first use)."""
        if self._ec2 is None:
            self._ec2 = self._get_session().client("ec2", config=self._config)
        return self._ec2

    @property
    def region(self) -> str:
        """The region discovery looks in."""
        return str(self.ec2.meta.region_name)

    def _ssm_client(self) -> Any | None:
        if self._ssm is None and (self._session is not None or self._ec2 is None):
            self._ssm = self._get_session().client(
                "ssm", region_name=self.region, config=self._config
            )
        return self._ssm

    def discover(
        self,
        *,
        instance_ids: Iterable[str] | None = None,
        tags: TagSelector | None = None,
        vpc_id: str | None = None,
        private_ips: Iterable[str] | None = None,
        os_overrides: Mapping[str, str | OsInfo] | None = None,
    ) -> list[SourceMachine]:
        """Describe the selected instances; selectors combine (AND).

        With no selector every instance of the region is returned. Terminated and
        shutting-down instances are never returned (asked for by id, they count as not found).
        With ``instance_ids`` the other selectors narrow what was found without making the ids
        "missing". ``private_ips`` match each instance's primary private IPv4 address.

        Args:
            instance_ids: Exactly these instances; every one must exist.
            tags: Tag selector, see :data:`TagSelector`.
            vpc_id: Only instances in this VPC.
            private_ips: Only instances with one of these primary private IPv4 addresses.
            os_overrides: Per instance id, the OS as the caller knows it (``"rhel 8.6"`` or an
                :class:`~ec2asr.OsInfo`); beats every other source.

        Returns:
            The machines sorted by instance id.

        Raises:
            InvalidInputError: A selector or override is malformed (before any AWS call).
            InstancesNotFoundError: Some ``instance_ids`` do not exist (or are terminated);
                ``missing_ids`` lists exactly which.
            AwsPermissionError: The identity may not call a required ``ec2:Describe*`` action.
            AwsThrottlingError: AWS kept throttling after botocore's retries.
            AwsError: Any other AWS failure.
        """
        selection = _validate(instance_ids, tags, vpc_id, private_ips, os_overrides)
        region = self.region
        found = [
            instance
            for reservation in _boto.paginate(
                self.ec2,
                "describe_instances",
                "Reservations",
                page_size=self._page_size,
                Filters=selection.server_filters(),
            )
            for instance in reservation.get("Instances", ())
            if (instance.get("State") or {}).get("Name") in LIVE_STATES
        ]
        if selection.instance_ids is not None:
            wanted = selection.instance_ids
            found = [i for i in found if i["InstanceId"] in wanted]
            missing = wanted - {i["InstanceId"] for i in found}
            if missing:
                raise InstancesNotFoundError(missing, region=region)
        instances = sorted(
            {i["InstanceId"]: i for i in found if selection.matches(i)}.values(),
            key=lambda i: str(i["InstanceId"]),
        )
        overrides = dict(os_overrides or {})
        unused = set(overrides) - {i["InstanceId"] for i in instances}
        if unused:
            logger.warning("os_overrides for instances not discovered: %s", sorted(unused))
        if not instances:
            logger.info("discovered no EC2 instances in %s", region)
            return []

        images, image_mappings = self._images({i["ImageId"] for i in instances if i.get("ImageId")})
        volumes = self._volumes(instances)
        types = self._instance_types({i["InstanceType"] for i in instances})
        groups = self._security_groups(instances)
        ssm = self._ssm_statuses([i["InstanceId"] for i in instances])
        machines = [
            build_machine(
                instance,
                region=region,
                image=images.get(instance.get("ImageId", ""))
                or ImageInfo.missing(instance.get("ImageId", "")),
                image_mappings=image_mappings.get(instance.get("ImageId", ""), ()),
                volumes_by_id=volumes,
                instance_type=InstanceTypeInfo.from_boto(types[instance["InstanceType"]])
                if instance["InstanceType"] in types
                else InstanceTypeInfo.unknown(instance["InstanceType"]),
                instance_type_raw=types.get(instance["InstanceType"]),
                security_groups=groups,
                ssm=ssm(instance["InstanceId"]),
                os_override=overrides.get(instance["InstanceId"]),
            )
            for instance in instances
        ]
        logger.info("discovered %d EC2 instances in %s", len(machines), region)
        return machines

    def _images(
        self, image_ids: set[str]
    ) -> tuple[dict[str, ImageInfo], dict[str, Sequence[Mapping[str, Any]]]]:
        images: dict[str, ImageInfo] = {}
        mappings: dict[str, Sequence[Mapping[str, Any]]] = {}
        for chunk in _boto.chunked(sorted(image_ids), _boto.FILTER_VALUES_LIMIT):
            # A filter (not ImageIds=) so that a deregistered AMI is simply absent.
            for raw in _boto.paginate(
                self.ec2,
                "describe_images",
                "Images",
                Filters=[{"Name": "image-id", "Values": chunk}],
                IncludeDeprecated=True,
            ):
                images[raw["ImageId"]] = ImageInfo.from_boto(raw)
                mappings[raw["ImageId"]] = raw.get("BlockDeviceMappings") or ()
        for image_id in image_ids - images.keys():
            logger.info("AMI %s is no longer described (deregistered or not shared)", image_id)
        return images, mappings

    def _volumes(self, instances: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
        with_ebs = [
            i["InstanceId"]
            for i in instances
            if any(m.get("Ebs") for m in i.get("BlockDeviceMappings") or ())
        ]
        if not with_ebs:
            return {}
        if len(with_ebs) <= _boto.FILTER_VALUES_LIMIT:
            filters = [{"Name": "attachment.instance-id", "Values": with_ebs}]
        else:
            # Beyond one filter's worth, one sweep of the region costs fewer calls than
            # one call per 200 instances, and the join below ignores other volumes.
            filters = [{"Name": "attachment.status", "Values": ["attached", "attaching"]}]
        raw = _boto.paginate(self.ec2, "describe_volumes", "Volumes", Filters=filters)
        return {v["VolumeId"]: v for v in raw}

    def _instance_types(self, names: set[str]) -> dict[str, Mapping[str, Any]]:
        types: dict[str, Mapping[str, Any]] = {}
        for chunk in _boto.chunked(sorted(names), _TYPES_PER_CALL):
            for raw in _boto.paginate(
                self.ec2,
                "describe_instance_types",
                "InstanceTypes",
                page_size=_TYPES_PER_CALL,
                Filters=[{"Name": "instance-type", "Values": chunk}],
            ):
                types[raw["InstanceType"]] = raw
        return types

    def _security_groups(self, instances: Sequence[Mapping[str, Any]]) -> dict[str, SecurityGroup]:
        ids = sorted(
            {
                group["GroupId"]
                for instance in instances
                for eni in instance.get("NetworkInterfaces") or ()
                for group in eni.get("Groups") or ()
            }
            | {g["GroupId"] for i in instances for g in i.get("SecurityGroups") or ()}
        )
        groups: dict[str, SecurityGroup] = {}
        for chunk in _boto.chunked(ids, _boto.FILTER_VALUES_LIMIT):
            for raw in _boto.paginate(
                self.ec2,
                "describe_security_groups",
                "SecurityGroups",
                Filters=[{"Name": "group-id", "Values": chunk}],
            ):
                groups[raw["GroupId"]] = SecurityGroup.from_boto(raw)
        return groups

    def _ssm_statuses(self, instance_ids: Sequence[str]) -> Callable[[str], SsmStatus]:
        client = self._ssm_client()
        if client is None:
            unavailable = SsmStatus(
                available=False,
                reason="no SSM client: pass ssm_client= (or a session) to Ec2Discovery",
            )
            return lambda _id: unavailable
        sweep = [{"Key": "ResourceType", "Values": ["EC2Instance"]}]
        try:
            if len(instance_ids) <= _SSM_FILTER_LIMIT:
                try:
                    infos = _ssm_pages(
                        client, [{"Key": "InstanceIds", "Values": list(instance_ids)}]
                    )
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "InvalidInstanceId":
                        raise
                    # Some ids are no managed nodes and SSM refused the filter: sweep instead.
                    infos = _ssm_pages(client, sweep)
            else:
                infos = _ssm_pages(client, sweep)
        except (ClientError, BotoCoreError) as exc:
            reason = _ssm_unavailable_reason(exc)
            logger.warning("AWS Systems Manager unavailable, OS facts come from EC2: %s", reason)
            unavailable = SsmStatus(available=False, reason=reason)
            return lambda _id: unavailable
        not_managed = SsmStatus(available=True, managed=False, reason=NOT_MANAGED_REASON)
        return lambda instance_id: infos.get(instance_id, not_managed)


def _ssm_pages(client: Any, filters: list[dict[str, Any]]) -> dict[str, SsmStatus]:
    paginator = client.get_paginator("describe_instance_information")
    infos: dict[str, SsmStatus] = {}
    for page in paginator.paginate(
        Filters=filters, PaginationConfig={"PageSize": _SSM_FILTER_LIMIT}
    ):
        for item in page.get("InstanceInformationList", ()):
            infos[item["InstanceId"]] = ssm_status_from_boto(item)
    return infos


def _ssm_unavailable_reason(exc: ClientError | BotoCoreError) -> str:
    action = "ssm:DescribeInstanceInformation"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code") or "error"
        if code in _boto.PERMISSION_CODES:
            return f"not authorised: {action} was refused ({code})"
        return str(_boto.translate_client_error(exc, action=action))
    return f"{action} failed: {exc}"
