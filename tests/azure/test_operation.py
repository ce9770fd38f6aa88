"""AsrOperation's own polling: Retry-After is honoured; ``Retry-After: 0`` does not busy-poll."""

from __future__ import annotations

from typing import Any

import pytest

from ec2asr.azure.operation import AsrOperation
from ec2asr.errors import AzureError


class _Response:
    def __init__(self, status: str, retry_after: str | None) -> None:
        self._status = status
        self.headers = {"Retry-After": retry_after} if retry_after is not None else {}

    def raise_for_status(self) -> None:
        return None

    def json(self) -> dict[str, Any]:
        return {"status": self._status}


def _operation(
    statuses: list[str], retry_after: str | None, slept: list[float]
) -> AsrOperation[str]:
    answers = iter(statuses)
    polls: list[object] = []

    def send(request: object) -> _Response:
        polls.append(request)
        return _Response(next(answers), retry_after)

    return AsrOperation(
        what="test failover of i-0abc",
        send=send,
        polling_url="http://127.0.0.1:1/replicationOperationStatus/job-1",
        location=None,
        retry_after=float(retry_after) if retry_after is not None else None,
        continuation_token=None,
        fetch=lambda: "item",
        sleep=slept.append,
        default_interval=30.0,
    )


def test_retry_after_zero_means_the_polling_interval() -> None:
    slept: list[float] = []
    op = _operation(["InProgress", "InProgress", "Succeeded"], "0", slept)
    assert op.result() == "item"
    assert slept == [30.0, 30.0]


def test_a_positive_retry_after_is_honoured() -> None:
    slept: list[float] = []
    op = _operation(["InProgress", "Succeeded"], "7", slept)
    assert op.result() == "item"
    assert slept == [7.0]


def test_timeout_applies_when_the_server_says_retry_after_zero() -> None:
    slept: list[float] = []
    op = _operation(["InProgress"] * 10, "0", slept)
    with pytest.raises(AzureError, match="did not finish within 60 s"):
        op.wait(timeout=60)
    assert slept == [30.0, 30.0]
