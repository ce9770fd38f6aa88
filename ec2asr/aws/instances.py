"""Stopping, starting and tagging EC2 instances for cutover — never terminating them.

ASR cannot shut down AWS machines, so ec2asr stops the source itself before failing over. This
module is the only place ec2asr changes an instance's power state; it has no way to terminate
one, on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ec2asr.aws._boto import action_name, chunked, paginate, translate_errors
from ec2asr.errors import InvalidInputError

__all__ = ["InstanceControl"]

_MAX_IDS = 200


def _ids(instance_ids: Iterable[str]) -> list[str]:
    ids = sorted(set(instance_ids))
    bad = [i for i in ids if not isinstance(i, str) or not i.startswith("i-")]
    if bad:
        raise InvalidInputError(f"not EC2 instance ids: {', '.join(map(repr, bad))}")
    return ids


class InstanceControl:
    """Batched power and tag operations on EC2 instances.

    Args:
        ec2_client: A boto3 EC2 client.
    """

    def __init__(self, ec2_client: Any) -> None:
        self._ec2 = ec2_client

    def states(self, instance_ids: Iterable[str]) -> dict[str, str]:
        """Return ``{instance_id: state}`` (``running``, ``stopping``, ``stopped`` ...).

        One paginated ``DescribeInstances`` per 200 ids; unknown ids are simply absent.

        Raises:
            InvalidInputError: A value is not an instance id.
            AwsError: AWS refused or failed the call.
        """
        out: dict[str, str] = {}
        for chunk in chunked(_ids(instance_ids), _MAX_IDS):
            reservations = paginate(
                self._ec2,
                "describe_instances",
                "Reservations",
                Filters=[{"Name": "instance-id", "Values": chunk}],
            )
            for reservation in reservations:
                for instance in reservation.get("Instances", ()):
                    out[instance["InstanceId"]] = instance["State"]["Name"]
        return out

    def stop(self, instance_ids: Iterable[str]) -> dict[str, str]:
        """Stop instances (idempotent: stopping a stopped instance is fine); return new states.

        Raises:
            InvalidInputError: A value is not an instance id.
            AwsError: AWS refused or failed the call.
        """
        return self._power("stop_instances", "StopInstances", instance_ids)

    def start(self, instance_ids: Iterable[str]) -> dict[str, str]:
        """Start instances again (after a rollback); return new states.

        Raises:
            InvalidInputError: A value is not an instance id.
            AwsError: AWS refused or failed the call.
        """
        return self._power("start_instances", "StartInstances", instance_ids)

    def _power(self, method: str, operation: str, instance_ids: Iterable[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        ids = _ids(instance_ids)
        action = action_name(self._ec2, operation)
        for chunk in chunked(ids, _MAX_IDS):
            with translate_errors(action):
                answer = getattr(self._ec2, method)(InstanceIds=chunk)
            key = "StoppingInstances" if method == "stop_instances" else "StartingInstances"
            for item in answer.get(key, ()):
                out[item["InstanceId"]] = item["CurrentState"]["Name"]
        return out

    def tag(self, instance_id: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite tags on one instance.

        Raises:
            InvalidInputError: Not an instance id, or no tags.
            AwsError: AWS refused or failed the call.
        """
        (iid,) = _ids([instance_id])
        if not tags:
            raise InvalidInputError("no tags to set")
        with translate_errors(action_name(self._ec2, "CreateTags")):
            self._ec2.create_tags(
                Resources=[iid], Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())]
            )
