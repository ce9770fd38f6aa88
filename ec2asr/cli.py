"""``python -m ec2asr``: the command line.

Commands:
    demo      a rehearsal on the sandbox (no cloud account needed)
    discover  list EC2 instances as ec2asr sees them
    assess    readiness of EC2 instances for Azure Site Recovery
    plan      plan a migration from a JSON config (reads only)
    migrate   run or resume it (never cuts over without --confirm-cutover)
    status    the migration's report, from its journal
    rollback  before commit: undo cutovers (VM deallocated, protection disabled, source started)
    abort     revoke the security-group rules the migration leased

Exit status: 0 success, 2 bad arguments or an ec2asr error, 3 machines blocked or failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from ec2asr._migrate_cli import add_commands
from ec2asr.errors import Ec2AsrError, InvalidInputError

__all__ = ["main"]

logger = logging.getLogger("ec2asr")


def _tags(values: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, eq, val = value.partition("=")
        if not eq or not key:
            raise InvalidInputError(f"--tag takes KEY=VALUE, got {value!r}")
        out[key] = val
    return out


def _selectors(args: argparse.Namespace) -> dict[str, Any]:
    selectors: dict[str, Any] = {}
    if args.instance_id:
        selectors["instance_ids"] = args.instance_id
    if args.tag:
        selectors["tags"] = _tags(args.tag)
    if args.vpc:
        selectors["vpc_id"] = args.vpc
    return selectors


def _discover(args: argparse.Namespace) -> list[Any]:
    import boto3

    from ec2asr.aws import Ec2Discovery

    session = boto3.Session(region_name=args.region, profile_name=args.profile)
    return Ec2Discovery(session).discover(**_selectors(args))


def cmd_discover(args: argparse.Namespace) -> int:
    """List instances with their OS and the evidence for it."""
    machines = _discover(args)
    if args.json:
        print(json.dumps([_machine_summary(m) for m in machines], indent=2))
        return 0
    for m in machines:
        os_name = m.os.name or "unknown OS"
        evidence = "; ".join(str(e) for e in m.os.evidence_for("name")) or "no evidence"
        print(f"{m.instance_id}  {m.name or '-':<20}  {m.state:<8}  {os_name}  ({evidence})")
    print(f"{len(machines)} instances")
    return 0


def _machine_summary(m: Any) -> dict[str, Any]:
    return {
        "instance_id": m.instance_id,
        "name": m.name,
        "state": m.state,
        "instance_type": m.instance_type.name,
        "private_ip": m.private_ip,
        "os": {"family": m.os.family.value, "name": m.os.name, "version": m.os.version},
        "os_evidence": [str(e) for e in m.os.evidence],
    }


def cmd_assess(args: argparse.Namespace) -> int:
    """Assess readiness; exit 0 when nothing is blocked, 3 when something is."""
    from ec2asr.assessment import assess

    machines = _discover(args)
    report = assess(machines, acknowledge_instance_store=args.acknowledge_instance_store or ())
    if args.json:
        print(report.to_json())
    else:
        print(report)
        print(report.summary())
    return 3 if report.blocked else 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the rehearsal on the sandbox."""
    from ec2asr.demo import run_demo

    return run_demo(push=args.push, machines=args.machines, out=sys.stdout)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ec2asr",
        description="Migrate Amazon EC2 instances to Azure VMs with Azure Site Recovery.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="rehearse a migration on the local sandbox")
    demo.add_argument("--push", action="store_true", help="push install instead of SSM")
    demo.add_argument(
        "--machines", type=int, default=None, help="fleet size (default: one per profile)"
    )
    demo.set_defaults(func=cmd_demo)

    for name, func, text in (
        ("discover", cmd_discover, "list EC2 instances as ec2asr sees them"),
        ("assess", cmd_assess, "readiness of EC2 instances for ASR"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--region", help="AWS region (default: your AWS configuration)")
        p.add_argument("--profile", help="AWS profile name")
        p.add_argument("--instance-id", action="append", help="an instance id (repeatable)")
        p.add_argument("--tag", action="append", help="KEY=VALUE tag selector (repeatable)")
        p.add_argument("--vpc", help="only instances in this VPC")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "assess":
            p.add_argument(
                "--acknowledge-instance-store",
                action="append",
                metavar="INSTANCE_ID",
                help="accept that this instance's instance-store data is not copied",
            )
        p.set_defaults(func=func)
    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Exit status: 0 success, 2 bad arguments or an ec2asr error, 3 machines blocked (assess,
    plan) or blocked or failed (migrate, status, rollback), 130 interrupted.
    """
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except Ec2AsrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: every step is in the journal; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
