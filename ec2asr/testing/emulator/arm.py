"""ARM conventions shared by every handler: ids, timestamps, the error envelope, list pages.

Site Recovery spells the subscriptions segment ``/Subscriptions/`` (capital S) in every id it
returns, in its ``Azure-AsyncOperation`` URLs and in ``nextLink``; Recovery Services vault ids and
``Microsoft.OffAzure`` ids use the ARM-usual ``/subscriptions/``. Both are reproduced here.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "ASR_API_VERSION",
    "SENTINEL_TIME",
    "ArmError",
    "asr_vault_id",
    "format_time",
    "page",
    "stable_guid",
]

ASR_API_VERSION = "2025-08-01"
"""The Site Recovery api-version the emulator speaks (azure-mgmt-recoveryservicessiterecovery 2)."""

SENTINEL_TIME = "1753-01-01T01:01:01Z"
"""ASR's "no value" timestamp (``currentScenario.startTime`` when nothing runs)."""

NEVER_TIME = "1601-01-01T00:00:00.0000000Z"
"""ASR's "never happened" timestamp (``lastSuccessfulTestFailoverTime`` ...)."""

_NAMESPACE = uuid.UUID("6f1c6d2e-3f57-4c0b-9a77-ec2a5e000001")


_TOP_CODES = {400: "BadRequest", 404: "NotFound", 409: "Conflict", 500: "InternalServerError"}
"""The top-level ``code`` Site Recovery puts over its own error in ``details`` (``BadRequest`` for
a 400 is seen in live answers: Azure/azure-powershell#4893, Azure/azure-rest-api-specs#12759;
the others follow the same pattern: an assumption)."""

MISSING_CHILD_CODE = "SubscriptionIdNotRegisteredWithSrs"
"""The ASR code of a live 400 for a Site Recovery child resource that does not exist
(Azure/azure-rest-api-specs#12759: a missing fabric; the emulator uses it for every child)."""


class ArmError(Exception):
    """An error answer: ARM's envelope, or Site Recovery's.

    ARM and the resource providers' platform errors (authentication, api-version, unknown
    resource types, throttling, a missing vault) are ``{"error": {"code", "message"}}``. Site
    Recovery's own errors are ``{"error": {"code": "BadRequest", "message", "details": [{"code":
    "<ASR code>", "message", "possibleCauses", "recommendedAction", ...}]}}`` (seen in live
    answers: Azure/azure-powershell#4893, Azure/azure-rest-api-specs#12759); the server marks
    errors raised by Site Recovery handlers as ``asr``.

    Args:
        status: HTTP status (400, 404, 409, 429, 5xx ...).
        code: The ARM/ASR error code.
        message: Human text.
        extra: Additional members of the ASR error (``possibleCauses``, ``recommendedAction``).
        headers: Extra response headers (``Retry-After`` on 429).
        missing: A Site Recovery child resource does not exist (the server answers it 404 or,
            as the live service has been seen to, 400: ``AsrEmulator(missing_child_status=)``).
        platform: An ARM/RP platform error, never wrapped in Site Recovery's envelope.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        missing: bool = False,
        platform: bool = False,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        self.missing = missing
        self.platform = platform
        self.asr = False

    def detail(self) -> dict[str, Any]:
        """The ASR error object (what goes in ``details[]``)."""
        detail: dict[str, Any] = {"code": self.code, "message": self.message}
        detail.update(self.extra)
        return detail

    def body(self) -> dict[str, Any]:
        """The JSON error envelope."""
        if not self.asr or self.platform:
            error: dict[str, Any] = {"code": self.code, "message": self.message}
            if self.extra:
                error["details"] = [self.detail()]
            return {"error": error}
        top = _TOP_CODES.get(self.status, "BadRequest" if self.status < 500 else "InternalError")
        return {"error": {"code": top, "message": self.message, "details": [self.detail()]}}

    def as_missing_child_400(self) -> ArmError:
        """The same "not found" as the live service has been seen to answer it: a 400."""
        error = ArmError(
            400,
            MISSING_CHILD_CODE,
            f"{self.message} The resource isn't registered with the service.",
            extra={
                "possibleCauses": "The resource does not exist, or was deleted.",
                "recommendedAction": "Check the resource's name and retry.",
            },
        )
        error.asr = True
        return error


def not_found(kind: str, name: str) -> ArmError:
    """The answer for a missing Site Recovery child resource (404, or 400 by the server's
    ``missing_child_status``)."""
    return ArmError(404, "ResourceNotFound", f"The {kind} '{name}' was not found.", missing=True)


def invalid(message: str, *, code: str = "InvalidParameter") -> ArmError:
    """A 400 for a request ASR refuses before doing anything."""
    return ArmError(400, code, message)


def format_time(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a ``Z`` suffix, as ASR writes timestamps."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def parse_time(value: str) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` or offset; fractional digits beyond 6 are dropped).

    Raises:
        ValueError: When the text is not a timestamp.
    """
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        for index, ch in enumerate(rest):
            if not ch.isdigit():
                rest_tail = rest[index:]
                break
            digits += ch
        else:
            rest_tail = ""
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest_tail}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def stable_guid(*parts: str) -> str:
    """A deterministic GUID derived from ``parts`` (stable across runs)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(p.lower() for p in parts)))


def asr_vault_id(subscription_id: str, resource_group: str, vault: str) -> str:
    """The vault prefix ASR writes into ids (``/Subscriptions/`` capitalised)."""
    return (
        f"/Subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{vault}"
    )


def arm_vault_id(subscription_id: str, resource_group: str, vault: str) -> str:
    """The vault id as the Recovery Services RP writes it (``/subscriptions/``)."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{vault}"
    )


def last_segment(resource_id: str) -> str:
    """The name at the end of an ARM id."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def encode_token(offset: int) -> str:
    """An opaque continuation token for list paging."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    """Read a token written by :func:`encode_token`.

    Raises:
        ArmError: 400 when the token is not one the emulator issued.
    """
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = int(json.loads(base64.urlsafe_b64decode(padded.encode()))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid("The continuation token is not valid.") from exc
    if offset < 0:
        raise invalid("The continuation token is not valid.")
    return offset


def page(
    items: Sequence[dict[str, Any]],
    *,
    offset: int,
    size: int,
    next_url: str | None,
    with_null_next: bool = False,
) -> dict[str, Any]:
    """One page of an ARM list: ``{"value": [...], "nextLink": ...}``.

    Args:
        items: Every item, in order.
        offset: Index of the first item of this page.
        size: Page size.
        next_url: The URL of the next page (built by the caller from the token), or ``None``
            when this is the last page.
        with_null_next: Write ``"nextLink": null`` on the last page (some ASR lists do).
    """
    body: dict[str, Any] = {"value": list(items[offset : offset + size])}
    if next_url is not None:
        body["nextLink"] = next_url
    elif with_null_next:
        body["nextLink"] = None
    return body
