"""The plumbing shared by the SiteRecoveryClient's operation groups: SDK clients, pipeline, LROs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

from ec2asr import _validate as v
from ec2asr.azure._budget import ArmBudget, resolve_budget
from ec2asr.azure._errors import translating
from ec2asr.azure._pipeline import (
    ArmRateLimiter,
    LoopbackBearerPolicy,
    ThrottleRetryPolicy,
    is_loopback_url,
)
from ec2asr.azure.operation import AsrOperation
from ec2asr.errors import InvalidInputError

T = TypeVar("T")

ARM_SCOPE = "https://management.azure.com/.default"

ASR_API_VERSION = "2025-08-01"
"""The Site Recovery api-version of the SDK (2.x) ec2asr wraps, for the reads it sends raw."""


class _DeferredArmPolling(ARMPolling):
    """ARM polling that reads the initial answer but leaves the waiting to ec2asr.

    ``begin_*(polling=_DeferredArmPolling())`` returns at once with a poller whose
    ``continuation_token()`` is the SDK's own (JSON) token: ``begin_*(continuation_token=...)``
    on a fresh SDK client resumes it. ec2asr follows the job itself (one sweep for the fleet).

    It says it is finished, so the ``LROPoller`` starts no thread to run it (a thread per ASR
    write, only to call the no-op :meth:`run`); nothing waits on that poller.
    """

    def run(self) -> None:
        return None

    def finished(self) -> bool:
        return True


class _SleepingTransport(RequestsTransport):  # type: ignore[misc]
    """requests transport whose ``sleep`` (used by retries and SDK pollers) is injectable."""

    def __init__(self, *, sleep: Callable[[float], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sleep_fn = sleep

    def sleep(self, duration: float) -> None:
        self._sleep_fn(duration)


class ClientBase:
    """SDK clients, the shared pipeline settings and the LRO helper."""

    _sdk_client: SiteRecoveryManagementClient | None
    _vaults_client: Any

    def __init__(
        self,
        credential: TokenCredential | None,
        subscription_id: str,
        *,
        resource_group: str,
        vault: str,
        base_url: str | None = None,
        rate_limiter: ArmRateLimiter | None = None,
        arm_budget: ArmBudget = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        polling_interval: float = 30.0,
        retry_total: int = 8,
        client: SiteRecoveryManagementClient | None = None,
        vaults_client: Any = None,
        **sdk_kwargs: Any,
    ) -> None:
        v.check_subscription_id("subscription_id", subscription_id)
        v.check_resource_group_name("resource_group", resource_group)
        v.check_vault_name("vault", vault)
        if credential is None and client is None:
            raise InvalidInputError("a credential (or a ready SDK client) is required")
        if credential is not None and not callable(getattr(credential, "get_token", None)):
            raise InvalidInputError(
                "credential must be an azure-identity TokenCredential (with get_token), "
                f"not {v.shown(credential)}"
            )
        if base_url is not None and (
            not isinstance(base_url, str) or not base_url.startswith(("https://", "http://"))
        ):
            raise InvalidInputError(f"base_url must be an http(s) URL, not {v.shown(base_url)}")
        if rate_limiter is not None and not isinstance(rate_limiter, ArmRateLimiter):
            raise InvalidInputError(
                f"rate_limiter must be an ArmRateLimiter, not {v.shown(rate_limiter)}"
            )
        if rate_limiter is not None and arm_budget is not None:
            raise InvalidInputError(
                "give rate_limiter or arm_budget, not both (a limiter has its budget: "
                "ArmRateLimiter(store=...) or limiter.share(store))"
            )
        store = resolve_budget(arm_budget) if rate_limiter is None else None
        v.check_callable("sleep", sleep)
        v.check_callable("clock", clock)
        v.check_number("polling_interval", polling_interval, minimum=0)
        v.check_int("retry_total", retry_total, minimum=0)
        self._credential = credential
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.vault = vault
        self.base_url = base_url
        if rate_limiter is not None:
            rate_limiter.bind(subscription_id)
        self.rate_limiter = rate_limiter or ArmRateLimiter(
            clock=clock, sleep=sleep, store=store, subscription=subscription_id
        )
        self._sleep = sleep
        self._clock = clock
        self.polling_interval = polling_interval
        self._retry_total = retry_total
        self._sdk_kwargs = sdk_kwargs
        self._sdk_client = client
        self._vaults_client = vaults_client

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(subscription_id={self.subscription_id!r}, "
            f"resource_group={self.resource_group!r}, vault={self.vault!r})"
        )

    # -- SDK clients -----------------------------------------------------------------------

    @property
    def _cred(self) -> TokenCredential:
        if self._credential is None:
            raise InvalidInputError("this client was given SDK clients, not a credential")
        return self._credential

    def _pipeline_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "per_retry_policies": [self.rate_limiter.policy()],
            "retry_policy": ThrottleRetryPolicy(sleep=self._sleep, retry_total=self._retry_total),
            "transport": _SleepingTransport(sleep=self._sleep),
            "polling_interval": self.polling_interval,
        }
        if self.base_url and is_loopback_url(self.base_url) and self.base_url.startswith("http:"):
            kwargs["authentication_policy"] = LoopbackBearerPolicy(self._cred, ARM_SCOPE)
        kwargs.update(self._sdk_kwargs)
        return kwargs

    @property
    def sdk(self) -> SiteRecoveryManagementClient:
        """The underlying ``SiteRecoveryManagementClient`` (created on first use)."""
        if self._sdk_client is None:
            self._sdk_client = SiteRecoveryManagementClient(
                self._cred,
                self.subscription_id,
                base_url=self.base_url,
                **self._pipeline_kwargs(),
            )
        return self._sdk_client

    @property
    def vaults_sdk(self) -> Any:
        """The underlying ``RecoveryServicesClient`` (created on first use)."""
        if self._vaults_client is None:
            from azure.mgmt.recoveryservices import RecoveryServicesClient

            self._vaults_client = RecoveryServicesClient(
                self._cred,
                self.subscription_id,
                base_url=self.base_url,
                **self._pipeline_kwargs(),
            )
        return self._vaults_client

    @property
    def _rv(self) -> tuple[str, str]:
        return self.resource_group, self.vault

    @property
    def vault_id(self) -> str:
        """The vault's ARM id (ASR spells it with ``/Subscriptions/``)."""
        return (
            f"/Subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{self.vault}"
        )

    # -- raw requests (OffAzure, operation status, sweeps) --------------------------------

    def _asr_url(self, *segments: str, **query: str) -> str:
        """The vault-relative ARM path of a Site Recovery resource, with the api-version (and
        ``query``) in the query string; every segment is URL-quoted."""
        path = "/".join(quote(s, safe="") for s in segments)
        params = urlencode({"api-version": ASR_API_VERSION, **query}, quote_via=quote)
        return (
            f"/subscriptions/{quote(self.subscription_id, safe='')}/resourceGroups/"
            f"{quote(self.resource_group, safe='')}/providers/Microsoft.RecoveryServices/vaults/"
            f"{quote(self.vault, safe='')}/{path}?{params}"
        )

    def _send(self, request: HttpRequest) -> Any:
        return self.sdk.send_request(request)

    def _get_json(self, url: str, *, what: str) -> dict[str, Any]:
        with translating(what):
            response = self._send(HttpRequest("GET", url))
            response.raise_for_status()
            body = response.json()
        return body if isinstance(body, dict) else {}

    def _list_json(self, url: str, *, what: str) -> Iterator[dict[str, Any]]:
        next_url: str | None = url
        while next_url:
            body = self._get_json(next_url, what=what)
            yield from body.get("value") or ()
            next_url = body.get("nextLink")

    # -- LROs ----------------------------------------------------------------------------

    def _begin(
        self, what: str, begin: Callable[..., Any], fetch: Callable[[], T]
    ) -> AsrOperation[T]:
        with translating(what):
            poller = begin(polling=_DeferredArmPolling(0))
            initial = poller.polling_method()._initial_response
            token = poller.continuation_token()
        return AsrOperation.from_initial(
            initial,
            what=what,
            send=self._send,
            fetch=fetch,
            continuation_token=token,
            sleep=self._sleep,
            default_interval=self.polling_interval,
        )
