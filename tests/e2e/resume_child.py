"""A migration in its own process, driving a sandbox that lives in the test's process.

The test starts this with ``python -m tests.e2e.resume_child CONFIG_JSON`` and kills it with
SIGKILL at chosen moments; every run uses the same journal. The agent configuration comes in
the ``EC2ASR_TEST_AGENT_CONFIG`` environment variable (never on the command line).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta
from typing import Any

import boto3
import botocore.session

import ec2asr
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.testing.emulator import StaticTokenCredential


def _session(cfg: dict[str, Any]) -> boto3.Session:
    core = botocore.session.Session()
    core.set_config_variable("region", cfg["region"])
    core.set_credentials("AKIASANDBOXEC2ASR000", "sandbox-secret-key-not-a-credential")
    account = cfg["account_id"]

    def add_account_header(**kwargs: Any) -> None:
        kwargs["request"].headers["x-moto-account-id"] = account

    core.register("before-sign", add_account_header)
    return boto3.Session(botocore_session=core)


def main(argv: list[str]) -> int:
    cfg = json.loads(argv[0])
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
    target = ec2asr.TargetSettings(**cfg["target"])
    spec = RecoveryPlanSpec(name="resume-wave") if cfg.get("recovery_plan") else None
    migration = ec2asr.Migration(
        ec2=discovery,
        asr=asr,
        installer=installer,
        target=target,
        policy=ec2asr.ReplicationPolicy(),
        journal=cfg["journal"],
        manage_security_groups=True,
        poll_interval=0.05,
        now=now,
        name="resume-test",
    )
    with migration:
        machines = discovery.discover(instance_ids=cfg["instance_ids"])
        plan = migration.plan(machines, recovery_plan=spec)
        report = migration.run(plan, confirm_cutover=True, recovery_plan=spec)
    print(report.summary(), flush=True)
    return 0 if len(report.completed) == len(cfg["instance_ids"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
