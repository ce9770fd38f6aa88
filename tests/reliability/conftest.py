"""The reliability suite: bad input, SIGKILLs, a fault storm, secrets.

Every test here is marked ``reliability`` (``pytest -m reliability`` runs only them; CI runs
them with the rest under ``nox -s tests``). Each records what it measured through the
:func:`figures` fixture; with ``EC2ASR_RELIABILITY_FIGURES=<file>`` set, those figures are
appended to that file as JSON lines, which ``docs/reliability.md`` quotes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.reliability)


class Figures:
    """What one test measured (counts), written out when the test ends."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.counts: dict[str, Any] = {}

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def set(self, key: str, value: Any) -> None:
        self.counts[key] = value

    def update(self, values: dict[str, Any]) -> None:
        self.counts.update(values)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    recorded = Figures(request.node.nodeid)
    yield recorded
    path = os.environ.get("EC2ASR_RELIABILITY_FIGURES")
    if path and recorded.counts:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"test": recorded.test, **recorded.counts}) + "\n")
