"""The boto3 boundary: client configuration, error translation and batching helpers.

Every botocore exception that leaves an AWS call in ec2asr passes through
:func:`translate_errors` (or :func:`translate_client_error`) and becomes an
:class:`~ec2asr.errors.AwsError` with the original kept as ``__cause__``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ec2asr.errors import (
    AwsError,
    AwsPermissionError,
    AwsThrottlingError,
    InstancesNotFoundError,
)

__all__ = [
    "DEFAULT_CONFIG",
    "FILTER_VALUES_LIMIT",
    "chunked",
    "client_config",
    "paginate",
    "translate_client_error",
    "translate_errors",
]

T = TypeVar("T")

FILTER_VALUES_LIMIT = 200
"""Values per EC2 filter that every Describe* call accepts."""

DEFAULT_CONFIG = Config(retries={"mode": "standard"}, user_agent_extra="ec2asr")
"""botocore's standard retry mode (exponential back-off with jitter, throttling aware)."""

PERMISSION_CODES = frozenset(
    {
        "UnauthorizedOperation",
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedAccess",
        "OptInRequired",
    }
)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
    }
)
CREDENTIAL_CODES = frozenset(
    {
        "AuthFailure",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)
_INSTANCE_ID = re.compile(r"\bi-[0-9a-f]{8,17}\b")


def client_config(config: Config | None) -> Config:
    """Return ec2asr's default config, overridden by whatever the caller set in ``config``."""
    return DEFAULT_CONFIG if config is None else DEFAULT_CONFIG.merge(config)


def action_name(client: Any, operation: str) -> str:
    """``ec2:DescribeInstances`` for an operation on a boto3 client (the IAM action name)."""
    prefix = client.meta.service_model.signing_name or client.meta.service_model.service_name
    return f"{prefix}:{operation}"


def translate_client_error(exc: ClientError, *, action: str | None = None) -> AwsError:
    """Translate a botocore ``ClientError`` into the ec2asr error tree.

    Args:
        exc: The botocore error.
        action: The IAM action (``ec2:DescribeInstances``); derived from the error when omitted.

    Returns:
        An :class:`AwsPermissionError`, :class:`AwsThrottlingError`,
        :class:`InstancesNotFoundError` or plain :class:`AwsError`. The caller raises it
        ``from exc``.
    """
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "").strip()
    operation = getattr(exc, "operation_name", None) or "unknown operation"
    action = action or f"ec2:{operation}"
    if code in PERMISSION_CODES:
        return AwsPermissionError(action, code=code, detail=message or None)
    if code in THROTTLING_CODES:
        return AwsThrottlingError(
            f"AWS kept throttling {action} after retries ({code}): {message}".rstrip(": "),
            code=code,
            action=action,
        )
    if code.startswith("InvalidInstanceID."):
        missing = _INSTANCE_ID.findall(message)
        if missing:
            return InstancesNotFoundError(missing, code=code, action=action)
    if code in CREDENTIAL_CODES:
        return AwsError(
            f"AWS did not accept the caller's credentials for {action} ({code}): {message}",
            code=code,
            action=action,
        )
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    shown = code or f"HTTP {status}"
    return AwsError(
        f"{action} failed ({shown}): {message}".rstrip(": "), code=code or None, action=action
    )


@contextlib.contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Translate any botocore exception raised inside the block.

    Raises:
        AwsPermissionError: AWS refused ``action`` for the caller's identity.
        AwsThrottlingError: Still throttled after botocore's retries.
        InstancesNotFoundError: AWS said some instance ids do not exist.
        AwsError: Any other AWS or connection failure.
    """
    try:
        yield
    except ClientError as exc:
        raise translate_client_error(exc, action=action) from exc
    except NoCredentialsError as exc:
        raise AwsError(
            f"no AWS credentials found for {action}: configure the boto3 session "
            "(profile, environment or instance role)",
            action=action,
        ) from exc
    except BotoCoreError as exc:
        raise AwsError(f"{action} failed: {exc}", action=action) from exc


def chunked(values: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield lists of at most ``size`` values, in order."""
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def paginate(
    client: Any,
    operation: str,
    result_key: str,
    *,
    page_size: int | None = None,
    **params: Any,
) -> list[dict[str, Any]]:
    """Call a paginated operation until ``NextToken`` runs out; return every item of a key.

    Raises:
        AwsError: (or a subclass) translated from botocore, naming the IAM action.
    """
    action = action_name(client, _operation_name(client, operation))
    paginator = client.get_paginator(operation)
    config = {"PageSize": page_size} if page_size else {}
    items: list[dict[str, Any]] = []
    with translate_errors(action):
        for page in paginator.paginate(**params, PaginationConfig=config):
            items.extend(page.get(result_key, ()))
    return items


def _operation_name(client: Any, method: str) -> str:
    mapping: dict[str, str] = client.meta.method_to_api_mapping
    return mapping.get(method, method)


def sorted_unique(values: Iterable[str]) -> Sequence[str]:
    """Distinct values in sorted order (stable chunks make calls reproducible)."""
    return sorted(set(values))
