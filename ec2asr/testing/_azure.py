"""The sandbox's glue between its AWS half (moto) and its Azure half (the ASR emulator).

* :class:`SecurityGroupOracle` decides, from moto's in-process security groups, whether the
  appliance can push the Mobility agent to a source (Windows TCP 445, 135, 49152-65535; Linux
  TCP 22) and whether the source can reach the appliance (TCP 443 and 9443). Both ends count:
  the source's groups and the appliance's groups, ingress on one side and egress on the other.
  It is deliberately independent of ec2asr's own network analysis, so the sandbox is an oracle.
  NACLs and route tables are not evaluated (the sandbox's VPC has the default open NACL). It
  also tells the emulator whether each source instance runs (its state in moto).
* :func:`machine_spec` describes an EC2 instance as the appliance would discover it.
* :class:`AgentBridge` watches SSM Run Command in moto: a command that runs the modernized
  Mobility installer and configurator with the appliance's configuration (fetched from Parameter
  Store) registers the machine; otherwise the reason is logged and the invocation is marked
  ``Failed`` with the configurator's error.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ec2asr.testing.emulator import (
    ApplianceInfo,
    AsrEmulator,
    DiskSpec,
    MachineSpec,
    Reachability,
)
from ec2asr.testing.emulator.mobility_commands import parse_mobility_script

__all__ = ["AgentBridge", "SecurityGroupOracle", "machine_spec"]

PUSH_PORTS = {"windows": ((445, 445), (135, 135), (49152, 65535)), "linux": ((22, 22),)}
REPLICATION_PORTS = ((443, 443), (9443, 9443))


def _label(ports: tuple[int, int]) -> str:
    return f"tcp/{ports[0]}" if ports[0] == ports[1] else f"tcp/{ports[0]}-{ports[1]}"


class SecurityGroupOracle:
    """A connectivity oracle over moto's security groups (see the module docstring).

    Args:
        backend: Returns moto's EC2 backend of the sandbox.
    """

    def __init__(self, backend: Callable[[], Any]) -> None:
        self._backend = backend
        self._instances: dict[str, Any] = {}

    def _instance(self, instance_id: str) -> Any:
        # moto changes an instance's state in place, so the object can be kept.
        instance = self._instances.get(instance_id)
        if instance is None:
            instance = self._backend().get_instance(instance_id)
            self._instances[instance_id] = instance
        return instance

    def _endpoint(self, instance_id: str | None, ip: str) -> tuple[list[Any], set[str], set[str]]:
        """Security groups, their ids and the private IPs of an instance (or of a bare IP)."""
        if instance_id is None:
            return [], set(), {ip}
        instance = self._instance(instance_id)
        groups: dict[str, Any] = {}
        ips: set[str] = set()
        for nic in instance.nics.values():
            for group in nic.group_set:
                groups[group.id] = group
            ips.add(nic.private_ip_address)
            for extra in getattr(nic, "private_ip_addresses", None) or []:
                if isinstance(extra, dict) and extra.get("PrivateIpAddress"):
                    ips.add(extra["PrivateIpAddress"])
        return list(groups.values()), set(groups), ips

    @staticmethod
    def _covers(
        rules: Iterable[Any], ports: tuple[int, int], peer_ips: set[str], peer_groups: set[str]
    ) -> bool:
        spans: list[tuple[int, int]] = []
        for rule in rules:
            protocol = str(rule.ip_protocol).lower()
            if protocol not in ("-1", "all", "tcp", "6"):
                continue
            cidr = (rule.ip_range or {}).get("CidrIp")
            group = (rule.source_group or {}).get("GroupId")
            matches = bool(group and group in peer_groups)
            if cidr and not matches:
                network = ipaddress.ip_network(cidr, strict=False)
                matches = any(ipaddress.ip_address(ip) in network for ip in peer_ips)
            if not matches:
                continue
            if protocol in ("-1", "all") or rule.from_port is None:
                return True
            spans.append((int(rule.from_port), int(rule.to_port)))
        cursor = ports[0]
        for start, end in sorted(spans):
            if start > cursor:
                break
            cursor = max(cursor, end + 1)
            if cursor > ports[1]:
                return True
        return False

    def _path(
        self,
        source: MachineSpec,
        appliance: ApplianceInfo,
        ports: Iterable[tuple[int, int]],
        *,
        inbound_to_source: bool,
    ) -> Reachability:
        src_groups, src_ids, src_ips = self._endpoint(source.instance_id, source.private_ips[0])
        src_ips |= set(source.private_ips)
        app_groups, app_ids, app_ips = self._endpoint(appliance.instance_id, appliance.private_ip)
        app_ids |= set(appliance.security_group_ids)
        missing: list[str] = []
        for span in ports:
            label = _label(span)
            if inbound_to_source:
                if not self._covers(
                    (r for g in src_groups for r in g.ingress_rules), span, app_ips, app_ids
                ):
                    missing.append(
                        f"{label}: {source.instance_id} does not admit the appliance "
                        f"{appliance.private_ip}"
                    )
                if app_groups and not self._covers(
                    (r for g in app_groups for r in g.egress_rules), span, src_ips, src_ids
                ):
                    missing.append(
                        f"{label}: the appliance's egress does not allow {source.instance_id}"
                    )
            else:
                if not self._covers(
                    (r for g in src_groups for r in g.egress_rules), span, app_ips, app_ids
                ):
                    missing.append(
                        f"{label}: {source.instance_id} egress does not allow the appliance "
                        f"{appliance.private_ip}"
                    )
                if app_groups and not self._covers(
                    (r for g in app_groups for r in g.ingress_rules), span, src_ips, src_ids
                ):
                    missing.append(f"{label}: the appliance does not admit {source.instance_id}")
        return Reachability(not missing, tuple(missing))

    def push_path(self, machine: MachineSpec, appliance: ApplianceInfo) -> Reachability:
        """Appliance -> source on the push-installation ports."""
        return self._path(machine, appliance, PUSH_PORTS[machine.os_type], inbound_to_source=True)

    def replication_path(self, machine: MachineSpec, appliance: ApplianceInfo) -> Reachability:
        """Source -> appliance on 443 and 9443."""
        return self._path(machine, appliance, REPLICATION_PORTS, inbound_to_source=False)

    def source_running(self, machine: MachineSpec) -> bool:
        """Whether the EC2 instance is ``running`` in moto (``pending``, ``stopping``,
        ``stopped`` and an instance moto no longer knows are not)."""
        from moto.ec2.exceptions import InvalidInstanceIdError

        try:
            return str(self._instance(machine.instance_id).state) == "running"
        except InvalidInstanceIdError:
            return False


_WINDOWS_BUILDS = {
    "2008 R2": "6.1.7601",
    "2012 R2": "6.3.9600",
    "2012": "6.2.9200",
    "2016": "10.0.14393",
    "2019": "10.0.17763",
    "2022": "10.0.20348",
    "2025": "10.0.26100",
}


def _os(image: dict[str, Any], platform: str | None) -> tuple[str, str, str]:
    """(os_type, os_name, os_version) as the agent would report them, from the AMI."""
    name = str(image.get("Name") or "")
    description = str(image.get("Description") or "")
    text = f"{name} {description}"
    if (platform or image.get("Platform") or "").lower() == "windows" or "windows" in text.lower():
        for release, build in _WINDOWS_BUILDS.items():
            if re.search(rf"{release.replace(' ', '[ _-]')}\b", text):
                return "windows", f"Windows Server {release} Datacenter", build
        return "windows", "Windows Server", "10.0"
    patterns = [
        (r"RHEL-(\d+)\.(\d+)", "Red Hat Enterprise Linux {0}.{1}", "{0}.{1}"),
        (r"ubuntu-\w+-(\d+\.\d+)", "Ubuntu {0} LTS", "{0}"),
        (r"suse-sles-(\d+)-sp(\d+)", "SUSE Linux Enterprise Server {0} SP{1}", "{0} SP{1}"),
        (r"CentOS Linux (\d+)", "CentOS Linux {0}", "{0}"),
        (r"OL(\d+)\.(\d+)", "Oracle Linux {0}.{1}", "{0}.{1}"),
        (r"debian-(\d+)", "Debian {0}", "{0}"),
        (r"al2023", "Amazon Linux 2023", "2023"),
        (r"amzn2", "Amazon Linux 2", "2"),
    ]
    for pattern, os_name, version in patterns:
        found = re.search(pattern, name, re.IGNORECASE)
        if found:
            return "linux", os_name.format(*found.groups()), version.format(*found.groups())
    return "linux", description or name or "Linux", ""


def machine_spec(ec2: Any, instance_id: str) -> MachineSpec:
    """Describe an EC2 instance (through the sandbox's EC2 API) as the appliance discovers it."""
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    instance = reservations[0]["Instances"][0]
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    ips = [
        address["PrivateIpAddress"]
        for eni in instance.get("NetworkInterfaces", [])
        for address in eni.get("PrivateIpAddresses", [])
    ] or [instance["PrivateIpAddress"]]
    images = ec2.describe_images(ImageIds=[instance["ImageId"]]).get("Images", [])
    image = images[0] if images else {}
    os_type, os_name, os_version = _os(image, instance.get("Platform"))
    volume_ids = [
        m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m
    ]
    sizes = {}
    if volume_ids:
        sizes = {
            v["VolumeId"]: v["Size"] for v in ec2.describe_volumes(VolumeIds=volume_ids)["Volumes"]
        }
    root = instance.get("RootDeviceName")
    disks = [
        DiskSpec(sizes.get(m["Ebs"]["VolumeId"], 8), m["DeviceName"], is_os=m["DeviceName"] == root)
        for m in instance.get("BlockDeviceMappings", [])
        if "Ebs" in m
    ]
    boot = str(instance.get("BootMode") or image.get("BootMode") or "legacy-bios")
    region = str(instance.get("Placement", {}).get("AvailabilityZone", "local"))[:-1] or "local"
    hostname = tags.get("Name") or instance.get("PrivateDnsName", "").split(".")[0] or instance_id
    return MachineSpec(
        instance_id=instance_id,
        hostname=hostname,
        private_ips=ips,
        os_type=os_type,
        os_name=os_name,
        os_version=os_version,
        disks=disks,
        fqdn=f"{hostname}.{region}.compute.internal",
        firmware="UEFI" if boot.startswith("uefi") else "BIOS",
    )


class AgentBridge:
    """Registers Mobility agents installed through SSM Run Command in moto.

    Args:
        emulator: The ASR emulator.
        ssm_backend: Returns moto's SSM backend of the sandbox.
        spec_for: Describes an instance (see :func:`machine_spec`).
    """

    def __init__(
        self,
        emulator: AsrEmulator,
        ssm_backend: Callable[[], Any],
        spec_for: Callable[[str], MachineSpec],
    ) -> None:
        self._emulator = emulator
        self._ssm = ssm_backend
        self._spec_for = spec_for
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def after_moto_request(self, environ: dict[str, Any]) -> None:
        """moto answered a request: register agents installed by a new ``SendCommand``.

        moto adds every instance of the account to a command sent with ``InstanceIds`` only (it
        expands the empty ``Targets`` to all instances); the request body says which instances
        the command really ran on.
        """
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith("AmazonSSM."):
            return
        requested: set[str] | None = None
        if target == "AmazonSSM.SendCommand":
            try:
                body = json.loads(environ.get("ec2asr.body") or b"{}")
            except ValueError:
                body = {}
            if not body.get("Targets"):
                requested = set(body.get("InstanceIds") or [])
        self.sync(requested)

    def sync(self, requested: set[str] | None = None) -> None:
        """Process every Run Command not seen yet (cheap when there is none)."""
        with self._lock:
            backend = self._ssm()
            for command in list(getattr(backend, "_commands", [])):
                if command.command_id in self._seen:
                    continue
                self._seen.add(command.command_id)
                self._process(backend, command, requested)

    def _process(self, backend: Any, command: Any, requested: set[str] | None) -> None:
        commands = (command.parameters or {}).get("commands") or []
        script = parse_mobility_script(str(command.document_name), [str(c) for c in commands])
        if not script.relevant:
            return
        for invocation in command.invocations:
            instance_id = invocation["InstanceId"]
            if requested is not None and instance_id not in requested:
                continue
            spec = self._spec_for(instance_id)
            if script.problems:
                reason = "; ".join(script.problems)
                self._emulator.record_registration(
                    instance_id, "manual", False, reason, self._emulator.now(), command.command_id
                )
                self._fail(command, invocation, reason)
                continue
            value = None
            parameter = (
                backend.get_parameter(script.parameter_name) if script.parameter_name else None
            )
            if parameter is not None:
                value = (
                    parameter.decrypt(parameter.value)
                    if parameter.parameter_type == "SecureString"
                    else parameter.value
                )
            event = self._emulator.run_configurator(spec, value, command_id=command.command_id)
            if parameter is None:
                event_reason = f"the parameter {script.parameter_name} does not exist"
                self._fail(command, invocation, event_reason)
            elif not event.registered:
                self._fail(command, invocation, event.reason)

    @staticmethod
    def _fail(command: Any, invocation: dict[str, Any], reason: str) -> None:
        invocation.update(
            {
                "Status": "Failed",
                "StatusDetails": "Failed",
                "ResponseCode": 1,
                "StandardErrorContent": f"UnifiedAgentConfigurator: registration failed: {reason}",
            }
        )
        command.status = "Failed"
        command.status_details = "Failed"
        command.error_count = sum(1 for i in command.invocations if i["Status"] == "Failed")
