"""Validates every exchange with the emulator against the published contract.

:class:`ContractValidator` is attached to an emulator (``emulator.exchange_hooks``) and sees
each request with the emulator's answer. It classifies the request:

* an operation of the SDKs (``sdk_contract.find_operation``): the request's api-version, query
  parameters and body (against the operation's input model) and the answer's status code (one
  the SDK accepts, or an error), the headers the SDK reads on that status, and the body
  (against the operation's model; pages as ``{value, nextLink}``);
* a polling URL the emulator handed out in an ``Azure-AsyncOperation`` or ``Location`` header:
  ARM's async-operation body (``Azure-AsyncOperation``), or the operation's final result
  (``Location``: 202 while running, then the resource, 204, or an error);
* a Microsoft.OffAzure operation (``offazure_spec.py``);
* a Microsoft.Compute virtual-machine operation (``compute_spec.py``);
* anything else is a mismatch when the emulator answered it with a success (a refused unknown
  path — 404/405 — is what ARM does).

Error answers (4xx/5xx) must carry ARM's error envelope. Mismatches are collected (never
raised inside the server thread); the test plugin in ``tests/conftest.py`` fails the test that
produced them.
"""

from __future__ import annotations

import collections
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .compute_spec import API_VERSION as COMPUTE_API_VERSION
from .compute_spec import find_compute
from .offazure_spec import API_VERSION as OFFAZURE_API_VERSION
from .offazure_spec import SpecObject, find_offazure
from .schema import Any_, Arr, Obj, Prim, Prop, check
from .sdk_contract import (
    ACCEPTED_EXTRA_ENUM_VALUES,
    SdkOperation,
    find_operation,
    model_kind,
)

__all__ = ["ContractValidator", "Mismatch", "page_schema", "validator_of"]


@dataclass(frozen=True)
class Mismatch:
    """One way an exchange departs from the contract."""

    operation: str
    method: str
    path: str
    status: int
    side: str  # "request" or "response"
    detail: str

    def __str__(self) -> str:
        where = f"{self.operation} {self.method} {self.path} -> {self.status}"
        return f"{where} [{self.side}] {self.detail}"


def _error_schema() -> Obj:
    """ARM's error envelope, from the SDK's ``ErrorResponse``/``ErrorDetail`` models.

    ``code`` and ``message`` are required (ARM RPC, "Error response content"). Entries of
    ``details`` may also carry the members of ASR's own ``ServiceError`` definition
    (``possibleCauses``, ``recommendedAction``, ``activityId``): the live service puts the ASR
    error there (issue 7, section 3).
    """
    from azure.mgmt.recoveryservicessiterecovery import models as m

    base = dict(model_kind(m.ErrorDetail).ref().props())
    service = model_kind(m.ServiceError).ref().props()
    detail_props = {**base, **{k: v for k, v in service.items() if k not in base}}
    detail = SpecObject("ErrorDetail+ServiceError", {**detail_props})
    detail.properties["details"] = Prop(Arr(Obj(lambda: detail, detail.name)))
    top = dict(base)
    top["code"] = Prop(Prim("string"), required=True)
    top["message"] = Prop(Prim("string"), required=True)
    top["details"] = Prop(Arr(Obj(lambda: detail, detail.name)))
    error = SpecObject("ErrorDetail", top)
    envelope = SpecObject(
        "ErrorResponse", {"error": Prop(Obj(lambda: error, "ErrorDetail"), required=True)}
    )
    return Obj(lambda: envelope, "ErrorResponse")


# ARM RPC (Azure/azure-resource-manager-rpc, v1.0/async-api-reference.md, "Azure-AsyncOperation
# resource format"): id, name, status (required; terminal Succeeded/Failed/Canceled), startTime,
# endTime, percentComplete, properties, error (required when Failed or Canceled), operations.
# ARM's operations are "Canceled"; ASR's jobs are "Cancelled".


def _async_schema() -> Obj:
    error = _error_schema().ref().props()["error"].kind
    body = SpecObject(
        "AsyncOperationStatus",
        {
            "id": Prop(Prim("string")),
            "name": Prop(Prim("string")),
            "status": Prop(Prim("string"), required=True),
            "startTime": Prop(Prim("date-time")),
            "endTime": Prop(Prim("date-time")),
            "percentComplete": Prop(Prim("number")),
            "properties": Prop(Any_()),
            "error": Prop(error),
            "operations": Prop(Arr(Any_())),
        },
    )
    return Obj(lambda: body, body.name)


def page_schema(item: Obj) -> Obj:
    page = SpecObject(
        f"{item.name}Page",
        {"value": Prop(Arr(item), required=True), "nextLink": Prop(Prim("string"))},
    )
    return Obj(lambda: page, page.name)


def _url_path(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path).rstrip("/").lower()


_VALIDATING = threading.Lock()


class ContractValidator:
    """Checks exchanges against the SDK-derived contract; collects mismatches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges = 0
        self.operations: collections.Counter[str] = collections.Counter()
        self.mismatches: list[Mismatch] = []
        # polling path -> ("status" | "result", the operation that handed it out)
        self._polls: dict[str, tuple[str, SdkOperation]] = {}
        # list path -> query parameters its nextLinks carry
        self._next_queries: dict[str, set[str]] = collections.defaultdict(set)
        self._errors = _error_schema()
        self._async = _async_schema()

    def attach(self, emulator: Any) -> ContractValidator:
        """Observe every exchange of ``emulator``; returns self."""
        emulator.exchange_hooks.append(self.observe)
        return self

    # -- the hook -------------------------------------------------------------------------
    def observe(self, request: Any, response: Any) -> None:
        """The emulator's exchange hook: validate one request and its answer."""
        try:
            # One validation at a time in the process: the SDK contract is read (ast, compiled
            # annotations) on first use, and CPython's AST constructor is not safe to run on
            # several threads at once ("AST constructor recursion depth mismatch").
            with _VALIDATING:
                name, problems = self._validate(request, response)
        except Exception as exc:  # a validator bug must show, never break the server
            name, problems = "validator", [("response", f"validator error: {exc!r}")]
        with self._lock:
            self.exchanges += 1
            self.operations[name] += 1
            for side, detail in problems:
                self.mismatches.append(
                    Mismatch(name, request.method, request.path, response.status, side, detail)
                )

    def _validate(self, request: Any, response: Any) -> tuple[str, list[tuple[str, str]]]:
        found = find_operation(request.method, request.path)
        if found is not None:
            return found[0].name, self._sdk_exchange(found[0], request, response)
        with self._lock:
            poll = self._polls.get(request.path.rstrip("/").lower())
        if poll is not None and request.method == "GET":
            kind, op = poll
            if kind == "status":
                return "ARM_AsyncOperationStatus", self._status_poll(op, response)
            return "ARM_OperationResult", self._result_poll(op, response)
        offazure = find_offazure(request.method, request.path)
        if offazure is not None:
            problems = self._query(request, offazure.query, OFFAZURE_API_VERSION, request.path)
            problems += self._answer(offazure.name, response, (200,), {}, offazure.response)
            return offazure.name, problems
        compute = find_compute(request.method, request.path, request.query)
        if compute is not None:
            problems = self._query(request, compute.query, COMPUTE_API_VERSION, request.path)
            problems += self._answer(
                compute.name,
                response,
                compute.statuses,
                {202: ("Location", "Retry-After", "Azure-AsyncOperation")},
                compute.response,
            )
            return compute.name, problems
        if response.status in (404, 405):
            return "unknown (refused)", self._error_body(response)
        return "unknown", [
            (
                "response",
                f"no operation of the SDK or the OffAzure spec is {request.method} "
                f"{request.path}, yet the emulator answered {response.status}",
            )
        ]

    # -- SDK operations -------------------------------------------------------------------
    def _sdk_exchange(self, op: SdkOperation, request: Any, response: Any) -> list[tuple[str, str]]:
        problems = self._query(request, op.query, op.api_version, request.path)
        body = request.body
        if op.request_model is not None:
            if body is None:
                problems.append(
                    ("request", f"no body; the SDK sends a {op.request_model.__name__}")
                )
            else:
                for problem in check(
                    model_kind(op.request_model),
                    body,
                    request=True,
                    extra_enum_values=ACCEPTED_EXTRA_ENUM_VALUES,
                ):
                    problems.append(("request", str(problem)))
        elif body not in (None, {}):
            problems.append(("request", "a body where the operation takes none"))
        model = model_kind(op.response_model) if op.response_model is not None else None
        if model is not None and op.paged:
            model = page_schema(model)
        problems += self._answer(op.name, response, op.statuses, op.headers, model)
        if 200 <= response.status < 300:
            self._learn(op, request, response)
        return problems

    def _query(
        self, request: Any, known: frozenset[str], api_version: str, path: str
    ) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        sent = request.query.get("api-version")
        if sent != api_version:
            problems.append(("request", f"api-version {sent!r}, the contract's is {api_version!r}"))
        with self._lock:
            from_next = self._next_queries.get(path.rstrip("/").lower(), set())
        unknown = set(request.query) - known - from_next
        if unknown:
            problems.append(("request", f"unknown query parameters {sorted(unknown)}"))
        return problems

    def _answer(
        self,
        name: str,
        response: Any,
        statuses: tuple[int, ...],
        headers: Mapping[int, tuple[str, ...]],
        model: Obj | None,
    ) -> list[tuple[str, str]]:
        status = response.status
        if status not in statuses:
            if status >= 400:
                return self._error_body(response)
            return [("response", f"status {status}; the SDK accepts {list(statuses)} or an error")]
        problems: list[tuple[str, str]] = []
        present = {k.lower(): v for k, v in response.headers.items()}
        declared = {h.lower() for h in headers.get(status, ())}
        if status == 202 and "location" in declared and "location" not in present:
            # The spec declares Location on every 202 (final-state-via: location); ARM RPC
            # needs it (or Azure-AsyncOperation) to find the operation.
            problems.append(("response", "202 without the Location header"))
        retry = present.get("retry-after")
        if "retry-after" in declared and retry is not None and not str(retry).strip().isdigit():
            problems.append(("response", f"Retry-After {retry!r} is not an integer (seconds)"))
        if status in (200, 201) and model is not None:
            if response.body is None:
                problems.append(("response", f"{status} without the {model.name} body"))
            else:
                problems += [
                    ("response", str(p))
                    for p in check(
                        model,
                        response.body,
                        request=False,
                        extra_enum_values=ACCEPTED_EXTRA_ENUM_VALUES,
                    )
                ]
        elif response.body is not None:
            problems.append(("response", f"a {status} body where {name} defines none"))
        return problems

    def _learn(self, op: SdkOperation, request: Any, response: Any) -> None:
        present = {k.lower(): v for k, v in response.headers.items()}
        with self._lock:
            if "azure-asyncoperation" in present:
                self._polls[_url_path(present["azure-asyncoperation"])] = ("status", op)
            if "location" in present and response.status in (201, 202):
                self._polls[_url_path(present["location"])] = ("result", op)
            body = response.body
            if op.paged and isinstance(body, dict) and isinstance(body.get("nextLink"), str):
                split = urllib.parse.urlsplit(body["nextLink"])
                keys = {k for k, _ in urllib.parse.parse_qsl(split.query, keep_blank_values=True)}
                self._next_queries[_url_path(body["nextLink"])] |= keys

    # -- polling URLs -----------------------------------------------------------------------
    def _status_poll(self, op: SdkOperation, response: Any) -> list[tuple[str, str]]:
        if response.status != 200:
            return (
                self._error_body(response)
                if response.status >= 400
                else [("response", f"operation status answered {response.status}, not 200")]
            )
        problems = [("response", str(p)) for p in check(self._async, response.body, request=False)]
        body = response.body if isinstance(response.body, dict) else {}
        if body.get("status") in ("Failed", "Canceled") and not body.get("error"):
            problems.append(("response", f"a {body['status']} operation without its error"))
        if body.get("status") == "Cancelled":
            problems.append(
                ("response", "'Cancelled' is a job state; ARM operations say 'Canceled'")
            )
        return problems

    def _result_poll(self, op: SdkOperation, response: Any) -> list[tuple[str, str]]:
        status = response.status
        if status >= 400:
            return self._error_body(response)
        if status == 202:
            present = {k.lower() for k in response.headers}
            problems = [] if "location" in present else [("response", "202 without Location")]
            if response.body is not None:
                problems.append(("response", "a 202 body while the operation runs"))
            return problems
        if status == 204:
            return [] if response.body is None else [("response", "a 204 with a body")]
        if status != 200:
            return [("response", f"operation result answered {status}")]
        if op.response_model is None:
            return []
        return [
            ("response", str(p))
            for p in check(
                model_kind(op.response_model),
                response.body,
                request=False,
                extra_enum_values=ACCEPTED_EXTRA_ENUM_VALUES,
            )
        ]

    def _error_body(self, response: Any) -> list[tuple[str, str]]:
        if response.body is None:
            return [("response", f"{response.status} without ARM's error envelope")]
        return [("response", str(p)) for p in check(self._errors, response.body, request=False)]

    # -- reading ----------------------------------------------------------------------------
    def snapshot(self) -> int:
        """The number of mismatches so far (a mark for :meth:`since`)."""
        with self._lock:
            return len(self.mismatches)

    def since(self, mark: int) -> list[Mismatch]:
        """The mismatches recorded after ``mark``."""
        with self._lock:
            return list(self.mismatches[mark:])


def validator_of(emulator: Any) -> ContractValidator:
    """The validator the test plugin attached to ``emulator``.

    Raises:
        LookupError: When the emulator carries none.
    """
    for hook in emulator.exchange_hooks:
        owner = getattr(hook, "__self__", None)
        if isinstance(owner, ContractValidator):
            return owner
    raise LookupError("the emulator carries no contract validator")
