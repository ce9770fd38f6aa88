"""Comparing the emulator's answers with Microsoft's examples, and with the SDK's models.

* :func:`shape_problems` — same keys (every key of the example is in ours) and JSON value types,
  recursively. A sub-object whose ``instanceType`` differs (HyperVReplicaAzure in the example,
  InMageRcm here) is provider-specific and not compared; free-form maps (``tags``,
  ``affectedObjectDetails``) are compared by value type only.
* :func:`lossless_problems` — the body loads into the SDK model without loss: every key is a field
  of the (discriminator-resolved) model class, every value deserialises to a matching type, and
  ``Model(body).as_dict()`` gives the body back.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

Model = Any


FREE_FORM = {
    "affectedObjectDetails",
    "tags",
    "messageParameters",
    "errorTags",
    "userAssignedIdentities",
}
MAY_BE_ABSENT: set[str] = {
    # Present once an item failed over; the TestFailoverCleanup example's HyperVReplicaAzure item
    # had, while an InMageRcm item allows no test failover after a failover.
    "lastSuccessfulFailoverTime",
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_problems(example: Any, ours: Any, path: str = "$") -> list[str]:
    """Where ``ours`` does not have the example's shape."""
    if example is None or ours is None:
        return []
    if _kind(example) != _kind(ours):
        return [f"{path}: example {_kind(example)}, emulator {_kind(ours)}"]
    if isinstance(example, dict):
        if example.get("instanceType") != ours.get("instanceType"):
            return []  # provider-specific subtree (e.g. HyperVReplicaAzure vs InMageRcm)
        problems: list[str] = []
        for key, value in example.items():
            child = f"{path}.{key}"
            if key not in ours:
                if key not in MAY_BE_ABSENT:
                    problems.append(f"{child}: missing")
                continue
            if key in FREE_FORM and isinstance(value, dict) and isinstance(ours[key], dict):
                kinds = {_kind(v) for v in value.values()} | {_kind(v) for v in ours[key].values()}
                if len(kinds - {"null"}) > 1:
                    problems.append(f"{child}: map value types {sorted(kinds)}")
                continue
            problems += shape_problems(value, ours[key], child)
        return problems
    if isinstance(example, list) and example and ours:
        return shape_problems(example[0], ours[0], f"{path}[0]")
    return []


def _primitive_ok(raw: Any, value: Any) -> bool:
    if isinstance(value, datetime.datetime):
        return isinstance(raw, str)
    if isinstance(value, enum.Enum):
        return isinstance(raw, str)
    if isinstance(raw, bool) or isinstance(value, bool):
        return isinstance(raw, bool) and isinstance(value, bool)
    if isinstance(raw, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(raw, str):
        return isinstance(value, str)
    return type(raw) is type(value)


def _check(obj: Model, raw: dict[str, Any], path: str, problems: list[str]) -> None:
    fields = {f._rest_name: attr for attr, f in type(obj)._attr_to_rest_field.items()}
    mapping = getattr(type(obj), "__mapping__", None)
    if (
        mapping
        and raw.get("instanceType") in mapping
        and type(obj) is not mapping[raw["instanceType"]]
    ):
        problems.append(
            f"{path}: instanceType {raw['instanceType']} did not resolve ({type(obj).__name__})"
        )
    for key, value in raw.items():
        child = f"{path}.{key}"
        if key not in fields:
            problems.append(f"{child}: not a field of {type(obj).__name__}")
            continue
        loaded = getattr(obj, fields[key])
        _check_value(value, loaded, child, problems)


def _check_value(raw: Any, loaded: Any, path: str, problems: list[str]) -> None:
    if raw is None:
        return
    if hasattr(type(loaded), "_attr_to_rest_field"):
        if not isinstance(raw, dict):
            problems.append(f"{path}: a {type(loaded).__name__} from a {_kind(raw)}")
        else:
            _check(loaded, raw, path, problems)
    elif isinstance(loaded, list):
        if not isinstance(raw, list) or len(raw) != len(loaded):
            problems.append(f"{path}: list did not load as a list")
            return
        for index, (r, v) in enumerate(zip(raw, loaded, strict=True)):
            _check_value(r, v, f"{path}[{index}]", problems)
    elif isinstance(loaded, dict):
        if not isinstance(raw, dict):
            problems.append(f"{path}: a dict from a {_kind(raw)}")
    elif not _primitive_ok(raw, loaded):
        problems.append(f"{path}: {raw!r} loaded as {loaded!r}")


def lossless_problems(model: Any, body: dict[str, Any]) -> list[str]:
    """Where ``body`` does not load losslessly into ``model``."""
    problems: list[str] = []
    obj = model(body)
    _check(obj, body, "$", problems)
    if obj.as_dict() != body:
        problems.append("$: as_dict() differs from the body")
    return problems
