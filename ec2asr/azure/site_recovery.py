"""``SiteRecoveryClient``: typed Azure Site Recovery operations for the modernized stack.

This package is the only place ec2asr imports ``azure.mgmt.*``. The client wraps
``azure-mgmt-recoveryservicessiterecovery`` 2.x (resource group and vault passed to every call)
and ``azure-mgmt-recoveryservices`` (the vault), speaks ec2asr's frozen models, sends every ARM
call through one client-side rate limiter, and turns every Azure error into an ec2asr error.
"""

from __future__ import annotations

from ec2asr.azure._compute import ComputeOperations
from ec2asr.azure._fabric import FabricOperations
from ec2asr.azure._plans import PlanOperations
from ec2asr.azure._protection import ProtectionOperations

__all__ = ["SiteRecoveryClient"]


class SiteRecoveryClient(FabricOperations, ProtectionOperations, PlanOperations, ComputeOperations):
    """Typed operations over one Recovery Services vault (provider ``InMageRcm``).

    The constructor does no I/O; SDK clients are created on first use.

    Args:
        credential: An azure-identity ``TokenCredential`` (``DefaultAzureCredential()``...).
        subscription_id: The vault's subscription.
        resource_group: The vault's resource group.
        vault: The vault's name.
        base_url: The ARM endpoint (default: Azure public cloud). A loopback ``http://`` URL
            (the rehearsal sandbox) is allowed and gets a bearer-token policy that permits it.
        rate_limiter: A shared :class:`~ec2asr.azure._pipeline.ArmRateLimiter` (one per
            subscription); by default one sized to ARM's limits.
        sleep: How to wait (retries, throttling, polling) — injectable for tests.
        clock: A monotonic clock for the rate limiter.
        polling_interval: Default seconds between polls when ASR gives no ``Retry-After``.
        retry_total: Retries for throttled (429) and transient (5xx) answers.
        client: A ready ``SiteRecoveryManagementClient`` to use instead of building one.
        vaults_client: A ready ``RecoveryServicesClient`` to use instead of building one.
        **sdk_kwargs: Passed to the SDK clients (``proxies``, ``connection_timeout``...).

    Raises:
        InvalidInputError: An argument has the wrong type or value (the subscription id is
            not a GUID; the resource group or vault name breaks ARM's naming rules; the
            credential has no ``get_token``; ``base_url`` is not an http(s) URL; a negative
            polling interval or retry count), or neither credential nor clients are given.
    """
