"""``python -m ec2asr sandbox``: the rehearsal sandbox in the foreground, for a second shell.

It starts moto and the ASR emulator on 127.0.0.1 (free ports), seeds a fleet, writes a ready
config (``wave-1.json``, with the Mobility agent configuration beside it) and serves until
Ctrl-C or SIGTERM, then stops both servers. From another shell, ``plan``, ``migrate``,
``status``, ``report`` and ``rollback`` run against it exactly as against AWS and Azure: the
config's loopback endpoints make the command line use the sandbox's dummy credentials, and its
``simulated_clock`` makes both processes agree on the time. The emulator's clock runs on real
time at ``--speed`` simulated seconds per real second, so a second shell's waits see hours of
replication pass in seconds.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

from ec2asr.errors import InvalidInputError

__all__ = ["CONFIG_NAME", "READY", "add_arguments", "serve", "write_config"]

CONFIG_NAME = "wave-1.json"
READY = "ec2asr sandbox ready:"
"""The line (then the config's path) printed once the sandbox serves."""

_RG = "/subscriptions/00000000-0000-4000-8000-0000000ec2a5/resourceGroups/migrated-from-aws"
_DEFAULT_SPEED = 600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``sandbox`` command's options."""
    parser.add_argument(
        "--dir",
        default="ec2asr-sandbox",
        metavar="DIR",
        help="where to write wave-1.json and the agent configuration (default: ./ec2asr-sandbox)",
    )
    parser.add_argument(
        "--machines", type=int, default=None, help="fleet size (default: one per profile)"
    )
    parser.add_argument(
        "--profile",
        action="append",
        dest="profiles",
        metavar="KEY",
        help="seed only this fleet profile (repeatable; see ec2asr.testing.PROFILES)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=_DEFAULT_SPEED,
        metavar="N",
        help=f"simulated seconds per real second (default: {_DEFAULT_SPEED:g})",
    )


def write_config(
    sandbox: Any, folder: Path, *, epoch: float, start: datetime, speed: float
) -> Path:
    """Write ``wave-1.json`` and the agent configuration it names into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    agent_config = folder / "MobilityServiceConfig.json"
    agent_config.write_text(sandbox.emulator.mobility_configuration().reveal(), encoding="utf-8")
    agent_config.chmod(0o600)
    data = {
        "_comment": (
            "written by `python -m ec2asr sandbox`: a rehearsal against the local sandbox; "
            "valid only while it runs"
        ),
        "name": "wave-1",
        "journal": "wave-1.sqlite",
        "aws": {
            "region": sandbox.region,
            "endpoint_url": sandbox.aws_endpoint_url,
            "tags": {"MigrationWave": "wave-1"},
        },
        "azure": {
            "subscription_id": sandbox.subscription_id,
            "resource_group": sandbox.resource_group,
            "vault": sandbox.vault,
            "base_url": sandbox.base_url,
        },
        "target": {
            "resource_group_id": _RG,
            "network_id": f"{_RG}/providers/Microsoft.Network/virtualNetworks/prod-vnet",
            "subnet_name": "servers",
            "log_storage_account_id": f"{_RG}/providers/Microsoft.Storage/storageAccounts/asrcache",
            "test_network_id": f"{_RG}/providers/Microsoft.Network/virtualNetworks/test-vnet",
            "tags": {"migrated-by": "ec2asr"},
        },
        "installer": {
            "kind": "ssm",
            "agent_config_file": agent_config.name,
            "installer_location": "s3://asr-installers/agents/",
        },
        "manage_security_groups": True,
        "poll_interval": 60,
        "simulated_clock": {
            "start": start.isoformat(),
            "epoch": epoch,
            "speed": speed,
        },
    }
    path = folder / CONFIG_NAME
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def serve(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    """Run the sandbox until Ctrl-C, SIGTERM or ``stop`` is set; return the exit status.

    Raises:
        InvalidInputError: A bad option (before anything starts).
    """
    from moto.core.models import DEFAULT_ACCOUNT_ID

    from ec2asr.testing import Sandbox, SimulatedClock, Timings

    if args.speed <= 0:
        raise InvalidInputError("--speed must be a positive number")
    if args.machines is not None and args.machines < 1:
        raise InvalidInputError("--machines must be at least 1")
    stop = stop or threading.Event()
    previous = _on_signals(stop)
    folder = Path(args.dir).resolve()
    epoch = time.time()
    start = datetime.fromtimestamp(epoch, timezone.utc)
    clock = SimulatedClock(start, speed=args.speed, monotonic=time.time)
    sandbox = Sandbox(
        clock=clock, timings=Timings(bandwidth_mbps=1000), aws_account_id=DEFAULT_ACCOUNT_ID
    )
    try:
        with sandbox:
            fleet = sandbox.seed_fleet(args.machines, profiles=args.profiles)
            config = write_config(sandbox, folder, epoch=epoch, start=start, speed=args.speed)
            say = _printer()
            say(f"AWS (moto):          {sandbox.aws_endpoint_url}  region {sandbox.region}")
            say(f"Azure (ASR emulator): {sandbox.base_url}  vault {sandbox.vault}")
            say(
                f"{len(fleet)} EC2 instances tagged MigrationWave=wave-1, a replication appliance "
                f"({fleet.appliance.private_ip}); simulated clock at {args.speed:g}x"
            )
            say("From another shell:")
            for command in ("plan", "migrate", "status", "report --html timeline.html"):
                say(f"  python -m ec2asr {command} --config {config}")
            say("Ctrl-C stops the sandbox.")
            say(f"{READY} {config}")
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _printer()("sandbox stopped; its servers are down (the files it wrote stay)")
    return 0


def _printer() -> Any:
    def say(text: str) -> None:
        print(text, flush=True)

    return say


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGINT and SIGTERM set ``stop`` (SIGINT too: a shell may start us with it ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals reach the main thread only; ``stop`` ends the serving

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
