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
        arm_budget: Where this client's ARM token buckets live, so that several clients,
            processes or hosts draw on **one** budget per subscription (ARM's limits are per
            subscription): ``"host"``, a SQLite file every ec2asr process of this host shares
            (in the user's cache folder); a file path, the same at that path; a budget store
            (:class:`~ec2asr.MemoryBudget` for the clients of one process,
            :class:`~ec2asr.SqliteBudget`); ``"process"``, this client's own buckets. None
            (the default): the ``EC2ASR_ARM_BUDGET`` environment variable (same values), else
            this client's own buckets. A run on a PostgreSQL journal draws on the journal's
            budget instead, shared by every worker of the team.
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
            polling interval or retry count; ``arm_budget`` is none of the above, or is given
            with ``rate_limiter``; ``rate_limiter`` is another subscription's), or neither
            credential nor clients are given. A budget file that cannot be opened is refused
            (``InvalidInputError``) at the first request, before it is sent.
    """
