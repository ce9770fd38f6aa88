"""``python -m ec2asr demo``: a whole migration on the rehearsal sandbox, no cloud account needed.

Discover -> assess -> plan -> prepare -> Mobility agent (SSM Run Command, or ``--push``) ->
replicate -> test migration -> cutover -> commit -> complete, on moto and the ASR emulator.
The emulator's clock is simulated: hours of replication pass in seconds, because every wait of
ec2asr advances the simulated clock instead of sleeping.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TextIO

from ec2asr.events import EventKind, MigrationEvent

__all__ = ["run_demo"]

_RG = "/subscriptions/00000000-0000-4000-8000-0000000ec2a5/resourceGroups/migrated-from-aws"
PUSH_ACCOUNT = "ec2asr-demo-admin"


def run_demo(*, push: bool = False, machines: int | None = None, out: TextIO) -> int:
    """Run the rehearsal and print what happens.

    Args:
        push: Let the appliance push the Mobility agent (instead of SSM Run Command).
        machines: Fleet size (None: one machine per profile, every readiness verdict).
        out: Where to print.

    Returns:
        The exit status: 0 when every machine that could migrate completed, else 1.

    Raises:
        Ec2AsrError: When a fleet-wide step fails.
    """
    from ec2asr._secret import Secret
    from ec2asr.assessment import assess
    from ec2asr.aws import Ec2Discovery
    from ec2asr.azure.site_recovery import SiteRecoveryClient
    from ec2asr.migration.facade import Migration
    from ec2asr.mobility import InstallerLocation, ManualInstall, PushInstall, SsmRunCommand
    from ec2asr.settings import ReplicationPolicy, TargetSettings
    from ec2asr.testing import Sandbox, SimulatedClock, Timings

    started = time.monotonic()

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    with Sandbox(clock=SimulatedClock(speed=0), timings=Timings(bandwidth_mbps=1000)) as sandbox:
        sim_start = sandbox.now()

        def advance(seconds: float) -> None:
            sandbox.emulator.clock.advance(max(float(seconds), 1.0))

        fleet = sandbox.seed_fleet(machines)
        say(
            f"Sandbox: moto on {sandbox.aws_endpoint_url}, ASR emulator on {sandbox.base_url}; "
            f"{len(fleet)} EC2 instances and a replication appliance ({fleet.appliance.private_ip})"
        )
        discovery = Ec2Discovery(sandbox.ec2_session)
        found = discovery.discover(tags={"MigrationWave": "wave-1"})
        say(f"\n1. Discovered {len(found)} instances. 2. Readiness:\n")
        say(assess(found).table())

        asr = SiteRecoveryClient(
            sandbox.credential,
            sandbox.subscription_id,
            resource_group=sandbox.resource_group,
            vault=sandbox.vault,
            base_url=sandbox.base_url,
            polling_interval=30,
            sleep=advance,
            clock=lambda: sandbox.now().timestamp(),
        )
        if push:
            installer: PushInstall | ManualInstall = PushInstall(
                PUSH_ACCOUNT, manage_security_groups=True
            )
        else:
            configuration = sandbox.emulator.mobility_configuration()
            installer = ManualInstall(
                SsmRunCommand(
                    sandbox.ec2_session.client("ssm"),
                    poll_interval=15,
                    sleep=advance,
                    clock=lambda: sandbox.now().timestamp(),
                ),
                Secret(configuration.reveal(), label="agent configuration"),
                installer_location=InstallerLocation.parse("s3://asr-installers/agents/"),
            )
        target = TargetSettings(
            resource_group_id=_RG,
            network_id=f"{_RG}/providers/Microsoft.Network/virtualNetworks/prod-vnet",
            subnet_name="servers",
            log_storage_account_id=f"{_RG}/providers/Microsoft.Storage/storageAccounts/asrcache",
            test_network_id=f"{_RG}/providers/Microsoft.Network/virtualNetworks/test-vnet",
            tags={"migrated-by": "ec2asr"},
        )
        asks: list[MigrationEvent] = []

        def on_event(event: MigrationEvent) -> None:
            if event.kind is EventKind.ACTION_REQUIRED and event.stage == "prepared":
                asks.append(event)

        with tempfile.TemporaryDirectory() as tmp:
            migration = Migration(
                ec2=discovery,
                asr=asr,
                installer=installer,
                target=target,
                policy=ReplicationPolicy(),
                journal=Path(tmp) / "migration.sqlite",
                manage_security_groups=True,
                poll_interval=120,
                sleep=advance,
                now=sandbox.now,
                on_event=on_event,
                progress=True,
                name="demo",
            )
            with migration:
                plan = migration.plan(found)
                say(f"\n3. Plan: {plan.summary()}")
                for blocked in plan.blocked:
                    say(f"   not migrated: {blocked.machine.display_name}: {blocked.blockers[0]}")
                for leased in (p for p in plan.to_migrate if p.connectivity):
                    say(f"   {leased.machine.display_name}: {leased.notes[-1]}")
                how = "the appliance pushes it" if push else "SSM Run Command installs it"
                say(f"\n4. Migrating {len(plan.to_migrate)} machines (Mobility agent: {how}).")
                say("   The demo passes confirm_cutover=True: your scripts must say it themselves.")
                report = migration.run(plan, confirm_cutover=True)
                if push and asks:
                    say(f"\n   ec2asr asks for the appliance-side step:\n   {asks[0].message}")
                    ids = sorted({e.instance_id for e in asks if e.instance_id})
                    sandbox.add_push_servers(ids, account_name=PUSH_ACCOUNT)
                    say(f"   (done on the sandbox's appliance for {len(ids)} servers; run again)")
                    report = migration.run(plan, confirm_cutover=True)
                leases = migration.leases.list_leases()
            say("\n5. Report:\n")
            say(str(report))
        lossless = [f for f in sandbox.emulator.failovers if f.kind == "unplanned"]
        lost = [f.item for f in lossless if f.data_loss]
        simulated = (sandbox.now() - sim_start).total_seconds() / 3600
        say(
            f"\nFailovers: {len(lossless)}, each once its stopped source had nothing pending, "
            f"to 'Latest' (no write lost): {'yes' if not lost else 'NO: ' + ', '.join(lost)}. "
            "Temporary security-"
            f"group rules: {len(leases)} leased, "
            f"{sum(1 for lease in leases if lease.state == 'revoked')} revoked."
        )
        say(
            f"Done: {simulated:.1f} simulated hours in {time.monotonic() - started:.1f} s. "
            "Sources are stopped, never terminated."
        )
        expected = {p.instance_id for p in plan.to_migrate if p.machine.state == "running"}
        completed = {m.instance_id for m in report.completed}
    return 0 if expected <= completed and not lost else 1
