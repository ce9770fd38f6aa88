"""The migrating process of the migration benchmark: one approach, in a process of its own.

``benchmarks/migration.py`` runs the sandbox (moto and the ASR emulator) in its own process and
starts this script for each migration, so that ``resource.getrusage(RUSAGE_SELF)`` here counts
the migrating process alone: its CPU and its peak RSS (``ru_maxrss``), not the emulator's.

The emulator's clock is frozen (``speed=0``) and lives in the parent. Only this process moves
it: every sleep is sent to the parent (``("advance", seconds)``), which advances the emulator's
clock and answers the new time before the sleep returns, so the next request sees it. Between
sleeps this process reads a local copy of that time (:class:`MirrorClock`), exact because
nobody else moves the clock. Before the measured part the child says ``("mark",)`` (the parent
snapshots the emulator's counts then), and at the end it sends ``("result", {...})``.

This module imports neither moto nor the emulator: the migrating process loads only what a
user's process would (ec2asr, boto3, the Azure SDK).

Run by the parent as ``python _migration_child.py FD``: ``FD`` is this end of a socket pair.

**Profiling (opt-in, off by default).** ``EC2ASR_BENCH_TRACEMALLOC=PATH`` traces allocations
(``EC2ASR_BENCH_TRACEMALLOC_FRAMES`` frames, 2 by default: each frame more slows the run down)
from the start of the process and, at the end of the measured run, writes the top
allocations by traceback to ``PATH`` (text) and the snapshot to ``PATH.snapshot``
(``tracemalloc.Snapshot.load``). ``EC2ASR_BENCH_CPROFILE=PATH`` profiles the measured run
(``Migration.run`` or the naive loop) with ``cProfile`` on the migrating thread's CPU clock
(``time.thread_time``: waiting for the emulator costs nothing) and dumps its stats to ``PATH``
(``pstats``). Both slow the run down and change its CPU and RSS figures.
``EC2ASR_BENCH_KEEP_JOURNAL=PATH`` copies the journal there at the end.
``EC2ASR_BENCH_RSS=PATH`` writes, at each sleep of the run, the wall time and the process's
``VmRSS`` and ``VmHWM`` (kB), one line each: where the peak comes (cheap; no tracing).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

import boto3
import botocore.session
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.policies import SansIOHTTPPolicy

__all__ = ["MirrorClock", "main"]


class Channel:
    """The child's end of the socket pair: one request and its answer at a time."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def call(self, message: tuple[Any, ...]) -> Any:
        with self._lock:
            self.conn.send(message)
            return self.conn.recv()


class MirrorClock:
    """The emulator's frozen clock, seen from the migrating process (see the module docstring).

    Duck-types :class:`ec2asr.testing.SimulatedClock`'s ``now()`` and ``advance()``.
    """

    def __init__(self, channel: Channel, start: datetime) -> None:
        self._channel = channel
        self._now = start
        self._lock = threading.Lock()
        self.advances = 0

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: float | timedelta) -> datetime:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("the simulated clock cannot go backwards")
        with self._lock:
            self._now = self._channel.call(("advance", seconds))
            self.advances += 1
            return self._now


class _Token:
    """A fake ARM token (the emulator accepts any bearer token)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("bench-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("bench-token", int(time.time()) + 3600)


class _Bearer(SansIOHTTPPolicy[Any, Any]):
    """Sets the bearer header over plain HTTP (azure-core refuses to on http://)."""

    def on_request(self, request: Any) -> None:
        request.http_request.headers["Authorization"] = "Bearer bench-token"


class _SandboxSession(botocore.session.Session):
    """A botocore session whose clients talk to the sandbox's moto unless told otherwise."""

    endpoint_url = ""

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) < 6 and kwargs.get("endpoint_url") is None:
            kwargs["endpoint_url"] = self.endpoint_url
        return super().create_client(*args, **kwargs)


class _Answered:
    """The HTTP response botocore expects next to a parsed answer it did not fetch."""

    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


def _through_parent(core: botocore.session.Session, channel: Channel) -> None:
    """``--emulator-only``: every AWS call is answered by the parent's EC2 stand-in
    (``_ec2_standin.py``) over the socket pair, already parsed; boto3 still builds the call."""

    def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params

    def answer(model: Any, context: dict[str, Any], **_: Any) -> tuple[_Answered, Any]:
        service = model.service_model.service_name
        params = context.get("bench_params") or {}
        status, body = channel.call(("aws", service, model.name, params))
        return _Answered(status), body

    core.register("before-parameter-build", keep)
    core.get_component("event_emitter").register_last("before-call", answer)


def _aws_session(cfg: dict[str, Any], channel: Channel) -> boto3.Session:
    """A boto3 session that reaches only the sandbox's moto (its account, dummy keys), or with
    ``emulator_only`` the parent's EC2 stand-in."""
    core = _SandboxSession()
    core.endpoint_url = cfg["aws_endpoint_url"]
    if cfg.get("emulator_only"):
        _through_parent(core, channel)
    for name in ("config_file", "credentials_file"):
        core.set_config_variable(name, "/dev/null")
    core.set_config_variable("region", cfg["region"])
    core.set_credentials("AKIASANDBOXEC2ASR000", "sandbox-secret-key-not-a-credential")
    account = cfg["aws_account_id"]

    def add_account_header(**kwargs: Any) -> None:
        kwargs["request"].headers["x-moto-account-id"] = account

    core.register("before-sign", add_account_header)
    return boto3.Session(botocore_session=core, region_name=cfg["region"])


def _aws_counter(session: boto3.Session) -> Counter[str]:
    calls: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    session.events.register("before-call.*.*", hook)
    return calls


def _usage() -> tuple[float, int]:
    """(CPU seconds, peak RSS in bytes) of this process so far.

    On Linux ``ru_maxrss`` keeps the high-water mark of the process image that ``exec`` replaced,
    and a child started with ``fork``/``vfork`` + ``exec`` began as a copy of the parent, which
    holds moto and the emulator with their state: ``ru_maxrss`` would report the parent's RSS
    (hundreds of MB even at N = 3). ``VmHWM`` in ``/proc/self/status`` is the peak RSS of this
    image alone; elsewhere ``ru_maxrss`` is used.
    """
    r = resource.getrusage(resource.RUSAGE_SELF)
    cpu = r.ru_utime + r.ru_stime
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return cpu, int(line.split()[1]) * 1024
    except OSError:
        pass
    return cpu, r.ru_maxrss * (1 if sys.platform == "darwin" else 1024)


@contextmanager
def _profiled() -> Iterator[None]:
    """The measured run, under the opt-in profilers of the module docstring (if any)."""
    profile_to = os.environ.get("EC2ASR_BENCH_CPROFILE")
    profiler = None
    if profile_to:
        import cProfile

        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
    try:
        yield
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile_to)
        _dump_tracemalloc()
        _dump_rss()


_HIGHEST: list[Any] = [0, None]
"""While tracing: the largest traced size at a sleep so far, and a snapshot taken then."""
_PEAKS: list[tuple[int, int]] = []
"""While tracing: (traced now, peak since the last sleep) at each sleep of the run."""


_RSS_TO = os.environ.get("EC2ASR_BENCH_RSS")
_RSS: list[str] = []
"""With ``EC2ASR_BENCH_RSS=PATH``: at each sleep, the wall time, VmRSS and VmHWM (kB)."""


def _note_peak() -> None:
    """Record the traced memory between two sleeps (one cycle), if tracing, and the RSS, if
    asked (``EC2ASR_BENCH_RSS``)."""
    import tracemalloc

    if tracemalloc.is_tracing():
        _PEAKS.append(tracemalloc.get_traced_memory())
        tracemalloc.reset_peak()
        current = _PEAKS[-1][0]
        if current > _HIGHEST[0] * 1.1:  # the largest live set so far: what is held mid-run
            _HIGHEST[:] = [current, tracemalloc.take_snapshot()]
    if _RSS_TO:
        with open("/proc/self/status", encoding="ascii") as status:
            fields = dict(line.split(":", 1) for line in status if line.startswith("Vm"))
        _RSS.append(
            f"{time.perf_counter():.1f} {fields['VmRSS'].split()[0]} {fields['VmHWM'].split()[0]}"
        )


def _dump_rss() -> None:
    if _RSS_TO:
        _note_peak()  # after the run: the report is built after the last sleep
        Path(_RSS_TO).write_text("\n".join(_RSS) + "\n", encoding="ascii")


def _dump_tracemalloc() -> None:
    """Write the top allocations by traceback (``EC2ASR_BENCH_TRACEMALLOC``), if tracing."""
    import tracemalloc

    path = os.environ.get("EC2ASR_BENCH_TRACEMALLOC")
    if not path or not tracemalloc.is_tracing():
        return
    current, peak = tracemalloc.get_traced_memory()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    snapshot.dump(f"{path}.snapshot")
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"traced now {current / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB\n")
        top = sorted(range(len(_PEAKS)), key=lambda n: -_PEAKS[n][1])[:5]
        for n in top:
            now, high = _PEAKS[n]
            out.write(f"  cycle {n}: peak {high / 1e6:.1f} MB, {now / 1e6:.1f} MB at its end\n")
        out.write("\n")
        out.write("== by file ==\n")
        for stat in snapshot.statistics("filename")[:40]:
            out.write(f"{stat}\n")
        out.write("\n== by line ==\n")
        for stat in snapshot.statistics("lineno")[:60]:
            out.write(f"{stat}\n")
        if _HIGHEST[1] is not None:
            out.write(f"\n== by line, at the largest live set ({_HIGHEST[0] / 1e6:.1f} MB) ==\n")
            held = _HIGHEST[1].filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            for stat in held.statistics("lineno")[:40]:
                out.write(f"{stat}\n")
            out.write("\n== by traceback, at the largest live set ==\n")
            for stat in held.statistics("traceback")[:25]:
                out.write(f"\n{stat.size / 1e6:.2f} MB in {stat.count} blocks\n")
                out.writelines(f"  {line}\n" for line in stat.traceback.format(limit=10))
        out.write("\n== by traceback ==\n")
        for stat in snapshot.statistics("traceback")[:40]:
            out.write(f"\n{stat.size / 1e6:.2f} MB in {stat.count} blocks\n")
            out.writelines(f"  {line}\n" for line in stat.traceback.format(limit=10))


class Environment:
    """What the naive baseline needs of the sandbox, from the child's side."""

    def __init__(self, cfg: dict[str, Any], clock: MirrorClock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.resource_group = cfg["resource_group"]
        self.vault = cfg["vault"]

    def now(self) -> datetime:
        return self.clock.now()

    def asr_management_client(self, **kwargs: Any) -> Any:
        from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

        kwargs.setdefault("authentication_policy", _Bearer())
        return SiteRecoveryManagementClient(
            _Token(), self.cfg["subscription_id"], base_url=self.cfg["base_url"], **kwargs
        )


# -- ec2asr -------------------------------------------------------------------------------


class _AgentsByHand:
    """The agents were installed by hand (the parent registered them with the appliance)."""

    def install(self, machines: Any, context: Any) -> list[Any]:
        from ec2asr.mobility.base import InstallResult, InstallState

        return [
            InstallResult(m.instance_id, InstallState.INSTALLED, "agent installed by hand")
            for m in machines
        ]


@contextmanager
def _sweeps_counted() -> Iterator[list[Any]]:
    """Let the facade build JobTrackers that the benchmark can count the sweeps of."""
    from ec2asr.azure.jobs import JobTracker
    from ec2asr.migration import facade

    class CountingTracker(JobTracker):
        made: ClassVar[list[JobTracker]] = []

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            CountingTracker.made.append(self)

    setattr(facade, "JobTracker", CountingTracker)  # noqa: B010
    try:
        yield CountingTracker.made
    finally:
        setattr(facade, "JobTracker", JobTracker)  # noqa: B010


def _file_bytes(path: Path) -> int:
    """The journal's size: the SQLite file and what its WAL still holds."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def run_ec2asr(cfg: dict[str, Any], channel: Channel, clock: MirrorClock) -> dict[str, Any]:
    import ec2asr
    from ec2asr.migration.stages import Stage

    def sleep(seconds: float) -> None:
        _note_peak()
        if seconds > 0:
            clock.advance(seconds)

    def seconds() -> float:
        return clock.now().timestamp()

    session = _aws_session(cfg, channel)
    aws = _aws_counter(session)
    interval = cfg["interval"]
    asr = ec2asr.SiteRecoveryClient(
        _Token(),
        cfg["subscription_id"],
        resource_group=cfg["resource_group"],
        vault=cfg["vault"],
        base_url=cfg["base_url"],
        polling_interval=interval,
        sleep=sleep,
        clock=seconds,
    )
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, _sweeps_counted() as trackers:
        journal = Path(tmp) / "journal.sqlite"
        discovery = ec2asr.Ec2Discovery(session)
        migration = ec2asr.Migration(
            ec2=discovery,
            asr=asr,
            installer=_AgentsByHand(),
            target=ec2asr.TargetSettings(**cfg["target"]),
            policy=ec2asr.ReplicationPolicy(),
            journal=journal,
            concurrency=cfg["concurrency"],
            poll_interval=interval,
            sleep=sleep,
            now=clock.now,
        )
        with migration:
            machines = discovery.discover(instance_ids=cfg["instance_ids"])
            counter = asr.rate_limiter.counter
            plan = migration.plan(machines)
            out["plan_reads"] = counter.total
            base = (counter.reads, counter.writes)
            aws.clear()
            channel.call(("mark",))
            started = clock.now()
            cpu0, _ = _usage()
            wall0 = time.perf_counter()
            with _profiled():
                report = migration.run(plan, confirm_cutover=True)
            out["wall"] = time.perf_counter() - wall0
            out["cpu"] = _usage()[0] - cpu0
            out["simulated"] = (clock.now() - started).total_seconds()
        out["journal_bytes"] = _file_bytes(journal)
        out["sweeps"] = sum(t.sweeps for t in trackers)
        if os.environ.get("EC2ASR_BENCH_KEEP_JOURNAL"):
            import shutil

            shutil.copy(journal, os.environ["EC2ASR_BENCH_KEEP_JOURNAL"])
    bucket = asr.rate_limiter
    out.update(
        machines=len(plan.to_migrate),
        completed=sum(1 for m in report if m.stage is Stage.COMPLETED),
        reads=counter.reads - base[0],
        writes=counter.writes - base[1],
        aws_calls=sum(aws.values()),
        notes=[
            f"plan() before the run made {out['plan_reads']} ARM reads (not counted)",
            f"client token bucket waited {bucket.reads.waited:.1f} s (reads) and "
            f"{bucket.writes.waited:.1f} s (writes) of simulated time",
        ],
    )
    return out


# -- naive --------------------------------------------------------------------------------


def run_naive_child(cfg: dict[str, Any], channel: Channel, clock: MirrorClock) -> dict[str, Any]:
    from _naive_migration import run_naive

    import ec2asr
    from ec2asr.migration.targets import map_targets

    session = _aws_session(cfg, channel)
    target = ec2asr.TargetSettings(**cfg["target"])
    machines = ec2asr.Ec2Discovery(session).discover(instance_ids=cfg["instance_ids"])
    names = map_targets(machines, target)
    work = [(m.instance_id, str(m.private_ip), names[m.instance_id].vm_name) for m in machines]
    aws = _aws_counter(session)
    channel.call(("mark",))
    started = clock.now()
    cpu0, _ = _usage()
    wall0 = time.perf_counter()
    with _profiled():
        result = run_naive(
            Environment(cfg, clock),
            work,
            target,
            interval=cfg["interval"],
            concurrency=cfg["concurrency"],
            ec2=session.client("ec2"),
        )
    wall = time.perf_counter() - wall0
    cpu = _usage()[0] - cpu0
    c = result.counter
    return {
        "machines": len(work),
        "completed": len(result.completed),
        "reads": c.reads,
        "writes": c.writes,
        "aws_calls": sum(aws.values()),
        "wall": wall,
        "cpu": cpu,
        "simulated": (clock.now() - started).total_seconds(),
        "journal_bytes": None,
        "sweeps": None,
        "setup_calls": result.setup_calls,
        "notes": [f"{iid} failed: {error}" for iid, error in sorted(result.errors.items())[:5]],
    }


RUNS: dict[str, Callable[[dict[str, Any], Channel, MirrorClock], dict[str, Any]]] = {
    "ec2asr": run_ec2asr,
    "naive": run_naive_child,
}


def main() -> int:
    if os.environ.get("EC2ASR_BENCH_TRACEMALLOC"):
        import tracemalloc

        tracemalloc.start(int(os.environ.get("EC2ASR_BENCH_TRACEMALLOC_FRAMES") or 2))
    conn = Connection(int(sys.argv[1]))
    try:
        cfg = conn.recv()
        import logging

        # Per-machine health warnings (ASR's 161011 "no test failover yet") are expected here.
        logging.getLogger("ec2asr").setLevel(logging.ERROR)
        channel = Channel(conn)
        clock = MirrorClock(channel, cfg["start"])
        out = RUNS[cfg["approach"]](cfg, channel, clock)
        cpu, rss = _usage()
        out.update(process_cpu=cpu, peak_rss=rss, clock_advances=clock.advances)
        conn.send(("result", out))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return 1
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
