"""One worker of a team: a migration in its own process on a PostgreSQL journal, driving a
sandbox that lives in the test's process.

``python -m tests.e2e.worker_child CONFIG_JSON``; the agent configuration comes in the
``EC2ASR_TEST_AGENT_CONFIG`` environment variable (never on the command line). Every worker of
a test gets the same config but its own ``worker_id``; they share the journal's schema and the
ARM budget in it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta
from typing import Any

import ec2asr
from ec2asr.testing.emulator import StaticTokenCredential
from tests.e2e.resume_child import _session


def main(argv: list[str]) -> int:
    cfg: dict[str, Any] = json.loads(argv[0])
    sim_at = datetime.fromisoformat(cfg["sim_at"])
    real_at = float(cfg["real_at"])
    speed = float(cfg["speed"])

    def now() -> datetime:
        return sim_at + timedelta(seconds=(time.time() - real_at) * speed)

    session = _session(cfg)
    endpoint = cfg["aws_endpoint_url"]
    ec2 = session.client("ec2", endpoint_url=endpoint)
    ssm = session.client("ssm", endpoint_url=endpoint)
    discovery = ec2asr.Ec2Discovery(ec2_client=ec2, ssm_client=ssm)
    asr = ec2asr.SiteRecoveryClient(
        StaticTokenCredential(),
        cfg["subscription_id"],
        resource_group=cfg["resource_group"],
        vault=cfg["vault"],
        base_url=cfg["base_url"],
        polling_interval=0.05,
    )
    installer = ec2asr.ManualInstall(
        ec2asr.SsmRunCommand(ssm, poll_interval=0.05),
        ec2asr.Secret(os.environ["EC2ASR_TEST_AGENT_CONFIG"], label="agent configuration"),
        installer_location="s3://asr-installers/agents/",
    )
    journal = ec2asr.PostgresJournal(
        cfg["dsn"],
        schema=cfg["schema"],
        worker_id=cfg["worker_id"],
        claim_ttl=cfg["claim_ttl"],
        clock=now,
    )
    migration = ec2asr.Migration(
        ec2=discovery,
        asr=asr,
        installer=installer,
        target=ec2asr.TargetSettings(**cfg["target"]),
        policy=ec2asr.ReplicationPolicy(),
        journal=journal,
        manage_security_groups=True,
        poll_interval=cfg["poll_interval"],
        now=now,
        name="team-test",
    )
    with migration:
        machines = discovery.discover(instance_ids=cfg["instance_ids"])
        plan = migration.plan(machines)  # reads only, on this worker's own bucket
        # The run draws on the journal's ARM budget (ArmRateLimiter.share), then gives the
        # client its own back.
        report = migration.run(plan, confirm_cutover=True)
        assert asr.rate_limiter.store is not journal.budget_store()
    print(report.summary(), flush=True)
    return 0 if len(report.completed) == len(cfg["instance_ids"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
