"""Reading the config file's JSON objects: every bad key is named by its dotted path."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from ec2asr.errors import Ec2AsrError, InvalidInputError

__all__ = [
    "COMMAND_LINE_ONLY",
    "NULL_PROBLEM",
    "SECRET_KEYS",
    "Section",
    "advice",
    "config_path",
    "kind_of",
    "wrap",
]

T = TypeVar("T")

SECRET_KEYS = {
    "password": "a password",
    "secret": "a secret",
    "client_secret": "an Azure client secret",
    "aws_access_key_id": "an AWS access key",
    "aws_secret_access_key": "an AWS secret key",
    "aws_session_token": "an AWS session token",
    "access_key": "an AWS access key",
    "secret_key": "an AWS secret key",
    "token": "a token",
    "credential": "a credential",
    "credentials": "credentials",
    "connection_string": "a connection string",
    "agent_config": "the Mobility agent configuration",
}
_WHERE_CREDENTIALS = (
    "credentials never go in the config file: AWS credentials come from aws.profile or the "
    "environment, Azure credentials from DefaultAzureCredential (az login, AZURE_* environment "
    "variables, a managed identity)"
)


COMMAND_LINE_ONLY = {
    "confirm_cutover": (
        "a cutover (stopping the sources and failing over) is confirmed only on the command "
        "line, with --confirm-cutover, never from a file"
    ),
}


NULL_PROBLEM = "must not be null (leave an optional key out for its default)"


class Section:
    """Reads one JSON object, naming every bad key by its dotted path."""

    def __init__(self, source: str, path: str, data: Any, allowed: tuple[str, ...]) -> None:
        self.source = source
        self.path = path
        if not isinstance(data, Mapping):
            self.fail(path or "the config", f"must be a JSON object, not {kind_of(data)}")
        self.data: Mapping[str, Any] = data
        for key in data:
            if key.startswith("_"):
                continue
            if key.lower() in SECRET_KEYS:
                self.fail(self.key(key), f"holds {SECRET_KEYS[key.lower()]}: {advice(key)}")
            if key in COMMAND_LINE_ONLY:
                self.fail(self.key(key), COMMAND_LINE_ONLY[key])
            if key not in allowed:
                pass
            elif data[key] is None:
                self.fail(self.key(key), NULL_PROBLEM)
            if key not in allowed:
                near = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                self.fail(self.key(key), f"unknown key ({hint}known: {', '.join(allowed)})")

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, key: str, problem: str) -> NoReturn:
        raise InvalidInputError(f"{self.source}: {key}: {problem}")

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def section(self, name: str, allowed: tuple[str, ...], *, required: bool = True) -> Section:
        if not self.has(name):
            if required:
                self.fail(self.key(name), "is required")
            return Section(self.source, self.key(name), {}, allowed)
        return Section(self.source, self.key(name), self.data[name], allowed)

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        pattern: re.Pattern[str] | None = None,
        what: str = "",
    ) -> Any:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(self.key(name), "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(self.key(name), f"must be a non-empty string, not {kind_of(value)}")
        if pattern is not None and not pattern.match(value):
            self.fail(self.key(name), f"{value!r} is not {what}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(self.key(name), f"must be true or false, not {kind_of(value)}")
        return value

    def number(
        self,
        name: str,
        default: float,
        *,
        integer: bool = False,
        minimum: float = 0,
        exclusive: bool = False,
    ) -> Any:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(self.key(name), f"must be a number, not {kind_of(value)}")
        if integer and isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON (and its schema) make no difference between 2 and 2.0
        if integer and not isinstance(value, int):
            self.fail(self.key(name), f"must be a whole number, not {value!r}")
        if value < minimum or (exclusive and value == minimum):
            bound = f"greater than {minimum:g}" if exclusive else f"at least {minimum:g}"
            self.fail(self.key(name), f"must be {bound}, not {value!r}")
        return value

    def texts(self, name: str) -> tuple[str, ...] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(self.key(name), f"must be a list of strings, not {kind_of(value)}")
        return tuple(value)

    def text_map(self, name: str, *, values: str = "strings") -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            return {}
        ok = isinstance(value, Mapping) and all(
            k and _map_value_ok(v, values) for k, v in value.items()
        )
        if not ok:
            self.fail(self.key(name), f"must be an object mapping names to {values}")
        return dict(value)


def _map_value_ok(value: Any, values: str) -> bool:
    if isinstance(value, str):
        return True
    if values == "tag values":  # a string, a list of strings, or null (key only)
        return value is None or (
            isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
        )
    return False


def kind_of(value: Any) -> str:
    """How a JSON value is named in messages (``"the number 7"``, ``"a list"``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def advice(key: str) -> str:
    """Where the value of a refused secret-looking key belongs instead."""
    if key.lower() == "agent_config":
        return (
            "put the configuration generated on the appliance in a file and name it with "
            "installer.agent_config_file; ec2asr reads it as a secret"
        )
    return _WHERE_CREDENTIALS


def wrap(source: str, key: str, build: Callable[[], T]) -> T:
    """Call ``build()``; prefix an SDK validation error with the config key."""
    try:
        return build()
    except TypeError as exc:  # a wrong type slipped past the checks above
        raise InvalidInputError(f"{source}: {key}: {exc}") from None
    except Ec2AsrError as exc:
        raise InvalidInputError(f"{source}: {key}: {exc}") from None


def config_path(base_dir: Path, value: str | None) -> Path | None:
    """A path from the config: ``~`` expanded, relative to the config file's folder."""
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path
