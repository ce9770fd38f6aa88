"""The config file's JSON Schema (``ec2asr/config.schema.json``): the one source of its keys.

The schema says which keys exist, which are required, their types, ranges and enumerations
(editors use it too; the docs page is generated from it). :func:`check` validates a parsed
config against it with ``jsonschema`` and turns the first problem into one
:class:`~ec2asr.errors.InvalidInputError` naming the key by its dotted path, in the words the
rest of the config reader uses. What a schema cannot say (ARM id shapes, boot groups naming
each migrating machine once, a test network while test migration is on) is checked by
:mod:`ec2asr._config` after it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ec2asr._config_reader import COMMAND_LINE_ONLY, NULL_PROBLEM, SECRET_KEYS, advice, kind_of
from ec2asr.errors import InvalidInputError

__all__ = ["check", "errors", "keys", "markdown", "schema"]

_TOP_ORDER = ("journal", "name", "aws", "azure", "target", "policy", "installer")


@cache
def schema() -> Mapping[str, Any]:
    """The parsed JSON Schema of the config file."""
    text = resources.files("ec2asr").joinpath("config.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        ref = str(node["$ref"])
        if not ref.startswith("#/$defs/"):
            raise ValueError(f"only local $defs references are used: {ref}")
        merged = {k: v for k, v in node.items() if k != "$ref"}
        node = {**schema()["$defs"][ref.removeprefix("#/$defs/")], **merged}
    return node


def keys(section: str = "", *, kind: str | None = None) -> tuple[str, ...]:
    """The keys a section allows, in the schema's order (``""`` is the top level).

    Args:
        section: ``""``, ``"aws"``, ``"azure"``, ``"target"``, ``"policy"``, ``"installer"``,
            ``"recovery_plan"`` or ``"simulated_clock"``.
        kind: For ``installer``: ``push``, ``ssm`` or ``bundle``.
    """
    if section == "":
        node: Mapping[str, Any] = schema()
    elif section == "installer":
        node = _resolve({"$ref": f"#/$defs/installer_{kind}"})
    else:
        node = _resolve({"$ref": f"#/$defs/{section}"})
    return tuple(node.get("properties", {}))


_KINDS = ("push", "ssm", "bundle")


def _specialise(node: Mapping[str, Any], value: Any) -> Mapping[str, Any]:
    """The installer's schema for its kind (the generic one while the kind is unknown)."""
    if node.get("allOf") and isinstance(value, Mapping) and value.get("kind") in _KINDS:
        return _resolve({"$ref": f"#/$defs/installer_{value['kind']}"})
    return node


def _node_at(path: Iterable[Any], data: Any) -> Mapping[str, Any]:
    """The schema node describing the value at ``path`` in ``data``."""
    node = _specialise(_resolve(schema()), data)
    value = data
    for part in path:
        props = node.get("properties", {})
        if isinstance(part, str) and part in props:
            node = _resolve(props[part])
        elif isinstance(part, int) and isinstance(node.get("items"), Mapping):
            node = _resolve(node["items"])
        elif isinstance(node.get("additionalProperties"), Mapping):
            node = _resolve(node["additionalProperties"])
        else:
            return {}
        value = value[part] if isinstance(value, (Mapping, list)) else None
        node = _specialise(node, value)
    return node


def _dotted(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path)


def _key(parent: Iterable[Any], name: str) -> str:
    return _dotted([*parent, name])


def _is_map(node: Mapping[str, Any]) -> bool:
    return "properties" not in node and (
        isinstance(node.get("additionalProperties"), Mapping) or "propertyNames" in node
    )


def _report_at(error: ValidationError, data: Any) -> tuple[list[Any], Mapping[str, Any]]:
    """Where to report an error: a map or a described list is reported as a whole."""
    path = list(error.absolute_path)
    for cut in range(len(path)):
        node = _node_at(path[:cut], data)
        if cut and (_is_map(node) or "x-what" in node):
            return path[:cut], node
    return path, _node_at(path, data)


def _describe(
    error: ValidationError, data: Any, branch: Mapping[str, Any] | None = None
) -> tuple[tuple[int, ...], str]:
    """A sort key and the message (without the file name) for one schema error."""
    path, node = _report_at(error, data)
    if branch is not None:
        path, node = list(error.absolute_path), branch
    top = str(path[0]) if path else ""
    rank = _TOP_ORDER.index(top) if top in _TOP_ORDER else len(_TOP_ORDER)
    where = _dotted(path) or "the config"
    value: Any = error.instance
    validator: Any = error.validator
    expected: Any = error.validator_value
    if validator == "additionalProperties" and isinstance(value, Mapping) and not _is_map(node):
        allowed = tuple(node.get("properties", {}))
        extra = [k for k in value if k not in allowed and not str(k).startswith("_")]
        secret = [k for k in extra if str(k).lower() in SECRET_KEYS]
        if secret:
            key = secret[0]
            what = SECRET_KEYS[str(key).lower()]
            return (0, len(path)), f"{_key(path, key)}: holds {what}: {advice(key)}"
        ordered = [k for k in extra if k in COMMAND_LINE_ONLY] or extra
        key = ordered[0]
        if key in COMMAND_LINE_ONLY:
            return (0, len(path)), f"{_key(path, key)}: {COMMAND_LINE_ONLY[key]}"
        near = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return (1 + rank, len(path), 0), (
            f"{_key(path, key)}: unknown key ({hint}known: {', '.join(allowed)})"
        )
    order = (1 + rank, len(path), 1)
    if validator == "required":
        missing = next(k for k in expected if k not in value)
        prop = _resolve(node.get("properties", {}).get(missing, {}))
        why = ""
        if "x-required" in prop:
            why = f": {prop['x-required']}"
        elif "enum" in prop:
            why = f" (one of {', '.join(map(repr, prop['enum']))})"
        return order, f"{_key(path, missing)}: is required{why}"
    nullable = value is None and validator in ("type", "enum", "anyOf", "const") and path
    if nullable and not _is_map(_node_at(path[:-1], data)):
        return order, f"{where}: {NULL_PROBLEM}"
    if "x-problem" in node and validator in ("pattern", "type"):
        return order, f"{where}: {node['x-problem']}"
    if _is_map(node):
        return order, f"{where}: must be {node.get('x-what', 'an object mapping names to strings')}"
    if "x-what" in node and validator in ("pattern", "anyOf", "type", "items"):
        if validator == "pattern":
            return order, f"{where}: {value!r} is not {node['x-what']}"
        sub = _branch_error(error)
        if sub is not None:
            return _describe(sub[0], data, sub[1])
        return order, f"{where}: must be {node['x-what']}"
    if validator == "type":
        return order, f"{where}: {_type_problem(node.get('type', expected), value)}"
    if validator in ("minLength", "pattern") and isinstance(value, str):
        return order, f"{where}: must be a non-empty string, not {kind_of(value)}"
    if validator in ("minItems", "minProperties"):
        return order, f"{where}: must not be empty (leave the key out instead)"
    if validator == "minimum":
        return order, f"{where}: must be at least {expected:g}, not {value!r}"
    if validator == "exclusiveMinimum":
        return order, f"{where}: must be greater than {expected:g}, not {value!r}"
    if validator == "maximum":
        return order, f"{where}: must be at most {expected:g}, not {value!r}"
    if validator in ("enum", "const"):
        options = node.get("enum") or [expected]
        return order, f"{where}: must be one of {', '.join(map(repr, options))}, not {value!r}"
    return order, f"{where}: {error.message}"


def _branch_error(error: ValidationError) -> tuple[ValidationError, Mapping[str, Any]] | None:
    """For an ``anyOf`` over types, the error (and schema) of the value's own type's branch."""
    if error.validator != "anyOf" or not error.context:
        return None
    branches: Any = error.validator_value
    for sub in error.context:
        branch = branches[sub.relative_schema_path[0]]
        branch = _resolve(branch)
        kind = branch.get("type")
        if (kind == "object" and isinstance(error.instance, Mapping)) or (
            kind == "string" and isinstance(error.instance, str)
        ):
            return sub, branch
    return None


def _type_problem(expected: Any, value: Any) -> str:
    kinds = expected if isinstance(expected, list) else [expected]
    found = kind_of(value)
    if "object" in kinds:
        return f"must be a JSON object, not {found}"
    if "string" in kinds:
        return f"must be a non-empty string, not {found}"
    if "boolean" in kinds:
        return f"must be true or false, not {found}"
    if "integer" in kinds:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"must be a whole number, not {value!r}"
        return f"must be a number, not {found}"
    if "number" in kinds:
        return f"must be a number, not {found}"
    if "array" in kinds:
        return f"must be a list of strings, not {found}"
    return f"must be {' or '.join(kinds)}, not {found}"


def errors(data: Any) -> list[str]:
    """Every problem the schema finds, as ``key: problem`` messages, most important first."""
    found = [_describe(e, data) for e in _validator().iter_errors(data)]
    return [message for _, message in sorted(found, key=lambda item: item[0])]


def check(data: Any, *, source: str) -> None:
    """Validate a parsed config against the schema.

    Raises:
        InvalidInputError: The first problem, naming the key (``m.json: aws.region: ...``).
    """
    problems = errors(data)
    if problems:
        raise InvalidInputError(f"{source}: {problems[0]}")


# -- the docs page ---------------------------------------------------------------------------

_SECTIONS = (
    ("Top level", ""),
    ("`aws`", "aws"),
    ("`azure`", "azure"),
    ("`target`", "target"),
    ("`policy`", "policy"),
    ("`installer`: `push`", "installer_push"),
    ("`installer`: `ssm`", "installer_ssm"),
    ("`installer`: `bundle`", "installer_bundle"),
    ("`recovery_plan`", "recovery_plan"),
    ("`simulated_clock`", "simulated_clock"),
)


def _type_text(node: Mapping[str, Any]) -> str:
    node = _resolve(node)
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "anyOf" in node:
        return " or ".join(_type_text(branch) for branch in node["anyOf"])
    kind = node.get("type")
    if "x-what" in node and kind in ("object", None):
        return str(node["x-what"])
    if kind == "array":
        items = _resolve(node.get("items", {}))
        return "list of " + (
            "lists of strings" if items.get("type") == "array" else f"{items.get('type')}s"
        )
    if kind == "object":
        if "properties" in node and not node.get("patternProperties"):
            return "object (" + ", ".join(f"`{k}`" for k in node["properties"]) + ")"
        return "object" if "properties" in node else "object of strings"
    bounds = []
    if "minimum" in node:
        bounds.append(f"≥ {node['minimum']}")
    if "exclusiveMinimum" in node:
        bounds.append(f"> {node['exclusiveMinimum']}")
    if "maximum" in node:
        bounds.append(f"≤ {node['maximum']}")
    if "x-what" in node and kind == "string":
        return f"string: {node['x-what']}"
    text = str(kind or "any")
    return f"{text} {', '.join(bounds)}" if bounds else text


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def markdown() -> str:
    """The config reference page (``docs/config.md``), generated from the schema."""
    root = schema()
    out = [
        "# Config file reference",
        "",
        "<!-- Generated from ec2asr/config.schema.json by "
        "ec2asr._config_schema.markdown(); do not edit (a test compares). -->",
        "",
        _cell(str(root["description"])),
        "",
        "The [JSON Schema](config.schema.json) (draft 2020-12) is the one source of the keys, "
        "their types, ranges and defaults: editors that read JSON Schema check a config as you "
        "type, and `python -m ec2asr plan --config FILE --validate-only` checks it against the "
        "schema and the rules a schema cannot say (ARM id shapes, at least one selector, boot "
        "groups naming each migrating machine once, a test network while test migration is on) "
        "without touching AWS or Azure. Every command checks the same before anything else. "
        "See [the command line](cli.md) for an example.",
    ]
    for title, name in _SECTIONS:
        node = root if name == "" else _resolve({"$ref": f"#/$defs/{name}"})
        required = set(node.get("required", ()))
        out += ["", f"## {title}", ""]
        if name and "description" in node:
            out += [_cell(str(node["description"])), ""]
        out += ["| Key | Type | Required | Default | Meaning |", "|---|---|---|---|---|"]
        for key, prop in node.get("properties", {}).items():
            resolved = _resolve(prop)
            kind = _type_text(prop)
            if key in ("aws", "azure", "target", "policy", "installer", "recovery_plan") or (
                key == "simulated_clock"
            ):
                kind = "object (below)"
            default = resolved.get("default")
            shown = "" if default is None else f"`{json.dumps(default)}`"
            description = resolved.get("description", "")
            out.append(
                f"| `{key}` | {_cell(kind)} | {'yes' if key in required else 'no'} | {shown} "
                f"| {_cell(str(description))} |"
            )
    return "\n".join(out) + "\n"
