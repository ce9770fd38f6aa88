"""A small schema language and the checker that compares a JSON body with it.

Two sources fill it: the SDK's generated models (``sdk_contract.py``, by introspection) and the
OffAzure definitions read from the published spec (``offazure_spec.py``). The checker reports,
per JSON pointer: unknown fields, required fields that are missing (or null), values of the
wrong JSON type, enum values outside the enum (compared case-insensitively, as the SDK's
``CaseInsensitiveEnumMeta`` does), discriminators that name no known subtype, timestamps that
do not parse, and read-only fields sent in a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, Union

__all__ = [
    "Any_",
    "Arr",
    "Enum_",
    "Kind",
    "Lit",
    "Map",
    "Obj",
    "ObjectSchema",
    "Prim",
    "Prop",
    "check",
]


@dataclass(frozen=True)
class Prim:
    """A JSON primitive: ``string``, ``integer``, ``number``, ``boolean`` or ``date-time``."""

    name: str


@dataclass(frozen=True)
class Any_:
    """Any JSON value (free-form)."""


@dataclass(frozen=True)
class Enum_:
    """A string enum (``values`` compared case-insensitively)."""

    name: str
    values: frozenset[str]


@dataclass(frozen=True)
class Lit:
    """A constant string (a subtype's discriminator value)."""

    value: str


@dataclass(frozen=True)
class Arr:
    """A JSON array of ``item``."""

    item: Kind


@dataclass(frozen=True)
class Map:
    """A JSON object used as a map of ``value``."""

    value: Kind


@dataclass(frozen=True)
class Obj:
    """A JSON object described by a schema (resolved lazily: models refer to each other)."""

    ref: Callable[[], ObjectSchema] = field(compare=False)
    name: str = ""


Kind = Union[Prim, Any_, Enum_, Lit, Arr, Map, Obj]  # noqa: UP007 - a runtime alias


@dataclass(frozen=True)
class Prop:
    """One property: its kind, whether it is required, whether it is read-only."""

    kind: Kind
    required: bool = False
    readonly: bool = False
    # Where the property is required: the SDK marks e.g. ``instanceType`` required everywhere,
    # while a read-only property is only required in responses.
    required_in_requests: bool = True


class ObjectSchema(Protocol):
    """A JSON object's description."""

    @property
    def name(self) -> str: ...

    def props(self) -> Mapping[str, Prop]:
        """Wire name -> property."""
        ...

    def resolve(self, raw: Mapping[str, Any]) -> tuple[ObjectSchema, str | None]:
        """The concrete schema for ``raw`` (discriminator applied) and, when the
        discriminator names no known subtype, why."""
        ...


@dataclass(frozen=True)
class Problem:
    """One mismatch inside a body: a JSON pointer and what is wrong there."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer}: {self.message}"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_FRACTION = re.compile(r"\.(\d+)")


def parses_as_datetime(text: str) -> bool:
    """Whether ``text`` is an RFC 3339 timestamp (ASR writes up to 7 fractional digits)."""
    candidate = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    candidate = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), candidate, count=1)
    if "T" not in candidate and " " not in candidate:
        return False
    try:
        datetime.fromisoformat(candidate)
    except ValueError:
        return False
    return True


def check(
    kind: Kind,
    value: Any,
    *,
    pointer: str = "$",
    request: bool,
    extra_enum_values: Mapping[str, frozenset[str]] | None = None,
) -> list[Problem]:
    """Where ``value`` does not conform to ``kind``.

    Args:
        kind: The expected kind.
        value: The JSON value (already parsed).
        pointer: The JSON pointer of ``value`` (for messages).
        request: True for a request body (read-only fields may not be sent), False for a
            response body (read-only fields may appear; required read-only fields must).
        extra_enum_values: Enum name -> values accepted beyond the SDK's enum, each documented
            (see ``ACCEPTED_EXTRA_ENUM_VALUES`` in ``sdk_contract.py``).
    """
    problems: list[Problem] = []
    _check(kind, value, pointer, request, extra_enum_values or {}, problems)
    return problems


def _check(
    kind: Kind,
    value: Any,
    pointer: str,
    request: bool,
    extra: Mapping[str, frozenset[str]],
    out: list[Problem],
) -> None:
    if value is None or isinstance(kind, Any_):
        return
    got = _json_kind(value)
    if isinstance(kind, Prim):
        ok = {
            "string": got == "string",
            "integer": got == "integer",
            "number": got in ("integer", "number"),
            "boolean": got == "boolean",
            "date-time": got == "string",
        }[kind.name]
        if not ok:
            out.append(Problem(pointer, f"expected {kind.name}, got {got} {value!r}"))
        elif kind.name == "date-time" and not parses_as_datetime(value):
            out.append(Problem(pointer, f"not an RFC 3339 date-time: {value!r}"))
        return
    if isinstance(kind, Enum_):
        if got != "string":
            out.append(Problem(pointer, f"expected a {kind.name} string, got {got} {value!r}"))
            return
        allowed = {v.lower() for v in kind.values | extra.get(kind.name, frozenset())}
        if value.lower() not in allowed:
            known = ", ".join(sorted(kind.values))
            out.append(Problem(pointer, f"{value!r} is not a {kind.name} value (known: {known})"))
        return
    if isinstance(kind, Lit):
        if value != kind.value:
            out.append(Problem(pointer, f"expected {kind.value!r}, got {value!r}"))
        return
    if isinstance(kind, Arr):
        if got != "array":
            out.append(Problem(pointer, f"expected array, got {got}"))
            return
        for index, item in enumerate(value):
            _check(kind.item, item, f"{pointer}[{index}]", request, extra, out)
        return
    if isinstance(kind, Map):
        if got != "object":
            out.append(Problem(pointer, f"expected object (map), got {got}"))
            return
        for key, item in value.items():
            _check(kind.value, item, f"{pointer}.{key}", request, extra, out)
        return
    if got != "object":
        out.append(Problem(pointer, f"expected {kind.name or 'object'}, got {got}"))
        return
    _check_object(kind.ref(), value, pointer, request, extra, out)


def _check_object(
    schema: ObjectSchema,
    value: Mapping[str, Any],
    pointer: str,
    request: bool,
    extra: Mapping[str, frozenset[str]],
    out: list[Problem],
) -> None:
    resolved, why = schema.resolve(value)
    if why is not None:
        out.append(Problem(pointer, why))
    props = resolved.props()
    for key, item in value.items():
        prop = props.get(key)
        child = f"{pointer}.{key}"
        if prop is None:
            out.append(Problem(child, f"unknown field (not in {resolved.name})"))
            continue
        if request and prop.readonly and item is not None:
            out.append(Problem(child, f"read-only field of {resolved.name} sent in a request"))
        _check(prop.kind, item, child, request, extra, out)
    for key, prop in props.items():
        if not prop.required:
            continue
        if request and (prop.readonly or not prop.required_in_requests):
            continue
        if value.get(key) is None:
            state = "missing" if key not in value else "null"
            out.append(Problem(f"{pointer}.{key}", f"required field of {resolved.name} is {state}"))
