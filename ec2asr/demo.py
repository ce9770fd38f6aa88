"""``python -m ec2asr demo``: a rehearsal on the sandbox, no cloud account needed."""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["run_demo"]


def run_demo(*, push: bool = False, machines: int | None = None, out: TextIO) -> int:
    """Seed a fleet in the sandbox, discover it, assess it and print the results.

    Returns:
        The exit status (0).

    Raises:
        Ec2AsrError: When a step fails.
    """
    from ec2asr.assessment import assess
    from ec2asr.aws import Ec2Discovery
    from ec2asr.testing import Sandbox

    started = time.monotonic()
    with Sandbox() as sandbox:
        fleet = sandbox.seed_fleet(machines)
        print(
            f"Sandbox: moto on {sandbox.aws_endpoint_url}; seeded {len(fleet)} EC2 instances "
            f"and a replication appliance ({fleet.appliance.private_ip}) in {fleet.vpc_id}",
            file=out,
        )
        found = Ec2Discovery(sandbox.ec2_session).discover(tags={"MigrationWave": "wave-1"})
        print(f"Discovered {len(found)} instances.", file=out)
        report = assess(found)
        print(file=out)
        print(report, file=out)
        print(file=out)
        print(f"Done in {time.monotonic() - started:.1f} s.", file=out)
    return 0
