"""Migration benchmark: ec2asr's one sweep per cycle vs a poller per machine.

Seeds a sandbox with N migratable machines (default 100, over Windows Server 2016/2019/2022 and
RHEL 6.7, every one READY with open egress to the appliance), then migrates them all the way
(agents installed by hand -> enable replication -> protected -> test failover + cleanup ->
cutover: stop the source, fail over to a recovery point taken after the stop -> commit ->
complete migration) twice, each in a fresh sandbox:

* **ec2asr**: ``Migration.run(plan, confirm_cutover=True)``: one JobTracker sweep per cycle
  (one paginated ``replicationJobs`` list + one paginated ``replicationProtectedItems`` list)
  and every ARM call through the client-side token bucket;
* **naive**: the same steps written against the Azure SDK directly, a worker thread per
  machine (pool of the same concurrency), one SDK poller per operation and per-machine ``get``
  polling of the protected item (see ``_naive_migration.py``).

Both sleep on the emulator's frozen simulated clock (hours pass in seconds, deterministically)
and both use the same polling interval (30 s, the SDK's and ec2asr's default). ARM's
per-subscription limits are enforced by the emulator on the simulated clock (reads 250 burst /
25 per s, writes 200 / 10 per s; ``--no-arm-limits`` to switch off), so a 429 there is one ARM
would have answered. ARM calls are counted on the client (every attempt, retries included) and
cross-checked against the emulator's own counts. Run::

    python benchmarks/migration.py                 # 100 machines
    python benchmarks/migration.py --machines 20   # quicker
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import attrs
from _naive_migration import run_naive
from _simtime import advancing_sleep, seconds_of

import ec2asr
from ec2asr import __version__
from ec2asr.azure.jobs import JobTracker
from ec2asr.migration import facade
from ec2asr.migration.stages import Stage
from ec2asr.migration.targets import map_targets
from ec2asr.mobility.base import InstallContext, InstallResult, InstallState
from ec2asr.testing import Sandbox, SimulatedClock, Timings
from ec2asr.testing.emulator.arm import ArmError

PROFILES = ("win2016", "win2019", "win2022", "rhel67")
RG = "/subscriptions/00000000-0000-4000-8000-0000000ec2a5/resourceGroups/target-rg"
TARGET = ec2asr.TargetSettings(
    resource_group_id=RG,
    network_id=RG + "/providers/Microsoft.Network/virtualNetworks/prod-vnet",
    subnet_name="default",
    log_storage_account_id=RG + "/providers/Microsoft.Storage/storageAccounts/cache01",
    test_network_id=RG + "/providers/Microsoft.Network/virtualNetworks/test-vnet",
)


class AgentsByHand:
    """The agents were installed by hand: only register them with the appliance (no ARM call)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def install(self, machines: Any, context: InstallContext) -> list[InstallResult]:
        ids = [m.instance_id for m in machines]
        self.sandbox.register_agents(ids)
        return [InstallResult(i, InstallState.INSTALLED, "agent installed by hand") for i in ids]


class _CountingTracker(JobTracker):
    """The facade's JobTracker, remembered so the benchmark can read its sweep count."""

    made: ClassVar[list[JobTracker]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _CountingTracker.made.append(self)


@contextmanager
def _sweeps_counted() -> Iterator[list[JobTracker]]:
    """Let the facade build :class:`_CountingTracker` s for the duration."""
    _CountingTracker.made.clear()
    setattr(facade, "JobTracker", _CountingTracker)  # noqa: B010
    try:
        yield _CountingTracker.made
    finally:
        setattr(facade, "JobTracker", JobTracker)  # noqa: B010


@attrs.define
class Outcome:
    """One approach's figures."""

    label: str
    machines: int
    completed: int
    reads: int
    writes: int
    by_operation: Counter[str]
    wall: float
    simulated_hours: float
    throttled: Counter[str]
    aws_calls: int
    sweeps: int | None = None
    setup_calls: int = 0
    notes: list[str] = attrs.field(factory=list)

    @property
    def total(self) -> int:
        return self.reads + self.writes


def _sandbox(bandwidth: int, arm_limits: bool) -> tuple[Sandbox, Counter[str]]:
    sandbox = Sandbox(clock=SimulatedClock(speed=0), timings=Timings(bandwidth_mbps=bandwidth))
    sandbox.start()
    throttled: Counter[str] = Counter()
    if arm_limits:
        emulator = sandbox.emulator
        emulator.enforce_arm_limits(clock=seconds_of(emulator.clock))
        limits = emulator.limits
        assert limits is not None
        check = limits.check

        def counting_check(subscription: str, write: bool) -> None:
            try:
                check(subscription, write)
            except ArmError:
                throttled["writes" if write else "reads"] += 1
                raise

        limits.check = counting_check  # type: ignore[method-assign]
    return sandbox, throttled


def _seed(sandbox: Sandbox, n: int) -> list[ec2asr.SourceMachine]:
    fleet = sandbox.seed_fleet(n=n, profiles=PROFILES)
    return ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(instance_ids=fleet.instance_ids)


def _aws_counter(session: Any) -> Counter[str]:
    calls: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    session.events.register("before-call.*.*", hook)
    return calls


def _emulator_diff(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> Counter[str]:
    out: Counter[str] = Counter()
    for kind in ("reads", "writes"):
        for op, count in after[kind].items():
            delta = count - before[kind].get(op, 0)
            if delta:
                out[op] += delta
    return out


def _check(
    label: str,
    client: tuple[int, int],
    server: dict[str, dict[str, int]],
    base: dict[str, dict[str, int]],
) -> None:
    reads = sum(server["reads"].values()) - sum(base["reads"].values())
    writes = sum(server["writes"].values()) - sum(base["writes"].values())
    if (reads, writes) != client:
        raise SystemExit(
            f"{label}: client counted {client[0]} reads / {client[1]} writes, "
            f"the emulator {reads} / {writes}"
        )


def run_ec2asr(
    n: int, *, interval: float, bandwidth: int, arm_limits: bool, concurrency: int
) -> Outcome:
    sandbox, throttled = _sandbox(bandwidth, arm_limits)
    try:
        machines = _seed(sandbox, n)
        clock = sandbox.emulator.clock
        sleep = advancing_sleep(clock)
        session = sandbox.new_aws_session()
        aws = _aws_counter(session)
        asr = ec2asr.SiteRecoveryClient(
            sandbox.credential,
            sandbox.subscription_id,
            resource_group=sandbox.resource_group,
            vault=sandbox.vault,
            base_url=sandbox.base_url,
            polling_interval=interval,
            sleep=sleep,
            clock=seconds_of(clock),
        )
        with tempfile.TemporaryDirectory() as tmp, _sweeps_counted() as trackers:
            migration = ec2asr.Migration(
                ec2=ec2asr.Ec2Discovery(session),
                asr=asr,
                installer=AgentsByHand(sandbox),
                target=TARGET,
                policy=ec2asr.ReplicationPolicy(),
                journal=Path(tmp) / "journal.sqlite",
                concurrency=concurrency,
                poll_interval=interval,
                sleep=sleep,
                now=sandbox.now,
            )
            with migration:
                counter = asr.rate_limiter.counter
                plan = migration.plan(machines)
                plan_calls = counter.total
                base_rw = (counter.reads, counter.writes)
                base_server = sandbox.emulator.request_counts()
                aws.clear()
                started_sim = sandbox.now()
                start = time.perf_counter()
                report = migration.run(plan, confirm_cutover=True)
                wall = time.perf_counter() - start
                simulated = (sandbox.now() - started_sim).total_seconds() / 3600
        reads, writes = counter.reads - base_rw[0], counter.writes - base_rw[1]
        server = sandbox.emulator.request_counts()
        _check("ec2asr", (reads, writes), server, base_server)
        outcome = Outcome(
            label="ec2asr",
            machines=len(plan.to_migrate),
            completed=sum(1 for m in report if m.stage is Stage.COMPLETED),
            reads=reads,
            writes=writes,
            by_operation=_emulator_diff(base_server, server),
            wall=wall,
            simulated_hours=simulated,
            throttled=throttled,
            aws_calls=sum(aws.values()),
            sweeps=sum(t.sweeps for t in trackers),
        )
        outcome.notes.append(f"plan() before the run made {plan_calls} ARM reads (not counted)")
        bucket = asr.rate_limiter
        outcome.notes.append(
            f"client token bucket waited {bucket.reads.waited:.1f} s (reads) and "
            f"{bucket.writes.waited:.1f} s (writes) of simulated time"
        )
        return outcome
    finally:
        sandbox.stop()


def run_baseline(
    n: int, *, interval: float, bandwidth: int, arm_limits: bool, concurrency: int
) -> Outcome:
    sandbox, throttled = _sandbox(bandwidth, arm_limits)
    try:
        machines = _seed(sandbox, n)
        sandbox.register_agents([m.instance_id for m in machines])  # installed by hand
        session = sandbox.new_aws_session()
        aws = _aws_counter(session)
        names = map_targets(machines, TARGET)
        work = [(m.instance_id, str(m.private_ip), names[m.instance_id].vm_name) for m in machines]
        base_server = sandbox.emulator.request_counts()
        started_sim = sandbox.now()
        start = time.perf_counter()
        result = run_naive(
            sandbox,
            work,
            TARGET,
            interval=interval,
            concurrency=concurrency,
            ec2=session.client("ec2"),
        )
        wall = time.perf_counter() - start
        simulated = (sandbox.now() - started_sim).total_seconds() / 3600
        server = sandbox.emulator.request_counts()
        c = result.counter
        _check("naive", (c.reads, c.writes), server, base_server)
        outcome = Outcome(
            label="naive",
            machines=len(work),
            completed=len(result.completed),
            reads=c.reads,
            writes=c.writes,
            by_operation=_emulator_diff(base_server, server),
            wall=wall,
            simulated_hours=simulated,
            throttled=throttled,
            aws_calls=sum(aws.values()),
            setup_calls=result.setup_calls,
        )
        for iid, error in sorted(result.errors.items())[:5]:
            outcome.notes.append(f"{iid} failed: {error}")
        return outcome
    finally:
        sandbox.stop()


def _progress(o: Outcome) -> None:
    print(
        f"{o.label}: {o.completed}/{o.machines} completed, {o.reads} reads + {o.writes} writes, "
        f"{o.wall:.1f} s",
        file=sys.stderr,
    )


def _throttled(o: Outcome) -> str:
    if not o.throttled:
        return "0"
    return f"{o.throttled['reads']} reads, {o.throttled['writes']} writes"


def _print(ours: Outcome, naive: Outcome) -> None:
    n = ours.machines
    print()
    print(
        "| approach | machines completed | ARM reads | ARM writes | ARM calls | per machine "
        "| 429s | sweeps | AWS calls | simulated | wall time |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for o in (ours, naive):
        sweeps = "none (a poller per operation)" if o.sweeps is None else str(o.sweeps)
        print(
            f"| {o.label} | {o.completed}/{o.machines} | {o.reads:,} | {o.writes:,} | {o.total:,} "
            f"| {o.total / o.machines:.1f} | {_throttled(o)} | {sweeps} | {o.aws_calls} "
            f"| {o.simulated_hours:.1f} h | {o.wall:.1f} s |"
        )
    print(
        f"| **ratio (naive / ec2asr)** | | {naive.reads / ours.reads:.1f}x | "
        f"{naive.writes / ours.writes:.2f}x | **{naive.total / ours.total:.1f}x** | | | | | | "
        f"{naive.wall / ours.wall:.1f}x |"
    )
    print()
    ops = sorted(set(ours.by_operation) | set(naive.by_operation))
    print("| operation (emulator's count) | ec2asr | naive |")
    print("|---|---:|---:|")
    for op in sorted(ops, key=lambda o: -(naive.by_operation[o] + ours.by_operation[o])):
        print(f"| `{op}` | {ours.by_operation[op]:,} | {naive.by_operation[op]:,} |")
    print()
    print(
        "naive fleet set-up (fabric, container, policy, mapping, discovered machines): "
        f"{naive.setup_calls} calls"
    )
    for o in (ours, naive):
        for note in o.notes:
            print(f"{o.label}: {note}")
    print(
        f"per machine: ec2asr {ours.total / n:.1f} ARM calls, naive {naive.total / n:.1f}; "
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, ec2asr {__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--machines", type=int, default=100)
    parser.add_argument("--interval", type=float, default=30.0, help="polling interval, s")
    parser.add_argument(
        "--bandwidth-mbps", type=int, default=2000, help="replication bandwidth per machine"
    )
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--no-arm-limits", action="store_true")
    parser.add_argument("--only", choices=("ec2asr", "naive"))
    args = parser.parse_args()
    options = {
        "interval": args.interval,
        "bandwidth": args.bandwidth_mbps,
        "arm_limits": not args.no_arm_limits,
        "concurrency": args.concurrency,
    }
    # Per-machine health warnings (ASR's 161011 "no test failover yet") are expected here.
    logging.getLogger("ec2asr").setLevel(logging.ERROR)
    ours = naive = None
    if args.only != "naive":
        ours = run_ec2asr(args.machines, **options)
        _progress(ours)
    if args.only != "ec2asr":
        naive = run_baseline(args.machines, **options)
        _progress(naive)
    if ours is not None and naive is not None:
        _print(ours, naive)


if __name__ == "__main__":
    main()
