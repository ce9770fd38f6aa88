"""Routing: URL templates to handlers, and the request/response records they exchange."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ec2asr.testing.emulator.arm import ArmError

if TYPE_CHECKING:
    from ec2asr.testing.emulator.emulator import AsrEmulator
    from ec2asr.testing.emulator.models import JobError
    from ec2asr.testing.emulator.state import VaultState

__all__ = ["Context", "Request", "Response", "Route", "Router"]

VAULT_PREFIX = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.RecoveryServices/vaults/{vaultName}"
)
SITE_PREFIX = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.OffAzure/ServerSites/{siteName}"
)


@dataclass
class Request:
    """An HTTP request as the handlers see it."""

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: Any


@dataclass
class Response:
    """What a handler answers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Context"], Response]


@dataclass
class Route:
    """One REST operation.

    Attributes:
        method: HTTP method.
        template: Path template (``{vault}``-style parameters; ``VAULT``/``SITE`` prefixes).
        operation: The operation id (``ReplicationFabrics_Get``), used in counts and the audit.
        handler: The function answering it.
        family: ``"asr"`` (Site Recovery), ``"vault"`` (Recovery Services) or ``"offazure"``.
        write: Whether it changes state (counted as a write by ARM's limits and the audit).
    """

    method: str
    template: str
    operation: str
    handler: Handler
    family: str = "asr"
    write: bool = False
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        template = self.template.replace("VAULT", VAULT_PREFIX).replace("SITE", SITE_PREFIX)
        regex = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+?)", template)  # spans segments
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        self.pattern = re.compile(f"^{regex}/?$", re.IGNORECASE)


class Router:
    """Finds the route for a method and path (case-insensitive, as ARM is)."""

    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and path parameters for a request.

        Raises:
            ArmError: 404 when no route has this path, 405 when the method is wrong.
        """
        path_matched = False
        for route in self._routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            path_matched = True
            if route.method == method:
                return route, dict(found.groupdict())
        if path_matched:
            raise ArmError(405, "MethodNotAllowed", f"The method '{method}' is not supported.")
        raise ArmError(
            404,
            "InvalidResourceType",
            f"The resource type for the path '{path}' could not be found in the emulator.",
        )


@dataclass
class Context:
    """Everything a handler needs for one request.

    Attributes:
        emulator: The emulator (state, clock, timings, connectivity oracle).
        request: The request.
        params: Path parameters.
        now: Simulated time of the request.
        base_url: ``http://127.0.0.1:PORT`` as the client addressed it.
        job_error: A fault-injected outcome for the job this request creates.
    """

    emulator: AsrEmulator
    request: Request
    params: dict[str, str]
    now: datetime
    base_url: str
    route: Route
    job_error: JobError | object | None = None
    created_job: str | None = None

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body (an empty dict when there is none).

        Raises:
            ArmError: 400 when the body is not a JSON object.
        """
        body = self.request.body
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content is not a JSON object."
            )
        return body

    def at(self, now: datetime) -> Context:
        """A copy of this context at another time, without injected faults (job restarts)."""
        return Context(
            emulator=self.emulator,
            request=self.request,
            params=dict(self.params),
            now=now,
            base_url=self.base_url,
            route=self.route,
        )

    def vault(self) -> VaultState:
        """The vault the path names.

        Raises:
            ArmError: 404 when it does not exist.
        """
        return self.emulator.store.get_vault(
            self.params["subscriptionId"],
            self.params["resourceGroupName"],
            self.params["vaultName"],
        )
