"""A wrapper that keeps secrets out of reprs, logs, messages and the journal."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from ec2asr.errors import InvalidInputError

__all__ = ["Secret", "sending"]

MASK = "**********"


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


# -- sending a secret through an SDK ---------------------------------------------------------
#
# An SDK's DEBUG logging shows request bodies (botocore logs every request's parameters), so a
# secret sent as a parameter would land in the caller's logs. While ``sending()`` is active,
# every log record created in the process, by any logger, has the secret masked: a record
# factory installed once (it chains to the one it replaces) checks the few values in flight.

_IN_FLIGHT: list[tuple[str, ...]] = []
_IN_FLIGHT_LOCK = threading.Lock()
_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{16,}")
_factory_installed = False


def _forms(value: str) -> tuple[str, ...]:
    """The value, as it reads once escaped into JSON, a repr or a bytes repr, and its long
    tokens (a one-time password inside a configuration), longest first."""
    forms: set[str] = set()
    for text in (value, json.dumps(value)[1:-1]):
        forms.update((text, repr(text)[1:-1], repr(text.encode())[2:-1]))
        forms.update(line.strip() for line in text.splitlines())
    forms.update(_TOKEN.findall(value))
    return tuple(sorted((f for f in forms if len(f) >= 8), key=len, reverse=True))


def _install_factory() -> None:
    global _factory_installed
    with _IN_FLIGHT_LOCK:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _IN_FLIGHT:
                with _IN_FLIGHT_LOCK:
                    forms = [f for fs in _IN_FLIGHT for f in fs]
                try:
                    message = record.getMessage()
                except Exception:  # a malformed record is logging's to report, not ours
                    return record
                masked = message
                for form in forms:
                    masked = masked.replace(form, MASK)
                if masked != message:
                    record.msg, record.args = masked, None
            return record

        logging.setLogRecordFactory(masking_factory)
        _factory_installed = True


@contextmanager
def sending(secret: Secret) -> Iterator[str]:
    """Reveal ``secret`` for an SDK call that sends it; inside the block, any log record the
    process creates (botocore's DEBUG request logging included) shows it masked.

    Example:
        >>> with sending(config) as value:
        ...     ssm.put_parameter(Name=name, Value=value, Type="SecureString")
    """
    _install_factory()
    forms = _forms(secret.reveal())
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.append(forms)
    try:
        yield secret.reveal()
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.remove(forms)
