from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ec2asr.testing.emulator import AsrEmulator
from tests.asr_helpers import new_emulator, setup_policy


@pytest.fixture
def emulator() -> Iterator[AsrEmulator]:
    emu = new_emulator()
    yield emu
    emu.stop()


@pytest.fixture
def client(emulator: AsrEmulator) -> Any:
    return emulator.asr_management_client(retry_total=0)


@pytest.fixture
def policy_id(emulator: AsrEmulator, client: Any) -> str:
    return setup_policy(emulator, client)
