"""The published contract, read out of the generated SDKs (not written by hand).

``azure-mgmt-recoveryservicessiterecovery`` 2.0.0 (api-version 2025-08-01) and
``azure-mgmt-recoveryservices`` are generated from Microsoft's REST specs. Their source holds
the contract, and this module reads it:

* ``operations/_operations.py``, parsed with :mod:`ast`: every ``build_*_request`` function
  gives an operation's method, URL template, api-version and query parameters; every operation
  method gives the builder it calls, the status codes it accepts
  (``if response.status_code not in [...]``), the model it deserialises on success
  (``_deserialize(_models.X, ...)``, ``List[_models.X]`` for pages, ``get_long_running_output``
  for long-running operations), the headers it reads on 202, and its body model (the
  ``Union[_models.X, JSON, IO[bytes]]`` parameter).
* ``models/_models.py``, by introspection: every ``rest_field`` (wire name, type annotation,
  visibility) and ``rest_discriminator``; ``__mapping__`` (the discriminator's subtypes); the
  enums (``CaseInsensitiveEnumMeta``) named in ``Union[str, _models.X]`` annotations.

Nothing here lists fields: a field the emulator invents, or a field name it misspells, is
reported because the SDK does not know it.
"""

from __future__ import annotations

import ast
import datetime
import enum
import functools
import inspect
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .schema import Any_, Arr, Enum_, Kind, Lit, Map, Obj, ObjectSchema, Prim, Prop

__all__ = ["SdkOperation", "find_operation", "model_kind", "operations"]

_SDKS = {
    "asr": "azure.mgmt.recoveryservicessiterecovery",
    "vault": "azure.mgmt.recoveryservices",
}

# The one field whose documented values live only in its description (the spec types it as a
# plain string): RecoveryPointProperties.recoveryPointType, "The recovery point type:
# ApplicationConsistent, CrashConsistent." (service.json 2025-08-01, definition
# RecoveryPointProperties). ``test_documented_values_follow_the_sdk`` checks the SDK's
# docstring still says so.
DOCUMENTED_VALUES: dict[tuple[str, str], frozenset[str]] = {
    ("RecoveryPointProperties", "recoveryPointType"): frozenset(
        {"ApplicationConsistent", "CrashConsistent"}
    ),
}

# Values the emulator may send although the SDK's enum lacks them. Every entry needs a source;
# there are none today (the spec marks ASR enums modelAsString, but a value outside the enum is
# still a value no client was generated for, so it is flagged).
ACCEPTED_EXTRA_ENUM_VALUES: dict[str, frozenset[str]] = {}


@dataclass(frozen=True, eq=False)
class SdkOperation:
    """One REST operation as the SDK sends and reads it.

    Attributes:
        name: ``Group_Operation`` (``ReplicationFabrics_Get``), from the SDK's class and method.
        sdk: ``"asr"`` or ``"vault"``.
        method: HTTP method.
        template: The URL template (``/subscriptions/{subscriptionId}/...``).
        api_version: The api-version the builder sends.
        query: The query parameters the builder may send.
        statuses: The status codes the SDK accepts as success.
        request_model: The body model (None: no body).
        response_model: The model a 200/201 body loads into (for long-running operations,
            the final result); None when the SDK reads no body.
        paged: The body is a page ``{value: [response_model], nextLink}``.
        lro: A long-running operation (``begin_*``).
        headers: Per status, the response headers the SDK reads (the spec declares them).
    """

    name: str
    sdk: str
    method: str
    template: str
    api_version: str
    query: frozenset[str]
    statuses: tuple[int, ...]
    request_model: type | None
    response_model: type | None
    paged: bool
    lro: bool
    headers: Mapping[int, tuple[str, ...]]

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(f"^{regex}$", re.IGNORECASE)

    @property
    def literal_segments(self) -> int:
        return sum(1 for s in self.template.split("/") if s and not s.startswith("{"))


# -- operations ----------------------------------------------------------------------------
@dataclass
class _Builder:
    method: str = ""
    url: str = ""
    api_version: str = ""
    query: tuple[str, ...] = ()


@dataclass
class _Method:
    builders: list[str]
    initial: list[str]
    statuses: list[int]
    models: list[tuple[str, bool]]  # (model name, is a list)
    body: str | None
    headers: dict[int, list[str]]


def _const(node: ast.AST | None) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


def _parse_builder(fn: ast.FunctionDef) -> _Builder:
    found = _Builder()
    query: list[str] = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id == "_url" and _const(node.value):
                found.url = str(_const(node.value))
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == "_params"
                and isinstance(_const(target.slice), str)
            ):
                query.append(str(_const(target.slice)))
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "_url"
            and isinstance(_const(node.value), str)
        ):
            found.url = str(_const(node.value))
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "HttpRequest":
                for kw in node.keywords:
                    if kw.arg == "method":
                        found.method = str(_const(kw.value))
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "pop"
                and len(node.args) == 2
                and _const(node.args[0]) == "api-version"
            ):
                found.api_version = str(_const(node.args[1]))
    found.query = tuple(query)
    return found


def _model_name(node: ast.AST) -> tuple[str, bool] | None:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "_models"
    ):
        return node.attr, False
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "List"
    ):
        inner = _model_name(node.slice)
        return (inner[0], True) if inner else None
    return None


def _body_model(fn: ast.FunctionDef) -> str | None:
    for arg in fn.args.args + fn.args.kwonlyargs:
        ann = arg.annotation
        if (
            isinstance(ann, ast.Subscript)
            and isinstance(ann.value, ast.Name)
            and ann.value.id == "Optional"
            and isinstance(ann.slice, ast.Subscript)
        ):
            ann = ann.slice
        if (
            isinstance(ann, ast.Subscript)
            and isinstance(ann.value, ast.Name)
            and ann.value.id == "Union"
            and isinstance(ann.slice, ast.Tuple)
        ):
            names = [ast.unparse(e) for e in ann.slice.elts]
            if "IO[bytes]" in names and ann.slice.elts:
                first = _model_name(ann.slice.elts[0])
                if first:
                    return first[0]
    return None


def _parse_method(fn: ast.FunctionDef) -> _Method:
    found = _Method([], [], [], [], _body_model(fn), {})
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                if func.id.startswith("build_") and func.id.endswith("_request"):
                    found.builders.append(func.id)
                if func.id == "_deserialize" and node.args:
                    name = _model_name(node.args[0])
                    if name:
                        found.models.append(name)
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "self"
                and func.attr.endswith("_initial")
            ):
                found.initial.append(func.attr)
        if (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.NotIn)
            and isinstance(node.left, ast.Attribute)
            and node.left.attr == "status_code"
            and isinstance(node.comparators[0], ast.List)
        ):
            found.statuses = [int(_const(e)) for e in node.comparators[0].elts]
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Attribute)
            and node.test.left.attr == "status_code"
            and isinstance(node.test.ops[0], ast.Eq)
        ):
            status = int(_const(node.test.comparators[0]))
            for inner in ast.walk(node):
                if isinstance(inner, ast.Assign) and len(inner.targets) == 1:
                    target = inner.targets[0]
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "response_headers"
                        and isinstance(_const(target.slice), str)
                    ):
                        found.headers.setdefault(status, []).append(str(_const(target.slice)))
    return found


def _pascal(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def _operations_of(sdk: str) -> list[SdkOperation]:
    package = __import__(_SDKS[sdk] + ".operations._operations", fromlist=["_operations"])
    models = __import__(_SDKS[sdk] + ".models", fromlist=["models"])
    tree = ast.parse(inspect.getsource(package))
    builders: dict[str, _Builder] = {}
    classes: dict[str, dict[str, _Method]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("build_"):
            builders[node.name] = _parse_builder(node)
        if isinstance(node, ast.ClassDef) and node.name.endswith("Operations"):
            methods: dict[str, _Method] = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    methods[item.name] = _parse_method(item)  # the last definition wins
            classes[node.name] = methods
    result: list[SdkOperation] = []
    for class_name, methods in classes.items():
        group = class_name[: -len("Operations")] or "Operations"
        for method_name, method in methods.items():
            if method_name.startswith("_"):
                continue
            lro = method_name.startswith("begin_")
            source = method
            if method.initial:
                source = methods[method.initial[0]]
            if not source.builders:
                continue
            builder = builders[source.builders[0]]
            models_read = method.models if lro else source.models
            response = models_read[0] if models_read else None
            body = method.body or source.body
            result.append(
                SdkOperation(
                    name=f"{group}_{_pascal(method_name.removeprefix('begin_'))}",
                    sdk=sdk,
                    method=builder.method,
                    template=builder.url,
                    api_version=builder.api_version,
                    query=frozenset(builder.query),
                    statuses=tuple(source.statuses or method.statuses),
                    request_model=getattr(models, body) if body else None,
                    response_model=getattr(models, response[0]) if response else None,
                    paged=bool(response and response[1]),
                    lro=lro,
                    headers={k: tuple(dict.fromkeys(v)) for k, v in source.headers.items()},
                )
            )
    return result


@functools.cache
def operations() -> tuple[SdkOperation, ...]:
    """Every operation of both SDKs."""
    return tuple(op for sdk in _SDKS for op in _operations_of(sdk))


def find_operation(method: str, path: str) -> tuple[SdkOperation, dict[str, str]] | None:
    """The SDK operation for a request (the most specific template that matches)."""
    best: tuple[SdkOperation, dict[str, str]] | None = None
    for op in operations():
        if op.method != method:
            continue
        found = op.pattern.match(path)
        if found and (best is None or op.literal_segments > best[0].literal_segments):
            best = (op, found.groupdict())
    return best


# -- models --------------------------------------------------------------------------------
_NONE = type(None)


def _module_namespace(cls: type) -> dict[str, Any]:
    module = __import__(cls.__module__, fromlist=["_"])
    package = __import__(cls.__module__.rsplit(".", 1)[0], fromlist=["_"])
    return {**vars(module), "_models": package, "datetime": datetime}


def _kind(annotation: Any, owner: type, wire: str) -> tuple[Kind, bool]:
    """(kind, optional) for a field annotation."""
    if isinstance(annotation, (str, typing.ForwardRef)):
        text = annotation if isinstance(annotation, str) else annotation.__forward_arg__
        annotation = eval(text, _module_namespace(owner))
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        optional = _NONE in args
        rest = [a for a in args if a is not _NONE]
        resolved = [_kind(a, owner, wire)[0] for a in rest]
        enums = [k for k in resolved if isinstance(k, Enum_)]
        if enums:
            return enums[0], optional
        if len(resolved) == 1:
            return resolved[0], optional
        return Any_(), optional
    if origin is typing.Literal:
        return Lit(str(args[0])), False
    if origin is list:
        return Arr(_kind(args[0], owner, wire)[0]), False
    if origin is dict:
        return Map(_kind(args[1], owner, wire)[0]), False
    if annotation is str:
        documented = DOCUMENTED_VALUES.get((owner.__name__, wire))
        return (
            Enum_(f"{owner.__name__}.{wire}", documented) if documented else Prim("string")
        ), False
    if annotation is bool:
        return Prim("boolean"), False
    if annotation is int:
        return Prim("integer"), False
    if annotation is float:
        return Prim("number"), False
    if annotation is datetime.datetime:
        return Prim("date-time"), False
    if annotation is bytes or annotation is typing.Any:
        return (Prim("string") if annotation is bytes else Any_()), False
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return Enum_(annotation.__name__, frozenset(str(m.value) for m in annotation)), False
    if isinstance(annotation, type) and getattr(annotation, "_is_model", False):
        return model_kind(annotation), False
    raise TypeError(f"{owner.__name__}.{wire}: unsupported annotation {annotation!r}")


def _rest_fields(cls: type) -> list[tuple[type, str, Any]]:
    """(declaring class, attribute, rest field) in MRO order, subclasses overriding."""
    found: dict[str, tuple[type, str, Any]] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if attr.startswith("_") or not hasattr(value, "_rest_name_input"):
                continue
            found[attr] = (klass, attr, value)
    return list(found.values())


@dataclass(frozen=True)
class ModelSchema:
    """An SDK model class as an :class:`ObjectSchema`."""

    cls: type

    @property
    def name(self) -> str:
        return self.cls.__name__

    def props(self) -> Mapping[str, Prop]:
        return _props(self.cls)

    def resolve(self, raw: Mapping[str, Any]) -> tuple[ObjectSchema, str | None]:
        cls, used = self.cls, set()
        while True:
            mapping = vars(cls).get("__mapping__")
            disc = _discriminator(cls, used)
            if not mapping or disc is None:
                return (ModelSchema(cls) if cls is not self.cls else self), None
            used.add(disc)
            value = raw.get(disc)
            if value not in mapping:
                if value is None or value == cls.__name__:
                    # None: reported as a missing required field. The base type's own name:
                    # swagger's default discriminator value, which Microsoft's examples send
                    # (ReplicationProtectionContainerMappings_Create.json:
                    # "ReplicationProviderSpecificContainerMappingInput").
                    return ModelSchema(cls), None
                known = ", ".join(sorted(mapping))
                return ModelSchema(
                    cls
                ), f"{disc} {value!r} names no subtype of {cls.__name__} ({known})"
            cls = mapping[value]


def _discriminator(cls: type, used: set[str]) -> str | None:
    for value in vars(cls).values():
        if getattr(value, "_is_discriminator", False):
            wire = value._rest_name_input
            if wire not in used:
                return str(wire)
    return None


@functools.cache
def _props(cls: type) -> dict[str, Prop]:
    props: dict[str, Prop] = {}
    for klass, attr, rest in _rest_fields(cls):
        annotation = klass.__annotations__.get(attr)
        wire = rest._rest_name_input or attr
        kind, optional = _kind(annotation, klass, wire)
        visibility = rest._visibility
        readonly = visibility == ["read"]
        props[wire] = Prop(
            kind=kind,
            required=not optional and not isinstance(kind, Any_),
            readonly=readonly,
            required_in_requests=visibility is None or bool({"create", "update"} & set(visibility)),
        )
    return props


@functools.cache
def model_kind(cls: type) -> Obj:
    """The schema kind of an SDK model class."""
    return Obj(lambda: ModelSchema(cls), cls.__name__)
