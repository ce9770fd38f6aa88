"""Discovery benchmark: ec2asr's batched discovery vs a naive per-instance boto3 loop.

Seeds the sandbox with a realistic fleet (default 1,000 instances over ~20 AMIs), then, in the
same run and against the same moto server:

* **ec2asr**: ``Ec2Discovery(...).discover()``;
* **naive**: what users write with the boto3 *resource* API: list the instances, then per
  instance ``Instance.load()`` (DescribeInstances), ``Image.load()`` (DescribeImages), its
  volumes (DescribeVolumes), ``describe_instance_types`` and ``SecurityGroup.load()`` for each
  of its groups.

API calls are counted with botocore's ``before-call`` event hooks. Run::

    python benchmarks/discovery.py            # 1,000 instances
    python benchmarks/discovery.py -n 200     # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from typing import Any

import boto3
import moto

from ec2asr import __version__
from ec2asr.aws import Ec2Discovery
from ec2asr.testing import Sandbox

LIVE = [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]


def counted(client: Any, counter: Counter[str]) -> Any:
    def hook(model: Any, **_: Any) -> None:
        counter[model.name] += 1

    client.meta.events.register("before-call.*.*", hook)
    return client


def run_ec2asr(session: boto3.Session) -> tuple[int, Counter[str], float]:
    calls: Counter[str] = Counter()
    ec2 = counted(session.client("ec2"), calls)
    ssm = counted(session.client("ssm"), calls)
    start = time.perf_counter()
    machines = Ec2Discovery(ec2_client=ec2, ssm_client=ssm).discover()
    return len(machines), calls, time.perf_counter() - start


def run_naive(session: boto3.Session) -> tuple[int, Counter[str], float]:
    calls: Counter[str] = Counter()
    ec2 = session.resource("ec2")
    counted(ec2.meta.client, calls)
    start = time.perf_counter()
    found = []
    for listed in ec2.instances.filter(Filters=LIVE):
        instance = ec2.Instance(listed.id)
        instance.load()
        try:
            image = ec2.Image(instance.image_id)
            image.load()
            image_name = image.name
        except Exception:  # a deregistered AMI: the resource API refuses to load it
            image_name = None
        volumes = [(v.id, v.size, v.volume_type, v.iops) for v in instance.volumes.all()]
        itype = ec2.meta.client.describe_instance_types(InstanceTypes=[instance.instance_type])
        group_ids = [g["GroupId"] for g in instance.security_groups] or [
            g["GroupId"] for eni in instance.network_interfaces_attribute for g in eni["Groups"]
        ]
        rules = []
        for group_id in group_ids:
            group = ec2.SecurityGroup(group_id)
            group.load()
            rules.append(group.ip_permissions)
        found.append((instance.id, image_name, volumes, itype["InstanceTypes"], rules))
    return len(found), calls, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--instances", type=int, default=1000)
    args = parser.parse_args()

    with Sandbox() as sandbox:
        start = time.perf_counter()
        fleet = sandbox.seed_fleet(n=args.instances)
        seeded = time.perf_counter() - start
        amis = len({i.image_id for i in fleet})
        print(f"seeded {len(fleet)} instances (+1 appliance) over {amis} AMIs in {seeded:.1f} s")
        session = sandbox.ec2_session
        ours, our_calls, our_time = run_ec2asr(session)
        naive, naive_calls, naive_time = run_naive(session)

    assert ours == naive, (ours, naive)
    print()
    print("| approach | instances | API calls | wall time |")
    print("|---|---:|---:|---:|")
    print(
        f"| ec2asr `Ec2Discovery.discover()` | {ours} | {sum(our_calls.values())} "
        f"| {our_time:.2f} s |"
    )
    print(
        f"| naive boto3 resource loop | {naive} | {sum(naive_calls.values())} "
        f"| {naive_time:.2f} s |"
    )
    call_ratio = sum(naive_calls.values()) / sum(our_calls.values())
    time_ratio = naive_time / our_time
    print(f"| **ratio (naive / ec2asr)** | | **{call_ratio:.0f}x** | **{time_ratio:.1f}x** |")
    print()
    print("ec2asr calls:", dict(our_calls))
    print("naive calls: ", dict(naive_calls))
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, moto {moto.__version__}, ec2asr {__version__}"
    )


if __name__ == "__main__":
    main()
