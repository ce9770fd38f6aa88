"""Contract tests: Microsoft's official REST examples replayed through the real SDK clients.

For every example of an operation the emulator serves: the example's request is sent (with its
names; provider-specific inputs swapped for InMageRcm, see ``scenarios.py``) and the emulator
must answer with a status code the example documents, ARM's LRO headers (integer
``Retry-After`` on 202s, ``Azure-AsyncOperation`` with ``/Subscriptions/``), a body of the
example's shape, and bodies that load losslessly into the SDK models. Every example file is
either covered or listed in ``NOT_COVERED`` with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .scenarios import NOT_COVERED, SCENARIOS, Env
from .shapes import lossless_problems, shape_problems

EXAMPLES = Path(__file__).parent / "examples"
FILES = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.json"))


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / name).read_text()))


COVERED = [f for f in FILES if _load(f)["operationId"] in SCENARIOS]


def test_every_example_is_covered_or_explained() -> None:
    operations = {_load(f)["operationId"] for f in FILES}
    assert operations <= set(SCENARIOS) | set(NOT_COVERED)
    assert not set(SCENARIOS) & set(NOT_COVERED)
    assert len(FILES) == 67
    assert len(COVERED) == 52


def _json(response: Any) -> Any:
    try:
        text = response.text()
    except Exception:  # streamed bodies already consumed by the SDK
        return None
    return json.loads(text) if text else None


@pytest.mark.parametrize("name", COVERED)
def test_example(name: str) -> None:
    example = _load(name)
    scenario = SCENARIOS[example["operationId"]]
    params = dict(example["parameters"])
    env = Env(params, create_vault=scenario.create_vault)
    responses: list[Any] = []
    try:
        scenario.run(env, params, lambda r: responses.append(r.http_response))
    finally:
        env.close()
    documented = {int(code) for code in example["responses"]}
    first = responses[0]  # the example's own request (setup requests are not hooked)
    assert first.status_code in documented, (first.status_code, documented)

    if first.status_code == 202:
        assert first.headers["Retry-After"].isdigit()
        assert "/Subscriptions/" in first.headers["Azure-AsyncOperation"]
        assert "/replicationOperationStatus/" in first.headers["Azure-AsyncOperation"]
        assert first.headers["Location"]
    example_first = example["responses"][str(first.status_code)]
    if "Azure-AsyncOperation" in example_first.get("headers", {}):
        assert "Azure-AsyncOperation" in first.headers

    success = example["responses"].get("200") or example["responses"].get("201")
    bodies = [
        (r.request.url, _json(r))
        for r in responses
        if r.status_code in (200, 201) and "replicationOperationStatus" not in r.request.url
    ]
    final = bodies[-1][1] if bodies else None
    if success and "body" in success:
        assert final is not None, "the operation produced no resource body"
        assert shape_problems(success["body"], final) == []
    if scenario.model is not None and final is not None:
        items = final["value"] if scenario.list_model else [final]
        for item in items:
            assert lossless_problems(scenario.model, item) == []
