"""Mismatches the validator reports that belong to another part of issue 7, still open.

The validator is not told about these: it reports them like any other mismatch. The test
plugin (``tests/conftest.py``) lets a test pass when every mismatch it produced is listed here,
and prints at the end of the run how often each one was seen. Remove an entry once its owner's
change is merged: the summary then shows it as no longer seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .validator import Mismatch

__all__ = ["KNOWN", "Known", "known_entry"]


@dataclass(frozen=True)
class Known:
    """A mismatch owned elsewhere: which, whose, why it is not fixed here."""

    detail: re.Pattern[str]
    owner: str
    reason: str


KNOWN: tuple[Known, ...] = ()
"""Empty: Site Recovery's errors now carry their causes and actions in ``error.details[]``."""


def known_entry(mismatch: Mismatch) -> Known | None:
    """The entry that lists ``mismatch``, if any."""
    for entry in KNOWN:
        if entry.detail.search(mismatch.detail):
            return entry
    return None
