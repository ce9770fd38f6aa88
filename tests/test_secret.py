from __future__ import annotations

import json
import logging
import pickle

import pytest

from ec2asr._secret import Secret
from ec2asr.errors import InvalidInputError


def test_secret_never_shows_its_value(caplog: pytest.LogCaptureFixture) -> None:
    s = Secret("p@ssw0rd!", label="run-as password")
    assert "p@ssw0rd!" not in repr(s)
    assert "p@ssw0rd!" not in str(s)
    assert "p@ssw0rd!" not in f"{s} {s!r} {s:>20}"
    assert "run-as password" in repr(s)
    with caplog.at_level(logging.DEBUG, logger="ec2asr"):
        logging.getLogger("ec2asr").info("using %s / %r", s, s)
    assert "p@ssw0rd!" not in caplog.text
    assert s.reveal() == "p@ssw0rd!"
    assert s.label == "run-as password"


def test_secret_refuses_serialisation() -> None:
    s = Secret("x")
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        json.dumps({"s": s})


def test_secret_equality_and_truthiness() -> None:
    assert Secret("a") == Secret("a", label="other")
    assert Secret("a") != Secret("b")
    assert len({Secret("a"), Secret("a")}) == 1
    assert not Secret("")
    assert Secret("a")
    with pytest.raises(InvalidInputError, match="not int ") as info:
        Secret(123)  # type: ignore[arg-type]
    assert "123" not in str(info.value)
    with pytest.raises(InvalidInputError, match="bytes"):
        Secret(b"hunter2")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="label"):
        Secret("x", label=5)  # type: ignore[arg-type]


def test_a_secret_being_sent_is_masked_in_every_log_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ec2asr._secret import sending

    config = Secret('{"Otp": "Zq8nW6hc4DVKBUwq9U6PeQ3BS5kF"}', label="agent configuration")
    sdk = logging.getLogger("botocore.endpoint.test")
    with caplog.at_level(logging.DEBUG):
        with sending(config) as value:
            assert value == config.reveal()
            # As botocore logs a request: the value JSON-encoded inside a bytes repr.
            sdk.debug("params: %s", {"body": json.dumps({"Value": value}).encode()})
            sdk.debug("token alone: %s", "Zq8nW6hc4DVKBUwq9U6PeQ3BS5kF")
        sdk.debug("after: %s", "Zq8nW6hc4DVKBUwq9U6PeQ3BS5kF")
    messages = [r.getMessage() for r in caplog.records]
    assert "Zq8nW6hc" not in messages[0]
    assert "**********" in messages[0]
    assert messages[1] == "token alone: **********"
    assert messages[2].endswith("Zq8nW6hc4DVKBUwq9U6PeQ3BS5kF")  # only while it is sent
