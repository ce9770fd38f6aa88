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


class ArmError(Exception):
    """An error answered in ARM's envelope ``{"error": {"code", "message", ...}}``.

    Args:
        status: HTTP status (400, 404, 409, 429, 5xx ...).
        code: The ARM/ASR error code.
        message: Human text.
        extra: Additional members of the ``error`` object (ASR adds ``possibleCauses`` and
            ``recommendedAction``).
        headers: Extra response headers (``Retry-After`` on 429).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON error envelope."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error.update(self.extra)
        return {"error": error}


def not_found(kind: str, name: str) -> ArmError:
    """The 404 ARM answers for a missing resource."""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The {kind} '{name}' was not found.",
    )


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
