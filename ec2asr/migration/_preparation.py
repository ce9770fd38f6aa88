"""Fleet-wide preparation: the vault, the policy and its container mapping, once per run.

Each step finds before it creates, so one that failed transiently (or whose answer was lost)
is simply asked again: a second try finds what the first one made, and nothing is created twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ec2asr.errors import AsrJobError, Ec2AsrError
from ec2asr.migration._runtime import FleetContext, is_transient
from ec2asr.migration._unconfirmed import TRANSIENT_JOB_ERRORS
from ec2asr.mobility.base import ApplianceEndpoint

if TYPE_CHECKING:
    from ec2asr.azure.site_recovery import SiteRecoveryClient
    from ec2asr.migration.journal import Journal
    from ec2asr.settings import ReplicationPolicy

__all__ = ["PREPARE_ATTEMPTS", "is_transient_anyhow", "prepare_fleet"]

PREPARE_ATTEMPTS = 5
"""Tries of the fleet-wide preparation on transient failures."""


def is_transient_anyhow(exc: Ec2AsrError) -> bool:
    """A transient request failure, or a job that failed with ASR's transient internal error."""
    return is_transient(exc) or (
        isinstance(exc, AsrJobError) and exc.error_code in TRANSIENT_JOB_ERRORS
    )


def prepare_fleet(
    asr: SiteRecoveryClient,
    journal: Journal,
    policy: ReplicationPolicy,
    endpoint: ApplianceEndpoint,
    fabric: Any,
    *,
    vault_location: str | None,
    sleep: Callable[[float], None],
) -> FleetContext:
    """Ensure the vault (when ``vault_location``), the policy and the container mapping, and
    journal them; transient failures are retried (with backoff) up to ``PREPARE_ATTEMPTS``.

    Raises:
        AzureConflictError: A same-named policy or mapping exists with other settings.
        AzureError: Azure refused or failed a request (or kept failing).
    """
    # Workers of a team prepare one at a time; the others then find everything in place.
    with journal.fleet_lock(sleep=sleep):
        for attempt in range(1, PREPARE_ATTEMPTS + 1):
            try:
                if vault_location:
                    asr.ensure_vault(vault_location)
                container = asr.get_protection_container(fabric.name)
                asr_policy = asr.ensure_policy(policy)
                asr.ensure_container_mapping(fabric.name, container, asr_policy)
                break
            except Ec2AsrError as exc:
                if attempt == PREPARE_ATTEMPTS or not is_transient_anyhow(exc):
                    raise
                sleep(min(60.0, 2.0**attempt))
    journal.set_meta("fabric", fabric.name)
    journal.set_meta("container", container)
    journal.set_meta("policy_id", asr_policy.id)
    return FleetContext(fabric=fabric, container=container, policy=asr_policy, appliance=endpoint)
