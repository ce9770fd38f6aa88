"""Turning Run Command invocations into install results (never carrying the secret)."""

from __future__ import annotations

from typing import Any

from ec2asr._secret import Secret
from ec2asr.aws.ssm import CommandInvocation
from ec2asr.errors import MobilityError
from ec2asr.mobility.base import InstallResult, InstallState
from ec2asr.mobility.manual import InstallJob

__all__ = ["EXIT_CODES", "failed_result", "invocation_result", "scrub", "with_details"]

_OUTPUT_CHARS = 800

EXIT_CODES: dict[int, str] = {
    64: "the script was not run as root",
    65: "no Mobility service package exists for this operating system or architecture",
    66: "the installer package was not found at the installer location",
    67: "the agent configuration could not be read (Parameter Store access or KMS decrypt)",
}
"""What the install scripts' own exit codes mean; any other code is the failing tool's."""


def scrub(text: str, secret: Secret) -> str:
    value = secret.reveal()
    pieces = [value, *(line.strip() for line in value.splitlines())]
    for piece in sorted({p for p in pieces if len(p) >= 8}, key=len, reverse=True):
        text = text.replace(piece, "**********")
    return text


def failed_result(job: InstallJob, message: str, **details: Any) -> InstallResult:
    error = MobilityError(message, instance_id=job.instance_id)
    return InstallResult(
        job.instance_id, InstallState.FAILED, message, error=error, details=details
    )


def with_details(result: InstallResult, **extra: Any) -> InstallResult:
    return InstallResult(
        result.instance_id,
        result.state,
        result.message,
        instructions=result.instructions,
        error=result.error,
        run_as_account=result.run_as_account,
        details={**result.details, **extra},
    )


def invocation_result(
    job: InstallJob, invocation: CommandInvocation, document: str, secret: Secret
) -> InstallResult:
    output = scrub(invocation.output, secret)[-_OUTPUT_CHARS:]
    details = {
        "command_id": invocation.command_id,
        "document": document,
        "status": invocation.status,
        "status_details": invocation.status_details,
        "exit_code": invocation.exit_code,
        "output": output,
    }
    name = job.machine.display_name
    if invocation.status == "Success" and not invocation.exit_code:
        return InstallResult(
            job.instance_id,
            InstallState.INSTALLED,
            f"the Mobility agent is installed on {name} and registered with the appliance",
            details=details,
        )
    code = invocation.exit_code
    parts = [f"the Mobility install on {name} ended {invocation.status}"]
    if invocation.status_details and invocation.status_details != invocation.status:
        parts.append(f"({invocation.status_details})")
    if code is not None and code != -1:
        parts.append(f"with exit code {code}")
        if code in EXIT_CODES:
            parts[-1] += f": {EXIT_CODES[code]}"
    message = " ".join(parts)
    tail = output.strip().splitlines()[-1:] if output.strip() else []
    if tail:
        message += f"; last output: {tail[0][:200]}"
    error = MobilityError(message, instance_id=job.instance_id)
    return InstallResult(
        job.instance_id, InstallState.FAILED, message, error=error, details=details
    )
