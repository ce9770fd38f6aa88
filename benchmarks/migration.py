"""Migration benchmark: ec2asr against a poller per machine, each migrating in its own process.

For each fleet size N (``--machines 100 1000``), seeds a sandbox with N migratable machines
(Windows Server 2016/2019/2022 and RHEL 6.7, every one READY with open egress to the appliance;
their Mobility agents installed by hand, i.e. registered with the appliance before the run),
then migrates them all the way (enable replication -> protected -> test failover + cleanup ->
cutover: stop the source, wait until its writes reached Azure, fail over -> commit -> complete
migration) twice, each time in a fresh sandbox:

* **ec2asr**: ``Migration.run(plan, confirm_cutover=True)`` with its defaults (no
  ``concurrency`` cap: ASR jobs in flight are paced by ARM's budget and each appliance's room;
  polling every 30 s): one JobTracker sweep per cycle and every ARM call through the
  client-side token bucket;
* **naive**: the same steps written against the Azure SDK directly, a pool of worker threads
  (``--naive-pool``, 100 by default: what a script with a ``ThreadPoolExecutor`` would use),
  one SDK poller per operation and per-machine ``get`` polling of the protected item
  (``_naive_migration.py``).

**Appliances.** ``--appliances`` defaults to one per 200 machines (``ceil(N / 200)``, the
documented capacity of a replication appliance), added with ``Sandbox.add_appliances``.

**Processes.** moto and the ASR emulator run in this process; each migration runs in a child
process (``_migration_child.py``), so the child's ``getrusage(RUSAGE_SELF)`` gives the client
CPU seconds of the migrating process alone, and its ``VmHWM`` its peak RSS (``ru_maxrss`` would
carry over the parent's high-water mark through fork + exec on Linux). The emulator's clock is
frozen and moves only when the child sleeps: the child sends each sleep here over a socket pair
and this process advances the clock before the sleep returns (hours pass in seconds,
deterministically).

**Limits.** ARM's per-subscription limits are enforced by the emulator on the simulated clock
(reads 250 burst / 25 per s, writes 200 / 10 per s; ``--no-arm-limits`` to switch off), so a
429 there is one ARM would have answered; the emulator counts them. ARM calls are counted in the
child (every attempt) and checked against the emulator's own counts.

**10,000 machines.** moto cannot seed or describe that many in time (measured: its subnets
fill up at about 8,180 instances, and calls over thousands of instances outlast botocore's
timeouts). ``--emulator-only`` keeps one moto template per profile and answers the migrating
process's EC2 calls from N clones held by a stand-in in this process (``_ec2_standin.py``).

**Critical path.** Computed from the emulator's ``Timings``, the slowest machine's disks and
ARM's write budget (``_critical_path.py`` documents the formula) and printed with each run.
The issue's targets are printed next to each ec2asr figure (PASS/MISS): the 1,000-machine
targets for N < 10,000, the 10,000-machine ones from there. Run::

    python benchmarks/migration.py                          # 100 machines, both approaches
    python benchmarks/migration.py --machines 100 1000 --json out.json
    python benchmarks/migration.py --machines 20 --skip-naive   # a quick look
    python benchmarks/migration.py --machines 10000 --appliances 50 --emulator-only
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import attrs
from _critical_path import CriticalPath, critical_path
from _ec2_standin import Ec2StandIn, seed_emulator_only
from _simtime import seconds_of

import ec2asr
from ec2asr import __version__
from ec2asr.testing import Sandbox, SimulatedClock, Timings
from ec2asr.testing._azure import machine_spec
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
CHILD = Path(__file__).with_name("_migration_child.py")
READ_LIMITS, WRITE_LIMITS = (250.0, 25.0), (200.0, 10.0)
MB = 1_000_000
TODAY_CPU_PER_MACHINE = 0.226  # seconds: ec2asr's CPU per machine at 1,000 when issue 8 was filed


@attrs.frozen
class Options:
    """How to run."""

    interval: float = 30.0
    bandwidth: int = 2000
    arm_limits: bool = True
    concurrency: int | None = None
    naive_pool: int = 100
    appliances: int | None = None

    def appliances_for(self, n: int) -> int:
        """Replication appliances for ``n`` machines: as asked, else one per 200."""
        return self.appliances if self.appliances is not None else max(1, -(-n // 200))

    emulator_only: bool = False


@attrs.define
class Outcome:
    """One approach's figures at one N."""

    label: str
    machines: int
    completed: int
    reads: int
    writes: int
    throttled: Counter[str]
    by_operation: Counter[str]
    simulated: float  # seconds
    wall: float  # seconds, the child's run
    cpu: float  # client CPU seconds of the run
    process_cpu: float  # the child's whole CPU (start-up, discovery, plan included)
    peak_rss: int  # bytes
    journal_bytes: int | None
    sweeps: int | None
    aws_calls: int
    setup_calls: int = 0
    notes: list[str] = attrs.field(factory=list)

    @property
    def total(self) -> int:
        return self.reads + self.writes

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["throttled"] = dict(self.throttled)
        data["by_operation"] = dict(self.by_operation)
        n = max(1, self.machines)
        data.update(
            reads_per_machine=self.reads / n,
            writes_per_machine=self.writes / n,
            cpu_ms_per_machine=self.cpu * 1000 / n,
            simulated_hours=self.simulated / 3600,
        )
        return data


@attrs.frozen
class Verdict:
    """One target of the issue, checked."""

    name: str
    figure: str
    target: str
    met: bool

    def line(self) -> str:
        verdict = "PASS" if self.met else "MISS"
        return f"  [{verdict}] {self.name}: {self.figure} (target {self.target})"


# -- the sandbox side ---------------------------------------------------------------------


class _Prefetched:
    """An EC2 client stand-in answering ``machine_spec``'s three per-instance calls from three
    fleet-wide calls made once: describing each of 10,000 instances one by one in moto costs
    minutes, and it is set-up, not what is measured."""

    def __init__(
        self,
        instances: dict[str, dict[str, Any]],
        images: dict[str, dict[str, Any]],
        volumes: dict[str, dict[str, Any]],
    ) -> None:
        self._instances, self._images, self._volumes = instances, images, volumes

    @classmethod
    def from_moto(cls, ec2: Any) -> _Prefetched:
        instances: dict[str, dict[str, Any]] = {}
        for page in ec2.get_paginator("describe_instances").paginate():
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    instances[instance["InstanceId"]] = instance
        image_ids = sorted({i["ImageId"] for i in instances.values()})
        images = {i["ImageId"]: i for i in ec2.describe_images(ImageIds=image_ids)["Images"]}
        volumes: dict[str, dict[str, Any]] = {}
        for page in ec2.get_paginator("describe_volumes").paginate():
            for volume in page["Volumes"]:
                volumes[volume["VolumeId"]] = volume
        return cls(instances, images, volumes)

    def describe_instances(self, InstanceIds: Sequence[str]) -> dict[str, Any]:
        return {"Reservations": [{"Instances": [self._instances[i] for i in InstanceIds]}]}

    def describe_images(self, ImageIds: Sequence[str]) -> dict[str, Any]:
        return {"Images": [self._images[i] for i in ImageIds if i in self._images]}

    def describe_volumes(self, VolumeIds: Sequence[str]) -> dict[str, Any]:
        return {"Volumes": [self._volumes[v] for v in VolumeIds]}


def _register_agents(
    sandbox: Sandbox, instance_ids: Iterable[str], ec2: _Prefetched
) -> dict[str, int]:
    """Register every machine's agent with the appliance (installed by hand); returns each
    machine's total disk GiB (what initial replication copies)."""
    disks: dict[str, int] = {}
    for iid in instance_ids:
        spec = machine_spec(ec2, iid)
        sandbox.emulator.register_machine(spec)
        disks[iid] = sum(d.size_gib for d in spec.disks)
    return disks


def _sandbox(
    options: Options, n: int
) -> tuple[Sandbox, Counter[str], dict[str, int], Ec2StandIn | None]:
    timings = Timings(bandwidth_mbps=options.bandwidth)
    sandbox = Sandbox(clock=SimulatedClock(speed=0), timings=timings)
    sandbox.start()
    standin: Ec2StandIn | None = None
    try:
        if options.emulator_only:
            standin = seed_emulator_only(sandbox, n, PROFILES)
            ids: Iterable[str] = list(standin.instances)
            ec2 = _Prefetched(standin.instances, standin.images, standin.volumes)
        else:
            ids = sandbox.seed_fleet(n=n, profiles=PROFILES).instance_ids
            ec2 = _Prefetched.from_moto(sandbox.ec2_session.client("ec2"))
        if options.appliances_for(n) > 1:
            sandbox.add_appliances(options.appliances_for(n) - 1)
        disks = _register_agents(sandbox, ids, ec2)
    except BaseException:
        sandbox.stop()
        raise
    throttled: Counter[str] = Counter()
    if options.arm_limits:
        emulator = sandbox.emulator
        emulator.enforce_arm_limits(READ_LIMITS, WRITE_LIMITS, clock=seconds_of(emulator.clock))
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
    return sandbox, throttled, disks, standin


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


def _serve(
    sandbox: Sandbox,
    conn: Connection,
    child: subprocess.Popen[bytes],
    standin: Ec2StandIn | None,
) -> Any:
    """Answer the child until it sends its result: advance the clock, snapshot at ``mark``,
    answer AWS calls with the EC2 stand-in (``--emulator-only``)."""
    clock = sandbox.emulator.clock
    marks: list[tuple[dict[str, dict[str, int]], float]] = []
    while True:
        if not conn.poll(1.0):
            if child.poll() is not None:
                raise SystemExit(f"the migrating process died (exit code {child.returncode})")
            continue
        try:
            message = conn.recv()
        except EOFError:
            child.wait()
            raise SystemExit(f"the migrating process died (exit code {child.returncode})") from None
        kind = message[0]
        if kind == "advance":
            conn.send(clock.advance(message[1]))
        elif kind == "aws" and standin is not None:
            conn.send(standin.handle(message[1], message[2], message[3]))
        elif kind == "mark":
            marks.append((sandbox.emulator.request_counts(), time.perf_counter()))
            print("  discovered and planned; migrating", file=sys.stderr, flush=True)
            conn.send(None)
        elif kind == "result":
            return message[1], marks[-1][0]
        else:
            raise SystemExit(f"the migrating process failed:\n{message[1]}")


def run(approach: str, n: int, options: Options) -> tuple[Outcome, CriticalPath]:
    """Migrate a fresh sandbox's N machines with ``approach`` in a child process."""
    began = time.perf_counter()
    sandbox, throttled, disks, standin = _sandbox(options, n)
    print(
        f"{approach} N={n}: fleet seeded and agents registered in "
        f"{time.perf_counter() - began:.0f} s ({'EC2 stand-in' if standin else 'moto'}); "
        f"appliances: {options.appliances_for(n)}",
        file=sys.stderr,
        flush=True,
    )
    try:
        path = critical_path(
            sandbox.emulator.timings,
            disks,
            interval=options.interval,
            read_limits=READ_LIMITS,
            write_limits=WRITE_LIMITS,
        )
        ours, theirs = socket.socketpair()
        cfg = {
            "approach": approach,
            "start": sandbox.now(),
            "base_url": sandbox.base_url,
            "subscription_id": sandbox.subscription_id,
            "resource_group": sandbox.resource_group,
            "vault": sandbox.vault,
            "region": sandbox.region,
            "aws_account_id": sandbox.aws_account_id,
            "aws_endpoint_url": sandbox.aws_endpoint_url,
            "instance_ids": sorted(disks),
            "interval": options.interval,
            "concurrency": options.concurrency if approach == "ec2asr" else options.naive_pool,
            "target": attrs.asdict(TARGET),
            "emulator_only": options.emulator_only,
        }
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            cwd=str(CHILD.parent),
        )
        theirs.close()
        conn = Connection(ours.detach())
        try:
            conn.send(cfg)
            throttled_before = Counter(throttled)
            result, base = _serve(sandbox, conn, child, standin)
            server = sandbox.emulator.request_counts()
        finally:
            conn.close()
            child.wait(timeout=60)
        if child.returncode != 0:
            raise SystemExit(f"{approach}: the migrating process exited {child.returncode}")
        by_operation = _emulator_diff(base, server)
        reads = sum(server["reads"].values()) - sum(base["reads"].values())
        writes = sum(server["writes"].values()) - sum(base["writes"].values())
        if (reads, writes) != (result["reads"], result["writes"]):
            raise SystemExit(
                f"{approach}: the client counted {result['reads']} reads / {result['writes']} "
                f"writes, the emulator {reads} / {writes}"
            )
        outcome = Outcome(
            label=approach,
            machines=result["machines"],
            completed=result["completed"],
            reads=result["reads"],
            writes=result["writes"],
            throttled=throttled - throttled_before,
            by_operation=by_operation,
            simulated=result["simulated"],
            wall=result["wall"],
            cpu=result["cpu"],
            process_cpu=result["process_cpu"],
            peak_rss=result["peak_rss"],
            journal_bytes=result["journal_bytes"],
            sweeps=result["sweeps"],
            aws_calls=result["aws_calls"],
            setup_calls=result.get("setup_calls", 0),
            notes=list(result["notes"]),
        )
        return outcome, path
    finally:
        sandbox.stop()


# -- targets ------------------------------------------------------------------------------


def targets(o: Outcome, path: CriticalPath, options: Options) -> list[Verdict]:
    """The issue's targets for ec2asr at this N (1,000's below 10,000, 10,000's from there)."""
    n = max(1, o.machines)
    ratio = o.simulated / path.seconds
    throttled = sum(o.throttled.values())
    out = [
        Verdict("completed", f"{o.completed:,}/{o.machines:,}", "all", o.completed == o.machines),
        Verdict("throttled answers (429)", f"{throttled}", "0", throttled == 0),
    ]
    if o.machines < 10_000:
        cpu_target = TODAY_CPU_PER_MACHINE / 4
        out += [
            Verdict(
                "simulated / critical path",
                f"{ratio:.2f}x",
                "<= 1.2x at the default settings",
                ratio <= 1.2,
            ),
            Verdict("ARM reads per machine", f"{o.reads / n:.2f}", "<= 3", o.reads / n <= 3),
            Verdict(
                "ARM writes",
                f"{o.writes:,} ({o.writes / n:.2f} per machine)",
                f"one per step per machine plus a fixed few: <= 6 x {n:,} + 10",
                o.writes <= 6 * n + 10,
            ),
            Verdict(
                "client CPU per machine",
                f"{o.cpu * 1000 / n:.1f} ms",
                f"<= {cpu_target * 1000:.1f} ms (4x below 226 ms)",
                o.cpu / n <= cpu_target,
            ),
            Verdict(
                "peak RSS of the migrating process",
                f"{o.peak_rss / MB:.0f} MB",
                "<= 200 MB",
                o.peak_rss <= 200 * MB,
            ),
        ]
    else:
        out += [
            Verdict(
                "simulated / critical path (ARM's write budget included)",
                f"{ratio:.2f}x",
                "<= 1.3x",
                ratio <= 1.3,
            ),
            Verdict(
                "peak RSS of the migrating process",
                f"{o.peak_rss / MB:.0f} MB",
                "<= 400 MB",
                o.peak_rss <= 400 * MB,
            ),
            Verdict(
                "appliances",
                f"{options.appliances_for(o.machines)}",
                "50 (200 machines each)",
                options.appliances_for(o.machines) * 200 >= o.machines,
            ),
        ]
    return out


# -- report -------------------------------------------------------------------------------

COLUMNS = (
    "approach",
    "completed",
    "simulated",
    "critical path",
    "ratio",
    "ARM reads/machine",
    "ARM writes/machine",
    "429s",
    "client CPU",
    "CPU/machine",
    "peak RSS",
    "journal",
    "sweeps",
    "AWS calls",
    "wall",
)


def _row(o: Outcome, path: CriticalPath) -> list[str]:
    n = max(1, o.machines)
    throttled = sum(o.throttled.values())
    throttled_text = str(throttled)
    if throttled:
        throttled_text += " (" + ", ".join(f"{c} {k}" for k, c in sorted(o.throttled.items())) + ")"
    return [
        o.label,
        f"{o.completed:,}/{o.machines:,}",
        f"{o.simulated / 3600:.2f} h",
        f"{path.seconds / 3600:.2f} h",
        f"{o.simulated / path.seconds:.2f}x",
        f"{o.reads / n:.2f}",
        f"{o.writes / n:.2f}",
        throttled_text,
        f"{o.cpu:.1f} s",
        f"{o.cpu * 1000 / n:.0f} ms",
        f"{o.peak_rss / MB:.0f} MB",
        "-" if o.journal_bytes is None else f"{o.journal_bytes / 1024:,.0f} KiB",
        "-" if o.sweeps is None else f"{o.sweeps:,}",
        f"{o.aws_calls:,}",
        f"{o.wall:.0f} s",
    ]


def report(n: int, path: CriticalPath, outcomes: Sequence[Outcome], options: Options) -> None:
    """Print one N's figures (a Markdown table), the critical path and the targets."""
    print()
    print(f"## N = {n:,}")
    print()
    for line in path.lines():
        print(line)
    print()
    print("| " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---:|" * (len(COLUMNS) - 1))
    for o in outcomes:
        print("| " + " | ".join(_row(o, path)) + " |")
    by_label = {o.label: o for o in outcomes}
    ours, naive = by_label.get("ec2asr"), by_label.get("naive")
    if ours is not None and naive is not None:
        print(
            f"| **naive / ec2asr** | | {naive.simulated / ours.simulated:.2f}x | | | "
            f"{naive.reads / max(1, ours.reads):.1f}x | {naive.writes / max(1, ours.writes):.2f}x "
            f"| | {naive.cpu / max(1e-9, ours.cpu):.1f}x | | "
            f"{naive.peak_rss / ours.peak_rss:.2f}x | | | | "
            f"{naive.wall / max(1e-9, ours.wall):.1f}x |"
        )
        print()
        ops = sorted(
            set(ours.by_operation) | set(naive.by_operation),
            key=lambda op: -(naive.by_operation[op] + ours.by_operation[op]),
        )
        print("| operation (emulator's count) | ec2asr | naive |")
        print("|---|---:|---:|")
        for op in ops:
            print(f"| `{op}` | {ours.by_operation[op]:,} | {naive.by_operation[op]:,} |")
        print()
        print(
            "naive fleet set-up (fabric, container, policy, mapping, discovered machines): "
            f"{naive.setup_calls} calls"
        )
    for o in outcomes:
        for note in o.notes:
            print(f"{o.label}: {note}")
        print(
            f"{o.label}: the migrating process used {o.process_cpu:.1f} CPU s in all "
            "(start-up, discovery and plan included)"
        )
    if ours is not None:
        print()
        print(f"targets (issue 8) for ec2asr at N = {n:,}:")
        for verdict in targets(ours, path, options):
            print(verdict.line())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n",
        "--machines",
        type=int,
        nargs="+",
        action="extend",
        help="fleet sizes (repeatable or a list; default 100)",
    )
    parser.add_argument(
        "--appliances", type=int, help="replication appliances (default: one per 200 machines)"
    )
    parser.add_argument("--interval", type=float, default=30.0, help="polling interval, s")
    parser.add_argument(
        "--bandwidth-mbps", type=int, default=2000, help="replication bandwidth per machine"
    )
    parser.add_argument(
        "--concurrency", type=int, help="ec2asr's cap on ASR jobs in flight (default: none)"
    )
    parser.add_argument(
        "--naive-pool", type=int, default=100, help="the naive approach's worker threads"
    )
    parser.add_argument("--no-arm-limits", action="store_true")
    parser.add_argument(
        "--skip-naive", action="store_true", help="ec2asr only (quick runs; not for the figures)"
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument(
        "--emulator-only",
        action="store_true",
        help="no moto fleet: N clones of one template per profile in an EC2 stand-in "
        "(for 10,000 machines, which moto cannot seed; see _ec2_standin.py)",
    )
    args = parser.parse_args(argv)
    sizes = args.machines or [100]
    if any(n < 1 for n in sizes):
        parser.error("--machines takes positive numbers")
    if args.appliances is not None and args.appliances < 1:
        parser.error("--appliances takes a positive number")
    if args.concurrency is not None and args.concurrency < 1:
        parser.error("--concurrency takes a positive number")
    if args.naive_pool < 1:
        parser.error("--naive-pool takes a positive number")
    options = Options(
        interval=args.interval,
        bandwidth=args.bandwidth_mbps,
        arm_limits=not args.no_arm_limits,
        concurrency=args.concurrency,
        naive_pool=args.naive_pool,
        appliances=args.appliances,
        emulator_only=args.emulator_only,
    )
    logging.getLogger("ec2asr").setLevel(logging.ERROR)
    approaches = ["ec2asr"] if args.skip_naive else ["ec2asr", "naive"]
    machine = {
        "cpus": os.cpu_count(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "ec2asr": __version__,
        "load_average": os.getloadavg(),
    }
    runs: list[dict[str, Any]] = []
    for n in sizes:
        outcomes: list[Outcome] = []
        path: CriticalPath | None = None
        for approach in approaches:
            started = time.perf_counter()
            outcome, path = run(approach, n, options)
            print(
                f"{approach} N={n}: {outcome.completed}/{outcome.machines} completed, "
                f"{outcome.reads} reads + {outcome.writes} writes, "
                f"{outcome.simulated / 3600:.2f} h simulated, run {outcome.wall:.0f} s, "
                f"{time.perf_counter() - started:.0f} s with set-up",
                file=sys.stderr,
                flush=True,
            )
            outcomes.append(outcome)
        assert path is not None
        report(n, path, outcomes, options)
        ours = outcomes[0]
        runs.append(
            {
                "machines": n,
                "options": attrs.asdict(options),
                "critical_path": path.to_json(),
                **{o.label: o.to_json() for o in outcomes},
                "targets": [attrs.asdict(v) for v in targets(ours, path, options)],
            }
        )
    print()
    print(
        f"machine: {machine['cpus']} CPUs, {machine['arch']}, Python {machine['python']}, "
        f"ec2asr {__version__}, load average {machine['load_average'][0]:.1f}; "
        + (
            "EC2: the stand-in (--emulator-only: N clones of one moto template per profile)"
            if options.emulator_only
            else "EC2: moto"
        )
        + " and the ASR emulator in the benchmark's process, each migration in a child process"
    )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "runs": runs}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
