"""Fixtures for end-to-end tests against the rehearsal sandbox.

One sandbox (and its default fleet) per test process: discovery is read-only, so tests can
share it. Tests that change AWS state start their own sandbox.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ec2asr.testing import Sandbox, SeededFleet


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as started:
        yield started


@pytest.fixture(scope="session")
def fleet(sandbox: Sandbox) -> SeededFleet:
    return sandbox.seed_fleet()


class CallCounter:
    """Counts API calls (botocore ``before-call``) and HTTP attempts (``before-send``)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call.*.*", self._call)
        client.meta.events.register("before-send.*.*", self._send)
        return client

    def _call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _send(self, event_name: str, **_: Any) -> None:
        self.attempts[event_name.rsplit(".", 1)[-1]] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@pytest.fixture
def counter() -> CallCounter:
    return CallCounter()


@pytest.fixture
def new_counter() -> type[CallCounter]:
    return CallCounter
