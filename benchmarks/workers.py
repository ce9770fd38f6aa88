"""Team benchmark: one worker vs three workers sharing a wave through a PostgreSQL journal.

Seeds a sandbox with N migratable machines (default 300; agents installed by hand), then
migrates them all the way (enable -> protected -> test failover + cleanup -> cutover -> commit
-> complete) twice, each in a fresh sandbox and a fresh journal schema:

* **1 worker**: one ``Migration.run`` on a :class:`~ec2asr.PostgresJournal`;
* **3 workers**: three ``Migration.run`` on the same plan and journal, each with its own
  clients, claiming its share of the wave.

Every worker draws ARM tokens from the same buckets in the journal's database (``PostgresBudget``
on the shared simulated clock). The workers are threads of this process sleeping on one
simulated clock (:class:`_simtime.VirtualTime`: the clock jumps when every worker sleeps), so
simulated time is what a wave would take; ARM's per-subscription limits are enforced by the
emulator on that clock, so a 429 there is one ARM would have answered. Wall time is this
process's (one GIL: three worker threads do not run Python in parallel, three hosts would).
Run::

    python benchmarks/workers.py                 # 300 machines
    python benchmarks/workers.py --machines 30   # quicker
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import psycopg
from _simtime import VirtualTime, seconds_of

import ec2asr
from ec2asr import __version__
from ec2asr.migration.stages import Stage
from ec2asr.mobility.base import InstallContext, InstallResult, InstallState
from ec2asr.testing import Sandbox, SimulatedClock, Timings
from ec2asr.testing.emulator.arm import ArmError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_URL = os.environ.get("EC2ASR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
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
    """The agents were installed by hand: only register them with the appliance."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()

    def install(self, machines: Any, context: InstallContext) -> list[InstallResult]:
        ids = [m.instance_id for m in machines]
        with self._lock:
            self.sandbox.register_agents(ids)
        return [InstallResult(i, InstallState.INSTALLED, "agent installed by hand") for i in ids]


@attrs.define
class Outcome:
    """One team size's figures."""

    workers: int
    machines: int
    completed: int
    reads: int
    writes: int
    throttled: Counter[str]
    simulated_hours: float
    wall: float
    by_worker: Counter[str]
    takeovers: int
    budget_takes: int

    @property
    def calls(self) -> int:
        return self.reads + self.writes


def _throttle_counter(sandbox: Sandbox) -> Counter[str]:
    emulator = sandbox.emulator
    emulator.enforce_arm_limits(clock=seconds_of(emulator.clock))
    limits = emulator.limits
    assert limits is not None
    check = limits.check
    throttled: Counter[str] = Counter()

    def counting(subscription: str, write: bool) -> None:
        try:
            check(subscription, write)
        except ArmError:
            throttled["writes" if write else "reads"] += 1
            raise

    limits.check = counting  # type: ignore[method-assign]
    return throttled


def _drop(schema: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run(n: int, workers: int, *, interval: float, bandwidth: int) -> Outcome:
    schema = "bench_" + uuid.uuid4().hex[:12]
    sandbox = Sandbox(clock=SimulatedClock(speed=0), timings=Timings(bandwidth_mbps=bandwidth))
    sandbox.start()
    try:
        fleet = sandbox.seed_fleet(n=n, profiles=PROFILES)
        ids = list(fleet.instance_ids)
        throttled = _throttle_counter(sandbox)
        clock = sandbox.emulator.clock
        vt = VirtualTime(clock)
        installer = AgentsByHand(sandbox)
        migrations = []
        journals = []
        for k in range(workers):
            asr = ec2asr.SiteRecoveryClient(
                sandbox.credential,
                sandbox.subscription_id,
                resource_group=sandbox.resource_group,
                vault=sandbox.vault,
                base_url=sandbox.base_url,
                polling_interval=interval,
                sleep=vt.sleep,
                clock=seconds_of(clock),
            )
            journal = ec2asr.PostgresJournal(
                PG_URL,
                schema=schema,
                worker_id=f"w{k + 1}",
                claim_ttl=3600,
                budget_clock="caller",
                clock=sandbox.now,
            )
            journals.append(journal)
            asr.rate_limiter.share(journal.budget_store())  # plan() too draws on it
            migrations.append(
                ec2asr.Migration(
                    ec2=ec2asr.Ec2Discovery(sandbox.new_aws_session()),
                    asr=asr,
                    installer=installer,
                    target=TARGET,
                    policy=ec2asr.ReplicationPolicy(),
                    journal=journal,
                    poll_interval=interval,
                    sleep=vt.sleep,
                    now=sandbox.now,
                    name="bench",
                )
            )
        plan = migrations[0].plan(migrations[0].ec2.discover(instance_ids=ids))
        counters = [m.asr.rate_limiter.counter for m in migrations]
        before = [(c.reads, c.writes) for c in counters]
        errors: list[BaseException] = []

        def work(migration: ec2asr.Migration) -> None:
            try:
                migration.run(plan, confirm_cutover=True)
            except BaseException as exc:
                errors.append(exc)
            finally:
                vt.leave()

        started_sim, start = sandbox.now(), time.perf_counter()
        vt.enter(workers)
        threads = [threading.Thread(target=work, args=(m,)) for m in migrations]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        simulated = (sandbox.now() - started_sim).total_seconds() / 3600
        if errors:
            raise errors[0]
        reads = sum(c.reads - b[0] for c, b in zip(counters, before, strict=True))
        writes = sum(c.writes - b[1] for c, b in zip(counters, before, strict=True))
        takes = sum(j.budget_store().takes for j in journals)
        with ec2asr.PostgresJournal(PG_URL, schema=schema, read_only=True) as reader:
            records = reader.machines()
            takeovers = sum(
                1 for e in reader.events() if e["message"].startswith("taking over from worker")
            )
        for m in migrations:
            m.close()
        return Outcome(
            workers=workers,
            machines=len(ids),
            completed=sum(1 for r in records if r.stage is Stage.COMPLETED),
            reads=reads,
            writes=writes,
            throttled=throttled,
            simulated_hours=simulated,
            wall=wall,
            by_worker=Counter(str(r.data.get("worker")) for r in records),
            takeovers=takeovers,
            budget_takes=takes,
        )
    finally:
        sandbox.stop()
        _drop(schema)


def _print(outcomes: list[Outcome]) -> None:
    print()
    print(
        "| workers | machines completed | simulated | wall | ARM reads | ARM writes | ARM calls "
        "| per machine | 429s | machines per worker |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for o in outcomes:
        throttled = sum(o.throttled.values())
        split = ", ".join(f"{w}: {c}" for w, c in sorted(o.by_worker.items()))
        print(
            f"| {o.workers} | {o.completed}/{o.machines} | {o.simulated_hours:.2f} h "
            f"| {o.wall:.0f} s | {o.reads:,} | {o.writes:,} | {o.calls:,} "
            f"| {o.calls / o.machines:.1f} | {throttled} | {split} |"
        )
    print()
    for o in outcomes:
        print(
            f"{o.workers} worker(s): {o.budget_takes:,} tokens drawn from the shared budget, "
            f"{o.takeovers} takeovers"
        )
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, ec2asr {__version__}, PostgreSQL at {PG_URL.split('@')[-1]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--machines", type=int, default=300)
    parser.add_argument("--interval", type=float, default=30.0, help="polling interval, s")
    parser.add_argument("--bandwidth-mbps", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    logging.getLogger("ec2asr").setLevel(logging.ERROR)
    outcomes = []
    for workers in args.workers:
        outcome = run(args.machines, workers, interval=args.interval, bandwidth=args.bandwidth_mbps)
        print(
            f"{workers} worker(s): {outcome.completed}/{outcome.machines} completed, "
            f"{outcome.calls} ARM calls, {outcome.wall:.0f} s",
            file=sys.stderr,
        )
        outcomes.append(outcome)
    _print(outcomes)


if __name__ == "__main__":
    main()
