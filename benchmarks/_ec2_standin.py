"""``--emulator-only``: EC2 without moto for large fleets.

Measured before it was written (2 vCPUs shared with other jobs): moto seeds 1,000 instances in
5 s and 3,000 in 15 s, but 10,000 do not fit the sandbox's two /20 workload subnets (moto runs
out of addresses after about 8,180), and with wider subnets one ``RunInstances`` of 2,350
instances outlasted botocore's 60-s read timeout; ``DescribeInstances`` by 10,000 instance ids
timed out too (moto matches every instance against the id list, O(N^2)). moto, not the
migration, is the bottleneck at 10,000.

So with ``--emulator-only`` moto holds only one *template* instance per fleet profile (and the
network and the appliance), seeded as usual, and this stand-in, in the benchmark's process,
holds N clones of them: each clone is its template's ``DescribeInstances`` answer (and its
volumes') with a new instance id, Name tag, private address and volume ids, in the profile mix
``seed_fleet(n=N)`` would make. The migrating process's EC2 calls reach it over the child's
socket pair (``("aws", service, operation, params)``), answered already parsed:

* about the clones (``DescribeInstances``, ``DescribeVolumes``, ``StopInstances``,
  ``StartInstances``, ``CreateTags``): answered here, from dictionaries;
* everything else (images, instance types, security groups, network interfaces and ACLs, SSM):
  forwarded to moto, which holds those shared resources.

A clone keeps its template's subnet and security groups; its address is taken from
``10.0.64.0/18`` upward (inside the VPC, outside moto's subnets). The emulator judges every
network path open (the fleet is seeded with its egress to the appliance open) and asks this
stand-in whether each source runs.

What this changes in the figures: the child's boto3 still builds every request but receives
parsed answers, so its CPU lacks botocore's XML parsing of the (few) EC2 answers, about 3 calls
per machine; ARM, the emulator and the migration are the same.
"""

from __future__ import annotations

import copy
import ipaddress
import itertools
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import botocore
from botocore.exceptions import ClientError

from ec2asr.testing import Sandbox
from ec2asr.testing.emulator import Reachability
from ec2asr.testing.fleet import PROFILES as FLEET_PROFILES
from ec2asr.testing.fleet import allocate

__all__ = ["Ec2StandIn", "StandInConnectivity", "seed_emulator_only"]

CLONE_ADDRESSES = ipaddress.ip_network("10.0.64.0/18")
RUNNING, STOPPING, STOPPED = (
    {"Code": 16, "Name": "running"},
    {"Code": 64, "Name": "stopping"},
    {"Code": 80, "Name": "stopped"},
)


def _error(code: str, message: str, status: int = 400) -> tuple[int, dict[str, Any]]:
    return status, {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


def _filter_values(params: Mapping[str, Any], name: str) -> set[str] | None:
    for f in params.get("Filters") or ():
        if f.get("Name") == name:
            return set(f.get("Values") or ())
    return None


def _check_filters(params: Mapping[str, Any], known: Iterable[str]) -> None:
    unknown = {f.get("Name") for f in params.get("Filters") or ()} - set(known)
    if unknown:
        raise NotImplementedError(f"the EC2 stand-in does not filter on {sorted(unknown)}")


class Ec2StandIn:
    """N clones of the template instances (see the module docstring)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        session = sandbox.new_aws_session()
        self._clients = {"ec2": session.client("ec2"), "ssm": session.client("ssm")}
        self.instances: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.images: dict[str, dict[str, Any]] = {}
        self._by_instance: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    # -- building the fleet ------------------------------------------------------------------

    def clone(self, templates: Mapping[str, str], counts: Mapping[str, int]) -> list[str]:
        """Make ``counts[profile]`` clones of each template instance; returns their ids."""
        ec2 = self._clients["ec2"]
        ids = list(templates.values())
        described = {
            i["InstanceId"]: i
            for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]
            for i in r["Instances"]
        }
        volumes = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": ids}])
        by_template: dict[str, list[dict[str, Any]]] = {}
        for volume in volumes["Volumes"]:
            for attachment in volume.get("Attachments") or ():
                by_template.setdefault(attachment["InstanceId"], []).append(volume)
        image_ids = sorted({i["ImageId"] for i in described.values()})
        self.images = {i["ImageId"]: i for i in ec2.describe_images(ImageIds=image_ids)["Images"]}
        addresses = itertools.islice(CLONE_ADDRESSES.hosts(), 1, None)
        prefixes = {p.key: p.name_prefix for p in FLEET_PROFILES}
        numbers: dict[str, int] = {}
        made: list[str] = []
        for profile, template_id in templates.items():
            template = described[template_id]
            prefix = prefixes[profile]
            for _ in range(counts.get(profile, 0)):
                numbers[prefix] = numbers.get(prefix, 0) + 1
                made.append(
                    self._clone_one(
                        template,
                        by_template.get(template_id, []),
                        f"{prefix}-{numbers[prefix]:02d}",
                        str(next(addresses)),
                    )
                )
        return made

    def _clone_one(
        self, template: dict[str, Any], volumes: Sequence[dict[str, Any]], name: str, ip: str
    ) -> str:
        iid = "i-" + secrets.token_hex(9)[:17]
        instance = copy.deepcopy(template)
        old_ip = instance.get("PrivateIpAddress")
        instance.update(
            InstanceId=iid,
            PrivateIpAddress=ip,
            PrivateDnsName=f"ip-{ip.replace('.', '-')}.ec2.internal",
            State=dict(RUNNING),
        )
        instance["Tags"] = [t for t in instance.get("Tags", ()) if t["Key"] != "Name"]
        instance["Tags"].append({"Key": "Name", "Value": name})
        for nic in instance.get("NetworkInterfaces") or ():
            nic["NetworkInterfaceId"] = "eni-" + secrets.token_hex(9)[:17]
            if nic.get("PrivateIpAddress") == old_ip:
                nic["PrivateIpAddress"] = ip
            for address in nic.get("PrivateIpAddresses") or ():
                if address.get("PrivateIpAddress") == old_ip:
                    address["PrivateIpAddress"] = ip
        renamed: dict[str, str] = {}
        for volume in volumes:
            vid = "vol-" + secrets.token_hex(9)[:17]
            renamed[volume["VolumeId"]] = vid
            copied = copy.deepcopy(volume)
            copied["VolumeId"] = vid
            for attachment in copied.get("Attachments") or ():
                attachment.update(InstanceId=iid, VolumeId=vid)
            self.volumes[vid] = copied
        for mapping in instance.get("BlockDeviceMappings") or ():
            ebs = mapping.get("Ebs")
            if ebs and ebs.get("VolumeId") in renamed:
                ebs["VolumeId"] = renamed[ebs["VolumeId"]]
        self._by_instance[iid] = list(renamed.values())
        self.instances[iid] = instance
        return iid

    def running(self, instance_id: str) -> bool:
        """Whether the clone runs."""
        instance = self.instances.get(instance_id)
        return instance is not None and instance["State"]["Name"] == "running"

    # -- answering -----------------------------------------------------------------------------

    def handle(self, service: str, operation: str, params: dict[str, Any]) -> tuple[int, Any]:
        """Answer one call: ``(HTTP status, parsed body)``."""
        own = getattr(self, f"_{operation}", None) if service == "ec2" else None
        if own is not None:
            with self._lock:
                return own(params)  # type: ignore[no-any-return]
        client = self._clients[service]
        try:
            answer = getattr(client, botocore.xform_name(operation))(**params)
        except ClientError as exc:
            return int(exc.response["ResponseMetadata"].get("HTTPStatusCode", 400)), exc.response
        return 200, answer

    def _ids(self, params: Mapping[str, Any]) -> tuple[list[str] | None, list[str]]:
        """(the instances asked for, or None for all; unknown ids asked by InstanceIds)."""
        ids = params.get("InstanceIds")
        by_filter = _filter_values(params, "instance-id")
        if ids:
            return list(ids), [i for i in ids if i not in self.instances]
        if by_filter is not None:
            return [i for i in by_filter if i in self.instances], []
        return None, []

    def _DescribeInstances(self, params: dict[str, Any]) -> tuple[int, Any]:
        _check_filters(params, ("instance-id", "instance-state-name"))
        ids, unknown = self._ids(params)
        if unknown:
            return _error(
                "InvalidInstanceID.NotFound",
                f"The instance IDs '{', '.join(unknown)}' do not exist",
            )
        states = _filter_values(params, "instance-state-name")
        chosen = self.instances.values() if ids is None else [self.instances[i] for i in ids]
        reservations = [
            {"ReservationId": "r-" + i["InstanceId"][2:], "Groups": [], "Instances": [i]}
            for i in chosen
            if states is None or i["State"]["Name"] in states
        ]
        return 200, {"Reservations": copy.deepcopy(reservations)}

    def _DescribeVolumes(self, params: dict[str, Any]) -> tuple[int, Any]:
        _check_filters(params, ("attachment.instance-id", "attachment.status"))
        attached = _filter_values(params, "attachment.instance-id")
        status = _filter_values(params, "attachment.status")
        ids: list[str] = list(params.get("VolumeIds") or ())
        if attached is not None:
            ids += [v for i in attached for v in self._by_instance.get(i, ())]
        if not ids and attached is None:
            ids = list(self.volumes)
        chosen = [
            self.volumes[v]
            for v in ids
            if v in self.volumes
            and (
                status is None
                or any(a.get("State") in status for a in self.volumes[v].get("Attachments") or ())
            )
        ]
        return 200, {"Volumes": copy.deepcopy(chosen)}

    def _power(self, params: dict[str, Any], to: dict[str, Any], key: str) -> tuple[int, Any]:
        ids = list(params.get("InstanceIds") or ())
        unknown = [i for i in ids if i not in self.instances]
        if unknown:
            return _error(
                "InvalidInstanceID.NotFound",
                f"The instance IDs '{', '.join(unknown)}' do not exist",
            )
        changes = []
        for iid in ids:
            instance = self.instances[iid]
            previous = dict(instance["State"])
            instance["State"] = dict(to)
            current = STOPPING if to is STOPPED else to
            changes.append(
                {"InstanceId": iid, "CurrentState": dict(current), "PreviousState": previous}
            )
        return 200, {key: changes}

    def _StopInstances(self, params: dict[str, Any]) -> tuple[int, Any]:
        return self._power(params, STOPPED, "StoppingInstances")

    def _StartInstances(self, params: dict[str, Any]) -> tuple[int, Any]:
        return self._power(params, RUNNING, "StartingInstances")

    def _CreateTags(self, params: dict[str, Any]) -> tuple[int, Any]:
        resources = list(params.get("Resources") or ())
        if any(r not in self.instances for r in resources):
            return self.handle_forward("CreateTags", params)
        for iid in resources:
            tags = {t["Key"]: t for t in self.instances[iid].get("Tags", ())}
            for tag in params.get("Tags") or ():
                tags[tag["Key"]] = {"Key": tag["Key"], "Value": tag.get("Value", "")}
            self.instances[iid]["Tags"] = list(tags.values())
        return 200, {}

    def handle_forward(self, operation: str, params: dict[str, Any]) -> tuple[int, Any]:
        """Send an EC2 call to moto as it is."""
        try:
            return 200, getattr(self._clients["ec2"], botocore.xform_name(operation))(**params)
        except ClientError as exc:
            return int(exc.response["ResponseMetadata"].get("HTTPStatusCode", 400)), exc.response


class StandInConnectivity:
    """The emulator's connectivity oracle for clones: every path open, power from the stand-in."""

    def __init__(self, standin: Ec2StandIn) -> None:
        self._standin = standin

    def push_path(self, machine: Any, appliance: Any) -> Reachability:
        return Reachability(True, ())

    def replication_path(self, machine: Any, appliance: Any) -> Reachability:
        return Reachability(True, ())

    def source_running(self, machine: Any) -> bool:
        return self._standin.running(machine.instance_id)


def seed_emulator_only(sandbox: Sandbox, n: int, profiles: Sequence[str]) -> Ec2StandIn:
    """Seed one template per profile in moto and ``n`` clones in the stand-in, in the mix
    ``seed_fleet(n=n, profiles=profiles)`` makes; the emulator asks the stand-in about power."""
    templates: dict[str, str] = {}
    for key in profiles:
        fleet = sandbox.seed_fleet(n=1, profiles=[key])
        templates[key] = fleet.instance_ids[0]
    chosen = [p for p in FLEET_PROFILES if p.key in set(profiles)]
    counts = dict(
        zip([p.key for p in chosen], allocate(n, [p.weight for p in chosen]), strict=True)
    )
    standin = Ec2StandIn(sandbox)
    standin.clone(templates, counts)
    sandbox.emulator.set_connectivity_oracle(StandInConnectivity(standin))
    return standin
