"""Seed a sandbox with a source network, a replication appliance and a fleet of EC2 instances.

Instances are launched through the EC2 API of the sandbox (one ``RunInstances`` per profile and
subnet, ``MinCount = MaxCount``). Three things go straight to moto's in-process backend because
its API cannot do them or would need one call per instance: unique ``Name`` tags,
provisioned-IOPS (io1) volumes (moto's ``RunInstances`` drops ``Iops``), and restoring a
deregistered golden AMI before launching from it again.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from ec2asr.errors import InvalidInputError
from ec2asr.testing import _moto
from ec2asr.testing._network import (
    APPLIANCE_NAME,
    Network,
    create_network,
    ebs_mapping,
    tag_spec,
)
from ec2asr.testing.profiles import DEFAULT_PROFILE_KEYS, PROFILES, FleetProfile

__all__ = [
    "FleetSeeder",
    "SeededAppliance",
    "SeededFleet",
    "SeededInstance",
    "allocate",
]

APPLIANCE_AMI = "Windows_Server-2019-English-Full-Base-2023.06.14"


@attrs.frozen
class SeededInstance:
    """One source instance the sandbox launched.

    Attributes:
        instance_id: ``i-...``.
        name: Its unique ``Name`` tag (``sql-01``).
        profile: The :class:`~ec2asr.testing.profiles.FleetProfile` key it was made from.
        expected_verdict: The readiness verdict the fleet intends for it.
        private_ip: Its primary private IPv4 address.
        subnet_id: Its subnet.
        security_group_id: Its (only) security group.
        image_id: The AMI it was launched from.
        state: ``running`` or ``stopped``.
    """

    instance_id: str
    name: str
    profile: str
    expected_verdict: str
    private_ip: str
    subnet_id: str
    security_group_id: str
    image_id: str
    state: str


@attrs.frozen
class SeededAppliance:
    """The ASR replication appliance instance (Windows Server 2019, x86_64) in the source VPC.

    Its security group admits TCP 443 and 9443 from the VPC.
    """

    instance_id: str
    name: str
    private_ip: str
    subnet_id: str
    security_group_id: str


@attrs.frozen
class SeededFleet:
    """What one :meth:`Sandbox.seed_fleet <ec2asr.testing.Sandbox.seed_fleet>` call created.

    Iterating yields the source instances (not the appliance).

    Attributes:
        region: The region.
        vpc_id: The source VPC (``10.0.0.0/16``).
        subnet_ids: The source subnets (two zones).
        appliance: The replication appliance.
        security_groups: Security-group id per tier (``web``, ``app``, ``db``, ``linux``,
            ``restricted``, ``appliance``).
        instances: The source instances created by this call.
    """

    region: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    appliance: SeededAppliance
    security_groups: Mapping[str, str]
    instances: tuple[SeededInstance, ...]

    def __iter__(self) -> Iterator[SeededInstance]:
        return iter(self.instances)

    def __len__(self) -> int:
        return len(self.instances)

    @property
    def instance_ids(self) -> tuple[str, ...]:
        """Every source instance id, in launch order."""
        return tuple(i.instance_id for i in self.instances)

    @property
    def expected_verdicts(self) -> dict[str, str]:
        """Intended verdict per instance id."""
        return {i.instance_id: i.expected_verdict for i in self.instances}

    def by_profile(self, key: str) -> tuple[SeededInstance, ...]:
        """The instances made from one profile."""
        return tuple(i for i in self.instances if i.profile == key)

    def instance(self, profile: str) -> SeededInstance:
        """The first instance made from a profile.

        Raises:
            KeyError: This fleet holds no instance of that profile.
        """
        for seeded in self.instances:
            if seeded.profile == profile:
                return seeded
        raise KeyError(profile)


def allocate(n: int, weights: Sequence[int]) -> list[int]:
    """Split ``n`` instances over profiles by weight; each gets one first when ``n`` allows.

    Largest-remainder rounding: deterministic, and the counts always sum to ``n``.
    """
    counts = [1] * len(weights) if n >= len(weights) else [0] * len(weights)
    rest = n - sum(counts)
    total = sum(weights)
    quotas = [rest * w / total for w in weights]
    floors = [math.floor(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (floors[i] - quotas[i], i))
    for i in order[: rest - sum(floors)]:
        floors[i] += 1
    return [c + f for c, f in zip(counts, floors, strict=True)]


class FleetSeeder:
    """Creates the sandbox's source estate through an EC2 client (one per sandbox).

    Args:
        ec2: A boto3 EC2 client of the sandbox.
        backend: Returns moto's in-process EC2 backend of the sandbox.
        region: The region.
    """

    def __init__(self, ec2: Any, *, backend: Callable[[], Any], region: str) -> None:
        self._ec2 = ec2
        self._backend = backend
        self._region = region
        self._catalogue = {ami["name"]: ami for ami in _moto.load_catalogue()}
        self._network: Network | None = None
        self._counters: dict[str, int] = {}

    def seed(self, n: int | None, *, profiles: Iterable[str] | None = None) -> SeededFleet:
        """Create the network and appliance (first call only) and ``n`` instances.

        Raises:
            InvalidInputError: ``n`` is below 1 or a profile key is unknown.
        """
        chosen = self._choose(n, profiles)
        counts = [1] * len(chosen) if n is None else allocate(n, [p.weight for p in chosen])
        network = self._ensure_network()
        created: list[SeededInstance] = []
        for fleet_profile, count in zip(chosen, counts, strict=True):
            if count:
                created.extend(self._launch(fleet_profile, count, network))
        stopped = [i.instance_id for i in created if i.state == "stopped"]
        if stopped:
            self._ec2.stop_instances(InstanceIds=stopped)
        for ami_name in {p.ami_name for p in chosen if p.deregister_ami}:
            self._ec2.deregister_image(ImageId=self._catalogue[ami_name]["ami_id"])
        return SeededFleet(
            region=self._region,
            vpc_id=network.vpc_id,
            subnet_ids=tuple(s for s, _ in network.subnets),
            appliance=SeededAppliance(
                instance_id=network.appliance_id,
                name=APPLIANCE_NAME,
                private_ip=network.appliance_ip,
                subnet_id=network.management_subnet_id,
                security_group_id=network.groups["appliance"],
            ),
            security_groups=dict(network.groups),
            instances=tuple(created),
        )

    @staticmethod
    def _choose(n: int | None, keys: Iterable[str] | None) -> list[FleetProfile]:
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise InvalidInputError(f"n must be a positive number of instances, not {n!r}")
        if keys is not None:
            wanted = list(dict.fromkeys(keys))
            known = {p.key for p in PROFILES}
            unknown = [k for k in wanted if k not in known]
            if unknown or not wanted:
                raise InvalidInputError(
                    f"unknown fleet profiles {unknown}; known: {sorted(known)}"
                    if unknown
                    else "profiles is empty"
                )
            return [p for p in PROFILES if p.key in wanted]
        if n is None:
            return [p for p in PROFILES if p.key in DEFAULT_PROFILE_KEYS]
        return list(PROFILES)

    def _ensure_network(self) -> Network:
        if self._network is None:
            self._network = create_network(self._ec2, self._region, self._catalogue[APPLIANCE_AMI])
        return self._network

    def _launch(
        self, fleet_profile: FleetProfile, count: int, network: Network
    ) -> list[SeededInstance]:
        ami = self._catalogue[fleet_profile.ami_name]
        self._ensure_image(ami)
        ebs = [
            ebs_mapping(d.device or ami["root_device_name"], d.size_gib, d.volume_type, d.encrypted)
            for d in fleet_profile.disks
            if d.iops is None
        ]
        provisioned = [d for d in fleet_profile.disks if d.iops is not None]
        tags = {
            "Environment": "prod",
            "Application": fleet_profile.application,
            "Owner": "platform-team",
            "MigrationWave": "wave-1",
            **dict(fleet_profile.tags),
        }
        group_id = network.groups[fleet_profile.tier]
        halves = [(count + 1) // 2, count // 2]
        backend = self._backend()
        created: list[SeededInstance] = []
        for (subnet_id, zone), size in zip(network.subnets, halves, strict=True):
            if not size:
                continue
            reservation = self._ec2.run_instances(
                ImageId=ami["ami_id"],
                InstanceType=fleet_profile.instance_type,
                MinCount=size,
                MaxCount=size,
                SubnetId=subnet_id,
                SecurityGroupIds=[group_id],
                BlockDeviceMappings=ebs,
                TagSpecifications=[tag_spec("instance", tags)],
            )
            for instance in reservation["Instances"]:
                name = self._next_name(fleet_profile.name_prefix)
                backend.create_tags([instance["InstanceId"]], {"Name": name})
                for disk in provisioned:
                    volume = backend.create_volume(
                        size=disk.size_gib,
                        zone_name=zone,
                        volume_type=disk.volume_type,
                        iops=disk.iops,
                        encrypted=disk.encrypted,
                    )
                    backend.attach_volume(volume.id, instance["InstanceId"], disk.device)
                created.append(
                    SeededInstance(
                        instance_id=instance["InstanceId"],
                        name=name,
                        profile=fleet_profile.key,
                        expected_verdict=fleet_profile.verdict,
                        private_ip=instance["PrivateIpAddress"],
                        subnet_id=subnet_id,
                        security_group_id=group_id,
                        image_id=ami["ami_id"],
                        state=fleet_profile.state,
                    )
                )
        return created

    def _ensure_image(self, ami: Mapping[str, Any]) -> None:
        """Put a catalogue AMI back into the backend if an earlier call deregistered it."""
        backend = self._backend()
        if ami["ami_id"] in backend.amis:
            return
        from moto.ec2.models.amis import Ami

        entry = copy.deepcopy(dict(ami))
        entry["creation_date"] = datetime.fromisoformat(
            entry["creation_date"].replace("Z", "+00:00")
        )
        backend.amis[ami["ami_id"]] = Ami(backend, **entry)
        if ami["ami_id"] in backend.deleted_amis:
            backend.deleted_amis.remove(ami["ami_id"])

    def _next_name(self, prefix: str) -> str:
        number = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = number
        return f"{prefix}-{number:02d}"
