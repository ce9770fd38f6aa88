"""The HTTP side: a threading server on 127.0.0.1 and the request pipeline.

Pipeline per request: bearer token (none -> 401) -> ``api-version`` (missing -> 400) -> route
(404/405) -> ARM limits (429) -> injected faults (delay, reset, error status, job outcome), or
else the fault storm's random ones -> settle jobs and run the handler under the emulator's lock
-> audit and counts -> (a storm's reset after acceptance drops the answer here) -> exchange hooks
(``AsrEmulator.exchange_hooks``: each sees the request and the answer before it is sent).
Errors use ARM's envelope. 409 ``MissingSubscriptionRegistration`` is never answered: every
provider counts as registered.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from ec2asr.testing.emulator.arm import ASR_API_VERSION, ArmError
from ec2asr.testing.emulator.faults import FaultRule
from ec2asr.testing.emulator.models import WriteRecord
from ec2asr.testing.emulator.router import Context, Request, Response

if TYPE_CHECKING:
    from ec2asr.testing.emulator.emulator import AsrEmulator

__all__ = ["EmulatorServer"]

logger = logging.getLogger("ec2asr")
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


class _Reset(Exception):
    """Drop the connection without answering."""


def dispatch(emulator: AsrEmulator, request: Request, base_url: str) -> Response:
    """Run one request through the pipeline and return the answer.

    Raises:
        _Reset: When an injected fault resets the connection.
    """
    try:
        return _dispatch(emulator, request, base_url)
    except ArmError as error:
        return Response(error.status, error.body(), dict(error.headers))


def _dispatch(emulator: AsrEmulator, request: Request, base_url: str) -> Response:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing or not a bearer token.",
            headers={
                "WWW-Authenticate": (
                    'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                    'error="invalid_token", error_description="The access token is missing"'
                )
            },
        )
    version = request.query.get("api-version")
    if not version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if not _API_VERSION.match(version):
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            (
                f"The api-version '{version}' is invalid. "
                f"The supported versions include '{ASR_API_VERSION}'."
            ),
        )
    route, params = emulator.router.match(request.method, request.path)
    emulator.count(route)
    if emulator.limits is not None:
        emulator.limits.check(params.get("subscriptionId", ""), route.write)
    rule = emulator.faults.take(request.method, request.path)
    job_error = None
    reset_after = False
    if rule is not None:
        if rule.delay:
            time.sleep(rule.delay)
        if rule.reset:
            raise _Reset()
        if rule.status is not None:
            raise rule.error()
        job_error = rule.job_error
        reset_after = rule.reset_after
    elif emulator.storm is not None:
        decision = emulator.storm.decide(
            request.method, request.path, write=route.write, creates_job=route.family == "asr"
        )
        if decision.kind == "reset":
            raise _Reset()
        if decision.kind == "status":
            assert decision.status is not None
            raise FaultRule(method="*", path_glob="*", status=decision.status).error()
        reset_after = decision.kind == "reset-after"
        job_error = decision.job_error
    for hook in list(emulator.request_hooks):
        hook()
    with emulator.lock:
        now = emulator.settle()
        ctx = Context(
            emulator=emulator,
            request=request,
            params=params,
            now=now,
            base_url=base_url,
            route=route,
            job_error=job_error,
        )
        try:
            response = route.handler(ctx)
        except ArmError as error:
            if route.family != "asr" or error.platform:
                raise
            if error.missing and emulator.missing_child_status == 400:
                raise error.as_missing_child_400() from None
            error.asr = True
            raise
        if (
            route.family == "asr"
            and emulator.lro_mode == "live"
            and 200 <= response.status < 300
            and "vaultName" in params
            and "Azure-AsyncOperation" not in response.headers
        ):
            vault = ctx.vault()
            op_id = emulator.operations.sync_id(now)
            response.headers["Azure-AsyncOperation"] = (
                f"{base_url}{vault.asr_id}/replicationOperationStatus/{op_id}"
                f"?api-version={ASR_API_VERSION}"
            )
        if route.write and 200 <= response.status < 300:
            emulator.record_write(
                WriteRecord(
                    method=request.method,
                    path=request.path,
                    time=now,
                    operation=route.operation,
                    status=response.status,
                    job_name=ctx.created_job,
                )
            )
    if reset_after:
        raise _Reset()  # the write was accepted; its answer is lost
    return response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _headers_buffer: list[bytes]
    _body: bytes = b""

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        response: Response | None = None
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                response = Response(
                    400,
                    ArmError(
                        400, "InvalidRequestContent", "The request content is not valid JSON."
                    ).body(),
                )
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        request = Request(
            method=self.command,
            path=urllib.parse.unquote(split.path),
            query=query,
            headers=dict(self.headers.items()),
            body=body,
        )
        if response is None:
            try:
                response = dispatch(self.server.emulator, request, f"http://{host}")
            except _Reset:
                self._reset()
                return
            except Exception:  # a handler bug must answer 500, never hang the client
                logger.exception(
                    "ASR emulator: unhandled error for %s %s", self.command, split.path
                )
                response = Response(
                    500, ArmError(500, "InternalServerError", "Emulator error.").body()
                )
        for hook in list(self.server.emulator.exchange_hooks):
            try:
                hook(request, response)
            except Exception:  # an observer must never stop the answer
                logger.exception("ASR emulator: exchange hook failed")
        self._send(response)

    def _send(self, response: Response) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        request_id = str(uuid.uuid4())
        self.send_header("x-ms-request-id", request_id)
        self.send_header("x-ms-correlation-request-id", request_id)
        for key, value in response.headers.items():
            self.send_header(key, value)
        if response.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self._body = payload
        self.end_headers()  # headers and body leave in one write (flush_headers)

    def flush_headers(self) -> None:
        """Write the buffered headers and the pending body with one ``sendall``.

        Headers and body in two writes make the second wait for the client's delayed ACK
        (Nagle's algorithm): about 40 ms per answer instead of well under one.
        """
        head = b"".join(getattr(self, "_headers_buffer", ()))
        body, self._body = self._body, b""
        if head or body:
            self.wfile.write(head + body)
        self._headers_buffer = []

    def _reset(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("ASR emulator: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    """The listen backlog: a fleet of thousands of machines opens many connections at once."""

    def __init__(self, address: tuple[str, int], emulator: AsrEmulator) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        request, address = super().get_request()
        # Answers are small and the client waits for each: no Nagle delay.
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return request, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close every client connection still open (keep-alive sockets)."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
            self.open_sockets.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("ASR emulator: connection error from %s", client_address, exc_info=True)


class EmulatorServer:
    """Serves an emulator over HTTP on a host and port (port 0: a free one)."""

    def __init__(self, emulator: AsrEmulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self._emulator = emulator
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: When the server is not running.
        """
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and serve in a daemon thread."""
        if self._server is not None:
            return
        self._server = _Server(self._address, self._emulator)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name="asr-emulator",
            daemon=True,
            kwargs={"poll_interval": 0.05},
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
