"""A wrapper that keeps secrets out of reprs, logs, messages and the journal."""

from __future__ import annotations

from typing import Any, NoReturn

from ec2asr.errors import InvalidInputError

__all__ = ["Secret"]


class Secret:
    """A secret string (a run-as password, a Mobility agent configuration, a token).

    ``str()``, ``repr()`` and formatting show ``'**********'``; only :meth:`reveal` returns the
    value. Pickling and JSON serialisation are refused so a secret cannot leak into the journal,
    a report or a subprocess by accident.

    Args:
        value: The secret text.
        label: A harmless name shown in reprs (``"agent configuration"``).

    Raises:
        InvalidInputError: When ``value`` is not a string (the message names its type only,
            never the value) or ``label`` is not a string.
    """

    __slots__ = ("_label", "_value")

    def __init__(self, value: str, *, label: str = "secret") -> None:
        if not isinstance(value, str):
            # The type only: a wrongly typed secret (bytes, a number) is still a secret.
            raise InvalidInputError(
                f"Secret value must be a str, not {type(value).__name__} (the value is not shown)"
            )
        if not isinstance(label, str):
            raise InvalidInputError(f"Secret label must be a str, not {type(label).__name__}")
        self._value = value
        self._label = label

    def reveal(self) -> str:
        """Return the secret value. Call it only at the point of use."""
        return self._value

    @property
    def label(self) -> str:
        """The harmless name given at construction."""
        return self._label

    def __repr__(self) -> str:
        return f"Secret({self._label!r}, '**********')"

    def __str__(self) -> str:
        return "**********"

    def __format__(self, spec: str) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __getstate__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")
