"""``AsrOperation``: the poller every ``begin_`` method of the SiteRecoveryClient returns.

It is built from ASR's 202 answer without starting a background thread: the polling URL, the
job name, ``Retry-After`` and the SDK's own continuation token are read at once, so the journal
can record them before anything else happens. The published spec declares every ASR LRO as 202
with ``Location`` (``final-state-via: location``); the live service also sends
``Azure-AsyncOperation: .../replicationOperationStatus/{jobId}``. The job id is read from either
(``Location: {resource}/operationresults/{jobId}``, as Az.RecoveryServices reads it), and the
operation is polled on ``Azure-AsyncOperation`` when there is one, else on ``Location`` (202
while it runs; 200/204 when it succeeded; an error answer when it failed). ``result()`` polls
itself, honouring ``Retry-After`` with the client's injectable sleep; the facade never calls it
and follows all operations with one :class:`~ec2asr.azure.jobs.JobTracker` sweep instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from azure.core.exceptions import AzureError as SdkAzureError
from azure.core.rest import HttpRequest

from ec2asr.azure._errors import asr_error_details, translate
from ec2asr.errors import AsrJobError, AzureError

__all__ = ["AsrOperation", "OperationStatus"]

T = TypeVar("T")

_JOB_IN_URL = re.compile(r"/replicationJobs/([^/?]+)", re.IGNORECASE)
_OP_IN_URL = re.compile(r"/replicationOperationStatus/([^/?]+)", re.IGNORECASE)
_RESULT_IN_URL = re.compile(r"/operationresults/([^/?]+)", re.IGNORECASE)


def job_name_of(polling_url: str | None, location: str | None) -> str | None:
    """The ASR job id an LRO's headers name (``Azure-AsyncOperation`` or ``Location``)."""
    for pattern, url in (
        (_OP_IN_URL, polling_url),
        (_RESULT_IN_URL, location),
        (_JOB_IN_URL, location),
        (_RESULT_IN_URL, polling_url),
    ):
        found = pattern.search(url or "")
        if found:
            return found.group(1)
    return None


class OperationStatus:
    """ARM's async-operation states."""

    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})


def _header(response: Any, name: str) -> str | None:
    headers = getattr(response, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


class AsrOperation(Generic[T]):
    """A long-running ASR operation.

    Attributes:
        what: What it does, in words (used in errors).
        polling_url: The URL polled: ``Azure-AsyncOperation`` when ASR sent it, else
            ``Location`` (None when ASR answered synchronously).
        location: The ``Location`` URL.
        job_name: The ASR job's id, read from ``Azure-AsyncOperation`` or ``Location``.
        continuation_token: The SDK poller's token; ``begin_*(continuation_token=...)`` on a
            fresh SDK client resumes it.
        retry_after: The server's suggested polling interval in seconds.
    """

    def __init__(
        self,
        *,
        what: str,
        send: Callable[[HttpRequest], Any],
        polling_url: str | None,
        location: str | None,
        retry_after: float | None,
        continuation_token: str | None,
        fetch: Callable[[], T],
        sleep: Callable[[float], None] = time.sleep,
        default_interval: float = 30.0,
        done: bool = False,
    ) -> None:
        self.what = what
        self.polling_url = polling_url
        self.location = location
        self.retry_after = retry_after
        self.continuation_token = continuation_token
        self._send = send
        self._fetch = fetch
        self._sleep = sleep
        self._interval = default_interval
        self._status: str = OperationStatus.SUCCEEDED if done else OperationStatus.IN_PROGRESS
        self._error: dict[str, Any] | None = None
        self._result: T | None = None
        self._have_result = False
        self.job_name: str | None = job_name_of(polling_url, location)
        self._by_location = polling_url is not None and polling_url == location

    @classmethod
    def from_initial(
        cls,
        initial: Any,
        *,
        what: str,
        send: Callable[[HttpRequest], Any],
        fetch: Callable[[], T],
        continuation_token: str | None,
        sleep: Callable[[float], None] = time.sleep,
        default_interval: float = 30.0,
    ) -> AsrOperation[T]:
        """Build from the initial ``PipelineResponse`` of a ``begin_`` call."""
        http = getattr(initial, "http_response", initial)
        status = int(getattr(http, "status_code", 200))
        retry = _header(http, "Retry-After")
        location = _header(http, "Location")
        polling = _header(http, "Azure-AsyncOperation") or location if status == 202 else None
        return cls(
            what=what,
            send=send,
            polling_url=polling,
            location=location,
            retry_after=float(retry) if retry and retry.strip().isdigit() else None,
            continuation_token=continuation_token,
            fetch=fetch,
            sleep=sleep,
            default_interval=default_interval,
            done=status != 202,
        )

    def __repr__(self) -> str:
        return f"<AsrOperation {self.what!r} {self._status} job={self.job_name}>"

    def status(self) -> str:
        """Poll once (unless finished) and return the ARM status (``Succeeded``, ``Failed``...).

        Raises:
            AzureError: When the status cannot be read.
        """
        if self._status in OperationStatus.TERMINAL or self.polling_url is None:
            return self._status
        if self._by_location:
            return self._poll_location()
        try:
            response = self._send(HttpRequest("GET", self.polling_url))
            response.raise_for_status()
            body = response.json()
        except SdkAzureError as exc:
            raise translate(exc, what=f"poll {self.what}") from exc
        self._retry_after(response)
        self._status = str(body.get("status") or OperationStatus.IN_PROGRESS)
        if self._status in (OperationStatus.FAILED, OperationStatus.CANCELED):
            self._error = body.get("error") or {}
        return self._status

    def _retry_after(self, response: Any) -> None:
        retry = _header(response, "Retry-After")
        if retry and retry.strip().isdigit():
            self.retry_after = float(retry)

    def _poll_location(self) -> str:
        """Poll ``Location`` (the spec's way): 202 runs, 200/204 succeeded, an error failed."""
        assert self.polling_url is not None
        try:
            response = self._send(HttpRequest("GET", self.polling_url))
            code = int(response.status_code)
            if code >= 500 or code == 429:
                response.raise_for_status()
        except SdkAzureError as exc:
            raise translate(exc, what=f"poll {self.what}") from exc
        self._retry_after(response)
        if code == 202:
            self.polling_url = _header(response, "Location") or self.polling_url
            self._status = OperationStatus.IN_PROGRESS
        elif code in (200, 201, 204):
            self._status = OperationStatus.SUCCEEDED
        else:
            try:
                body = response.json()
            except ValueError:
                body = {}
            self._status = OperationStatus.FAILED
            self._error = (body.get("error") if isinstance(body, dict) else None) or {
                "code": str(code),
                "message": f"HTTP {code}",
            }
        return self._status

    def done(self) -> bool:
        """True when the operation finished (either way). Polls once when not yet known."""
        return self.status() in OperationStatus.TERMINAL

    def wait(self, *, timeout: float | None = None) -> None:
        """Poll until the operation finishes, sleeping ``Retry-After`` between polls.

        Raises:
            AzureError: When ``timeout`` (seconds of polling interval slept) runs out.
        """
        slept = 0.0
        while not self.done():
            # As azure-core's pollers do, ``Retry-After: 0`` (the sandbox's default) means "use
            # the polling interval", not "poll again at once": taken literally it busy-polls.
            delay = self.retry_after or self._interval
            if timeout is not None and slept + delay > timeout:
                raise AzureError(f"{self.what} did not finish within {timeout:.0f} s")
            self._sleep(delay)
            slept += delay

    def result(self, *, timeout: float | None = None) -> T:
        """Wait for the operation and return the resource it produced.

        Raises:
            AsrJobError: When the operation failed (ASR's code, causes and action attached).
            AzureError: When it was cancelled or could not be followed.
        """
        self.wait(timeout=timeout)
        if self._status == OperationStatus.FAILED:
            details = asr_error_details({"error": self._error or {}})
            raise AsrJobError(
                f"{self.what} failed"
                + (f": {details['message']}" if details.get("message") else ""),
                job_name=self.job_name,
                error_code=details.get("code"),
                possible_causes=details.get("possible_causes"),
                recommended_action=details.get("recommended_action"),
            )
        if self._status == OperationStatus.CANCELED:
            raise AzureError(f"{self.what} was cancelled")
        if not self._have_result:
            self._result = self._fetch()
            self._have_result = True
        return self._result  # type: ignore[return-value]
