"""A migration in its own process that SIGKILLs itself at a chosen write.

The test starts it with ``python -m tests.reliability.kill_child CONFIG_JSON``. It drives the
sandbox that lives in the test's process (moto and the ASR emulator over HTTP; the emulator's
simulated clock moves only when this process sleeps, through the test's clock server) and counts
every write it makes: journal writes, ASR writes (counted when Azure's answer arrives, before
ec2asr reads it) and EC2/SSM writes. At write number ``kill_at`` it sends itself SIGKILL — no
``finally``, no flush, exactly as the kernel would kill it. ``kill_at=0`` never kills; the
process then prints the number of writes it made and the report's summary.

The journal is a SQLite file (``journal``: its path) or a PostgreSQL schema (``journal``:
``{"dsn": ..., "schema": ...}``); each run is then a new worker (its own worker id), and the
writes counted include the PostgreSQL journal's own: registering the worker, claiming,
renewing and releasing machines.

The agent configuration comes in the ``EC2ASR_TEST_AGENT_CONFIG`` environment variable.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.request
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from azure.core.pipeline.policies import SansIOHTTPPolicy

import ec2asr
from ec2asr.migration.journal import Journal
from ec2asr.testing.emulator import StaticTokenCredential

_READS = ("Describe", "Get", "List")


class KillSwitch:
    """Counts writes; SIGKILLs this process at write number ``kill_at``."""

    def __init__(self, kill_at: int) -> None:
        self.kill_at = kill_at
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if self.count == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


class SimClock:
    """The emulator's clock, kept locally: it moves only when this process sleeps."""

    def __init__(self, start: datetime, control: str) -> None:
        self._now = start
        self._control = control

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        step = max(float(seconds), 1.0)
        request = urllib.request.Request(f"{self._control}/advance?seconds={step}", method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            self._now = datetime.fromisoformat(answer.read().decode())


class _CountAsrWrites(SansIOHTTPPolicy):  # type: ignore[type-arg]
    def __init__(self, switch: KillSwitch) -> None:
        self._switch = switch

    def on_response(self, request: Any, response: Any) -> None:
        if request.http_request.method not in ("GET", "HEAD"):
            self._switch.tick()


_JOURNAL_WRITES = ("begin_step", "step_accepted", "end_step", "update_machine", "set_meta")
_TEAM_WRITES = ("register_worker", "claim", "renew_claims", "release_claims", "unregister_worker")


def _count_journal_writes(switch: KillSwitch, cls: type[Journal], names: tuple[str, ...]) -> None:
    for name in names:
        original = getattr(cls, name)

        def counted(self: Journal, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            result = __original(self, *args, **kwargs)
            switch.tick()
            return result

        setattr(cls, name, counted)


def _session(cfg: dict[str, Any], switch: KillSwitch) -> boto3.Session:
    core = botocore.session.Session()
    core.set_config_variable("region", cfg["region"])
    core.set_credentials("AKIASANDBOXEC2ASR000", "sandbox-secret-key-not-a-credential")
    account = cfg["account_id"]

    def add_account_header(**kwargs: Any) -> None:
        kwargs["request"].headers["x-moto-account-id"] = account

    def after_call(model: Any, **_: Any) -> None:
        if not model.name.startswith(_READS):
            switch.tick()

    core.register("before-sign", add_account_header)
    core.register("after-call.*.*", after_call)
    return boto3.Session(botocore_session=core)


def main(argv: list[str]) -> int:
    cfg = json.loads(argv[0])
    switch = KillSwitch(int(cfg["kill_at"]))
    clock = SimClock(datetime.fromisoformat(cfg["sim_now"]), cfg["control_url"])
    _count_journal_writes(switch, Journal, _JOURNAL_WRITES)
    journal: str | ec2asr.PostgresJournal = cfg["journal"]
    if isinstance(cfg["journal"], dict):
        _count_journal_writes(switch, ec2asr.PostgresJournal, _TEAM_WRITES)
        journal = ec2asr.PostgresJournal(
            cfg["journal"]["dsn"],
            schema=cfg["journal"]["schema"],
            clock=clock.now,
            budget_clock="caller",
        )
    session = _session(cfg, switch)
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
        polling_interval=30,
        sleep=clock.sleep,
        clock=lambda: clock.now().timestamp(),
        per_call_policies=[_CountAsrWrites(switch)],
    )
    installer = ec2asr.ManualInstall(
        ec2asr.SsmRunCommand(
            ssm, poll_interval=5, sleep=clock.sleep, clock=lambda: clock.now().timestamp()
        ),
        ec2asr.Secret(os.environ["EC2ASR_TEST_AGENT_CONFIG"], label="agent configuration"),
        installer_location="s3://asr-installers/agents/",
    )
    migration = ec2asr.Migration(
        ec2=discovery,
        asr=asr,
        installer=installer,
        target=ec2asr.TargetSettings(**cfg["target"]),
        policy=ec2asr.ReplicationPolicy(),
        journal=journal,
        manage_security_groups=True,
        poll_interval=120,
        sleep=clock.sleep,
        now=clock.now,
        name="kill-test",
    )
    with migration:
        machines = discovery.discover(instance_ids=cfg["instance_ids"])
        plan = migration.plan(machines)
        report = migration.run(plan, confirm_cutover=True)
    print(json.dumps({"writes": switch.count, "summary": report.summary()}), flush=True)
    return 0 if len(report.completed) == len(cfg["instance_ids"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
