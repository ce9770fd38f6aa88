"""Translate azure-core errors into ec2asr's error tree, at the boundary."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from azure.core.exceptions import (
    AzureError as SdkAzureError,
)
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from ec2asr.errors import (
    AsrJobError,
    AzureConflictError,
    AzureError,
    AzurePermissionError,
    AzureResourceNotFoundError,
    AzureThrottlingError,
)

__all__ = [
    "NOT_FOUND_CODES",
    "answer_may_be_lost",
    "asr_error_details",
    "translate",
    "translating",
]

T = TypeVar("T")


def _body(exc: HttpResponseError) -> dict[str, Any]:
    response = getattr(exc, "response", None)
    if response is None:
        return {}
    try:
        data = json.loads(response.text())
    except (ValueError, TypeError, AttributeError):
        return {}
    return data if isinstance(data, dict) else {}


NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFound",
        "NotFound",
        # Site Recovery answers a missing child resource 400 with this code in details[]
        # (Azure/azure-rest-api-specs#12759, a missing fabric).
        "SubscriptionIdNotRegisteredWithSrs",
    }
)
"""ASR/ARM codes that mean "it does not exist", whatever the HTTP status."""

_WRAPPERS = frozenset(
    {"BadRequest", "NotFound", "Conflict", "InternalServerError", "InternalError"}
)
"""Top-level codes Site Recovery puts over its own error in ``details``."""


def asr_error_details(body: dict[str, Any]) -> dict[str, str | None]:
    """ASR's code / message / possible causes / recommended action from an error body.

    Site Recovery answers ``{"error": {"code": "BadRequest", "message", "details": [{"code":
    "<ASR code>", "message", "possibleCauses", "recommendedAction"}]}}``: the first detail wins
    over the generic top level; an ARM error without details is read as it is.
    """
    err = body.get("error", body) if isinstance(body, dict) else {}
    if not isinstance(err, dict):
        return {}
    details = err.get("details") or []
    inner = details[0] if details and isinstance(details[0], dict) else {}

    def pick(*keys: str) -> str | None:
        for source in (inner, err):
            for key in keys:
                value = source.get(key)
                if value not in (None, ""):
                    return str(value)
        return None

    return {
        "code": pick("code", "errorCode"),
        "message": pick("message", "errorMessage"),
        "possible_causes": pick("possibleCauses"),
        "recommended_action": pick("recommendedAction"),
    }


def translate(exc: SdkAzureError, *, what: str) -> AzureError:
    """Return the ec2asr error for an azure-core error raised while doing ``what``."""
    if isinstance(exc, ClientAuthenticationError):
        return AzurePermissionError(
            f"Azure refused to {what}: authentication or authorisation failed ({exc.message})",
            status_code=getattr(exc, "status_code", None),
        )
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        details = asr_error_details(_body(exc))
        code = details.get("code") or (exc.error.code if exc.error else None)
        message = details.get("message") or exc.reason or str(exc.message)
        text = f"Azure refused to {what}: {message}"
        if status == 404 or isinstance(exc, ResourceNotFoundError) or code in NOT_FOUND_CODES:
            return AzureResourceNotFoundError(text, code=code, status_code=status)
        if status in (401, 403):
            return AzurePermissionError(text, code=code, status_code=status)
        if status == 429:
            return AzureThrottlingError(
                f"Azure kept throttling ({what}) after honouring Retry-After",
                code=code,
                status_code=status,
            )
        if details.get("possible_causes") or details.get("recommended_action"):
            return AsrJobError(
                text,
                error_code=code,
                possible_causes=details.get("possible_causes"),
                recommended_action=details.get("recommended_action"),
                status_code=status,
            )
        if status == 409:
            return AzureConflictError(text, code=code, status_code=status)
        if code and status is not None and 400 <= status < 500:
            return AsrJobError(text, error_code=code, status_code=status)
        return AzureError(text, code=code, status_code=status)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return AzureError(f"could not reach Azure to {what}: {exc.message}")
    return AzureError(f"Azure failed to {what}: {exc}")


@contextmanager
def translating(what: str) -> Iterator[None]:
    """Run a block, turning azure-core errors into ec2asr errors (``raise ... from exc``)."""
    try:
        yield
    except SdkAzureError as exc:
        raise translate(exc, what=what) from exc


def call(what: str, fn: Callable[[], T]) -> T:
    """Call ``fn`` with azure-core errors translated."""
    with translating(what):
        return fn()


def answer_may_be_lost(exc: Exception) -> bool:
    """True when a write may have been accepted although no answer came back: the connection
    broke (no status) or ARM answered 5xx. A 4xx (429 included) is a clear refusal."""
    if not isinstance(exc, AzureError) or isinstance(exc, AsrJobError):
        return False
    return exc.status_code is None or exc.status_code >= 500
