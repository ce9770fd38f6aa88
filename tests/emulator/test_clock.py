"""The simulated clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ec2asr.testing.emulator import SimulatedClock

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_speed_factor_scales_real_time() -> None:
    real = [0.0]
    clock = SimulatedClock(START, speed=3600, monotonic=lambda: real[0])
    real[0] = 1.5
    assert clock.now() == START + timedelta(hours=1.5)


def test_manual_advance_and_frozen_clock() -> None:
    real = [0.0]
    clock = SimulatedClock(START, speed=0, monotonic=lambda: real[0])
    real[0] = 100.0
    assert clock.now() == START
    assert clock.advance(timedelta(minutes=5)) == START + timedelta(minutes=5)
    assert clock.advance(30) == START + timedelta(minutes=5, seconds=30)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_set_speed_keeps_the_current_time() -> None:
    real = [0.0]
    clock = SimulatedClock(START, speed=10, monotonic=lambda: real[0])
    real[0] = 1.0
    clock.set_speed(100)
    assert clock.now() == START + timedelta(seconds=10)
    real[0] = 2.0
    assert clock.now() == START + timedelta(seconds=110)
    with pytest.raises(ValueError, match="speed"):
        clock.set_speed(-1)


def test_naive_start_is_utc_and_default_start_is_now() -> None:
    clock = SimulatedClock(datetime(2026, 1, 1), speed=0)
    assert clock.now().tzinfo is not None
    assert abs((SimulatedClock().now() - datetime.now(timezone.utc)).total_seconds()) < 5
