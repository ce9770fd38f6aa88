"""moto, in process, on 127.0.0.1: the AWS half of the sandbox.

moto keeps its state in module-level backends (``ec2_backends[account][region]``), so a sandbox
runs moto's WSGI app in a thread of *this* process (like ``moto.server.ThreadedMotoServer``) and
the rest of :mod:`ec2asr.testing` can read and adjust that state directly. Each sandbox uses its
own AWS account id (sent as moto's ``x-moto-account-id`` header), so two sandboxes in one
process never see each other's resources and no global reset is needed.

moto reads its AMI catalogue from ``MOTO_AMIS_PATH`` when ``moto.ec2.models.amis`` is imported
and again whenever a new backend loads its AMIs. :func:`install_catalogue` sets the variable
while any sandbox runs and, if moto was imported earlier, replaces the module's ``AMIS`` list in
place; both are restored when the last sandbox stops.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "CATALOGUE_PATH",
    "MotoServer",
    "install_catalogue",
    "load_catalogue",
    "release_catalogue",
]

CATALOGUE_PATH = Path(__file__).with_name("data") / "amis.json"
"""The sandbox's AMI catalogue (moto's ``amis.json`` format)."""

_ENV = "MOTO_AMIS_PATH"
_lock = threading.Lock()
_users = 0
_saved_env: str | None = None
_saved_amis: list[dict[str, Any]] | None = None

StartResponse = Callable[..., Any]


def load_catalogue() -> list[dict[str, Any]]:
    """The AMI catalogue as a list of moto AMI dicts (a fresh copy)."""
    with CATALOGUE_PATH.open(encoding="utf-8") as f:
        data: list[dict[str, Any]] = json.load(f)
    return data


def install_catalogue() -> None:
    """Make every moto EC2 backend created from now on load the sandbox's AMI catalogue."""
    global _users, _saved_env, _saved_amis
    with _lock:
        if _users == 0:
            _saved_env = os.environ.get(_ENV)
            os.environ[_ENV] = str(CATALOGUE_PATH)
        _users += 1
        # Imported only now, so a first import reads our catalogue from MOTO_AMIS_PATH.
        try:
            from moto.ec2.models import amis as moto_amis
        except ImportError as exc:
            _users -= 1
            if _users == 0:
                _restore_env()
            raise ImportError(
                "the ec2asr sandbox needs moto: pip install 'ec2asr[sandbox]'"
            ) from exc

        if _users == 1:
            _saved_amis = list(moto_amis.AMIS)
        moto_amis.AMIS[:] = load_catalogue()


def _restore_env() -> None:
    if _saved_env is None:
        os.environ.pop(_ENV, None)
    else:
        os.environ[_ENV] = _saved_env


def release_catalogue() -> None:
    """Undo :func:`install_catalogue` once the last sandbox is gone."""
    global _users, _saved_env, _saved_amis
    with _lock:
        _users -= 1
        if _users > 0:
            return
        _restore_env()
        from moto.ec2.models import amis as moto_amis

        if _saved_amis is not None:
            moto_amis.AMIS[:] = _saved_amis
        _saved_env = _saved_amis = None


def ec2_backend(account_id: str, region: str) -> Any:
    """moto's EC2 backend of one account and region (created, with the catalogue, if new).

    A backend first created here gets a constant-time tag lookup: moto scans every tag of the
    account for each resource it renders, which makes describing N instances cost O(N^2) and
    would drown what the benchmarks measure (real EC2 has no such cost).
    """
    from moto.ec2.models import ec2_backends
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

    backend = ec2_backends[account_id][region]
    if "describe_tags" in vars(backend):
        return backend
    scan = backend.describe_tags

    def describe_tags(filters: dict[str, list[str]] | None = None) -> list[dict[str, str]]:
        ids = (filters or {}).get("resource-id")
        if filters is None or set(filters) != {"resource-id"} or ids is None or len(ids) != 1:
            return list(scan(filters))
        resource_id = ids[0]
        if "*" in resource_id or "?" in resource_id:
            return list(scan(filters))
        kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
        return [
            {"resource_id": resource_id, "key": key, "value": value, "resource_type": kind}
            for key, value in backend.tags.get(resource_id, {}).items()
        ]

    backend.describe_tags = describe_tags  # type: ignore[method-assign]
    return backend


class _NotImplementedAs501:
    """Answer moto's unimplemented actions with ``501 Not Implemented``, not a bare 500.

    botocore retries 500s (with back-off); a 501 is final, so a client that probes an optional
    API moto lacks (SSM ``DescribeInstanceInformation``) gets a clean, immediate error.
    """

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        after: list[Callable[[dict[str, Any]], None]] | None = None,
    ) -> None:
        self._app = app
        self._after = after if after is not None else []

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            if self._after and "HTTP_X_AMZ_TARGET" in environ:
                # Keep the JSON body for the hooks: moto consumes wsgi.input.
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length) if length else b""
                environ["wsgi.input"] = io.BytesIO(body)
                environ["ec2asr.body"] = body
            result = self._app(environ, start_response)
            for hook in list(self._after):
                hook(environ)
            return result
        except NotImplementedError as exc:
            message = str(exc) or "not implemented by the sandbox"
            if "HTTP_X_AMZ_TARGET" in environ or "json" in environ.get("CONTENT_TYPE", ""):
                body = json.dumps({"__type": "NotImplemented", "message": message}).encode()
                content_type = "application/x-amz-json-1.1"
            else:
                body = (
                    "<Response><Errors><Error><Code>NotImplemented</Code>"
                    f"<Message>{message}</Message></Error></Errors>"
                    "<RequestID>sandbox</RequestID></Response>"
                ).encode()
                content_type = "text/xml"
            start_response(
                "501 Not Implemented",
                [("Content-Type", content_type), ("Content-Length", str(len(body)))],
            )
            return [body]


class MotoServer:
    """moto's server app on ``127.0.0.1`` and a free port, served by a thread of this process.

    Equivalent to ``moto.server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)``, plus: the
    listening socket is closed on :meth:`stop` (the port is free again at once), request logging
    is silent, and unimplemented actions answer 501.
    """

    def __init__(self) -> None:
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._after: list[Callable[[dict[str, Any]], None]] = []

    def add_after_request(self, hook: Callable[[dict[str, Any]], None]) -> None:
        """Call ``hook(environ)`` after each request moto handled (the sandbox's agent bridge)."""
        self._after.append(hook)

    @property
    def port(self) -> int:
        """The port it listens on."""
        if self._server is None:
            raise RuntimeError("the moto server is not running")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Bind a free port and serve in a daemon thread."""
        install_ssm_list_command_invocations()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class _QuietHandler(MotoRequestHandler):
            def log_request(self, code: Any = "-", size: Any = "-") -> None:
                return None

        app = _NotImplementedAs501(DomainDispatcherApplication(create_backend_app), self._after)
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
        )
        server = self._server
        self._thread = threading.Thread(
            # A short poll interval makes stop() quick (werkzeug's default is 0.5 s).
            target=lambda: server.serve_forever(poll_interval=0.05),
            name=f"ec2asr-moto-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None


def _list_command_invocations(self: Any) -> Any:
    """SSM ``ListCommandInvocations`` for moto (5.2 lacks it): one command's invocations, with
    each plugin's output as SSM shows it (stdout, then stderr after SSM's separator)."""
    from moto.core.responses import ActionResult

    command = self.ssm_backend.get_command_by_id(self._get_param("CommandId"))
    wanted = self._get_param("InstanceId")
    items = []
    for inv in command.invocations:
        if wanted and inv["InstanceId"] != wanted:
            continue
        output = inv["StandardOutputContent"]
        if inv.get("StandardErrorContent"):
            output += f"\n----------ERROR-------\n{inv['StandardErrorContent']}"
        items.append(
            {
                "CommandId": inv["CommandId"],
                "InstanceId": inv["InstanceId"],
                "DocumentName": inv["DocumentName"],
                "Status": inv["Status"],
                "StatusDetails": inv["StatusDetails"],
                "CommandPlugins": [
                    {
                        "Name": inv["PluginName"],
                        "Status": inv["Status"],
                        "ResponseCode": inv["ResponseCode"],
                        "Output": output,
                    }
                ],
            }
        )
    return ActionResult({"CommandInvocations": items})


def install_ssm_list_command_invocations() -> None:
    """Teach moto's SSM ``ListCommandInvocations`` when it lacks it (idempotent).

    It only adds an action moto answers as "not implemented"; nothing moto has is replaced.
    """
    from moto.ssm.responses import SimpleSystemManagerResponse

    if not hasattr(SimpleSystemManagerResponse, "list_command_invocations"):
        setattr(SimpleSystemManagerResponse, "list_command_invocations", _list_command_invocations)  # noqa: B010
