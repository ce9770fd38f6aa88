"""``python -m ec2asr``: the command line.

Commands:
    demo      a rehearsal on the sandbox (no cloud account needed)
    sandbox   run the sandbox in the foreground, for the other commands to rehearse against
    discover  list EC2 instances as ec2asr sees them
    assess    readiness of EC2 instances for Azure Site Recovery
    plan      plan a migration from a JSON config (reads only; --validate-only: the config)
    migrate   run or resume it (never cuts over without --confirm-cutover)
    status    the migration's report, from its journal
    report    the migration's timeline as one HTML page, from its journal
    rollback  before commit: undo cutovers (VM deallocated, protection disabled, source started)
    abort     revoke the security-group rules the migration leased

Every error is one ``error:`` line on stderr; the exit status says what happened
(:class:`ec2asr._cli_exit.ExitCode`, tabled in ``docs/cli.md``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ec2asr._cli_exit import ExitCode
from ec2asr._migrate_cli import add_commands, cli_voice
from ec2asr._version import __version__
from ec2asr.errors import Ec2AsrError, InvalidInputError, JournalLockedError

__all__ = ["main"]

logger = logging.getLogger("ec2asr")

SANDBOX_EXTRA = "python -m pip install 'ec2asr[sandbox]'"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one ``error:`` line (``--help`` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"error: {self.prog}: {message} (see --help)\n")


class _CliFormatter(logging.Formatter):
    """Log records in the command line's words (``--confirm-cutover``)."""

    def format(self, record: logging.LogRecord) -> str:
        return cli_voice(super().format(record))


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
    from botocore.exceptions import BotoCoreError

    from ec2asr.aws import Ec2Discovery

    selectors = _selectors(args)  # bad selectors fail before any AWS call
    try:
        session = boto3.Session(region_name=args.region, profile_name=args.profile)
    except BotoCoreError as exc:  # ProfileNotFound and friends
        raise InvalidInputError(f"--profile: {exc}") from None
    if session.region_name is None:
        raise InvalidInputError(
            "no AWS region: pass --region, or set one in your AWS profile or AWS_DEFAULT_REGION"
        )
    return Ec2Discovery(session).discover(**selectors)


def cmd_discover(args: argparse.Namespace) -> int:
    """List instances with their OS and the evidence for it."""
    machines = _discover(args)
    if args.json:
        print(json.dumps([_machine_summary(m) for m in machines], indent=2))
        return ExitCode.OK
    for m in machines:
        os_name = m.os.name or "unknown OS"
        evidence = "; ".join(str(e) for e in m.os.evidence_for("name")) or "no evidence"
        print(f"{m.instance_id}  {m.name or '-':<20}  {m.state:<8}  {os_name}  ({evidence})")
    print(f"{len(machines)} instances")
    return ExitCode.OK


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
    """Assess readiness; exit 0 when nothing is blocked, 4 when something is."""
    from ec2asr.assessment import assess

    machines = _discover(args)
    report = assess(machines, acknowledge_instance_store=args.acknowledge_instance_store or ())
    print(report.to_json() if args.json else str(report))  # str() ends with the summary
    return ExitCode.BLOCKED if report.blocked else ExitCode.OK


def _require_sandbox_extra(command: str) -> None:
    try:
        import moto  # noqa: F401
    except ImportError:
        raise InvalidInputError(
            f"`{command}` needs the rehearsal sandbox, which is not installed: {SANDBOX_EXTRA}"
        ) from None
    # This process only talks to the sandbox; moto builds boto3 sessions of its own, which
    # would fail on a profile the user selected for real AWS (or find one that does not exist).
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the rehearsal on the sandbox."""
    _require_sandbox_extra("demo")
    from ec2asr.demo import run_demo

    return run_demo(push=args.push, machines=args.machines, out=sys.stdout)


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Serve the sandbox in the foreground until Ctrl-C or SIGTERM."""
    _require_sandbox_extra("sandbox")
    from ec2asr._cli_sandbox import serve

    return serve(args)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m ec2asr",
        description="Migrate Amazon EC2 instances to Azure VMs with Azure Site Recovery.",
        epilog="Exit statuses: see https://github.com/ec2asr/ec2asr/blob/main/docs/cli.md",
    )
    parser.add_argument("--version", action="version", version=f"ec2asr {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="rehearse a migration on the local sandbox")
    demo.add_argument("--push", action="store_true", help="push install instead of SSM")
    demo.add_argument(
        "--machines", type=int, default=None, help="fleet size (default: one per profile)"
    )
    demo.set_defaults(func=cmd_demo)

    from ec2asr._cli_sandbox import add_arguments

    sandbox = sub.add_parser(
        "sandbox",
        help="serve the rehearsal sandbox and write a config for the other commands",
        description=(
            "Start the rehearsal sandbox (moto and the ASR emulator on 127.0.0.1), seed a fleet, "
            "write a ready config (wave-1.json) and serve until Ctrl-C: run plan, migrate, "
            "status, report and rollback against it from another shell."
        ),
    )
    add_arguments(sandbox)
    sandbox.set_defaults(func=cmd_sandbox)

    for name, func, text in (
        ("discover", cmd_discover, "list EC2 instances as ec2asr sees them"),
        ("assess", cmd_assess, "readiness of EC2 instances for ASR (exit 4: some blocked)"),
    ):
        p = sub.add_parser(name, help=text, description=text)
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


def _error(text: str, code: ExitCode) -> int:
    print(f"error: {' '.join(cli_voice(text).split())}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (see ``docs/cli.md``)."""
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CliFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    try:
        return int(args.func(args))
    except InvalidInputError as exc:
        return _error(str(exc), ExitCode.USAGE)
    except JournalLockedError as exc:
        return _error(str(exc), ExitCode.ERROR)
    except Ec2AsrError as exc:
        return _error(str(exc), ExitCode.ERROR)
    except KeyboardInterrupt:
        print(
            "interrupted: every step is in the journal; run the same command again to resume",
            file=sys.stderr,
        )
        return ExitCode.INTERRUPTED
    except Exception as exc:
        logger.debug("unexpected error", exc_info=True)
        if type(exc).__module__.split(".")[0] in ("botocore", "boto3", "azure"):
            # The SDKs' own errors that reach here are about the environment (credentials,
            # endpoints, the network), not ec2asr.
            return _error(f"{type(exc).__name__}: {exc}", ExitCode.ERROR)
        hint = "" if args.verbose >= 2 else "; run with -vv for the traceback"
        return _error(
            f"unexpected {type(exc).__name__}: {exc}{hint} (please report it)",
            ExitCode.INTERNAL,
        )
