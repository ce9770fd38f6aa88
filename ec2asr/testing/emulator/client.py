"""Wiring the real Azure SDK clients to the emulator on plain HTTP loopback.

azure-core's bearer-token policy refuses to send a token over ``http://``; the emulator listens
on ``http://127.0.0.1``. :class:`LoopbackBearerPolicy` sets the ``Authorization`` header itself
and is passed as the client's ``authentication_policy``; :class:`StaticTokenCredential` is a
``TokenCredential`` that hands out a fake token (the emulator accepts any bearer token).
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

__all__ = ["LoopbackBearerPolicy", "StaticTokenCredential"]

ARM_SCOPE = "https://management.azure.com/.default"


class StaticTokenCredential:
    """A ``TokenCredential`` returning a fixed fake token (for the emulator only).

    Args:
        token: The token text sent as ``Authorization: Bearer <token>``.
    """

    def __init__(self, token: str = "ec2asr-emulator-token") -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the token, valid for an hour."""
        return AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """Return the token (``SupportsTokenInfo`` protocol)."""
        return AccessTokenInfo(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "StaticTokenCredential('**********')"


class LoopbackBearerPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Adds ``Authorization: Bearer <token>`` from a credential, over plain HTTP too.

    Args:
        credential: Any ``TokenCredential``.
        scopes: Scopes to ask the credential for (ARM's by default).
    """

    def __init__(self, credential: Any, *scopes: str) -> None:
        super().__init__()
        self._credential = credential
        self._scopes = scopes or (ARM_SCOPE,)

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        """Set the header on every request."""
        token = self._credential.get_token(*self._scopes).token
        request.http_request.headers["Authorization"] = f"Bearer {token}"
