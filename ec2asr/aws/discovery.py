"""Find EC2 instances and describe everything a migration needs to know about them.

:class:`Ec2Discovery` is read-only: it only calls ``Describe*`` operations. The number of AWS
calls does not grow with the number of instances beyond pagination: one paginated
``DescribeInstances``, then one batched call each for images, volumes, instance types, security
groups and SSM instance information.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ec2asr._validate import check_int, shown
from ec2asr.aws import _boto
from ec2asr.aws._machine import NOT_MANAGED_REASON, build_machine, ssm_status_from_boto
from ec2asr.aws._selection import LIVE_STATES, TagSelector, validate
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

_SSM_FILTER_LIMIT = 50
_TYPES_PER_CALL = 100


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
        InvalidInputError: ``page_size`` is out of range, or an argument is not what it should
            be (a session without ``client()``, a client of another service, a config that is
            not a botocore ``Config``).
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
        check_int("page_size", page_size, minimum=5, maximum=1000)
        if session is not None and not callable(getattr(session, "client", None)):
            raise InvalidInputError(f"session must be a boto3.Session, not {shown(session)}")
        for label, client, operation in (
            ("ec2_client", ec2_client, "describe_instances"),
            ("ssm_client", ssm_client, "describe_instance_information"),
        ):
            if client is not None and not callable(getattr(client, operation, None)):
                raise InvalidInputError(
                    f"{label} must be a boto3 {label[:3].upper()} client, not {shown(client)}"
                )
        if config is not None and not isinstance(config, Config):
            raise InvalidInputError(f"config must be a botocore Config, not {shown(config)}")
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
    def ec2_client(self) -> Any:
        """The boto3 EC2 client (other parts of ec2asr reuse it: stop/start/tag, leases)."""
        return self.ec2

    @property
    def ssm_client(self) -> Any | None:
        """The boto3 SSM client, or None when discovery was given an EC2 client only."""
        return self._ssm_client()

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
        selection = validate(instance_ids, tags, vpc_id, private_ips, os_overrides)
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
