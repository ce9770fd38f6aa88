"""Suite-wide plugin: every ASR emulator a test starts is validated against the contract.

Each :class:`~ec2asr.testing.emulator.AsrEmulator` built while the suite runs (directly, or
inside :class:`ec2asr.testing.Sandbox`) gets a :class:`tests.contract.validator.ContractValidator`
on its ``exchange_hooks``. After every test, the mismatches recorded while it ran fail it (an
error at teardown listing each one).

A test that deliberately sends a request outside the contract, to see the emulator refuse it,
is marked ``@pytest.mark.contract_refused_requests("why")``: request-side mismatches of
exchanges the emulator answered with an error are then expected. Everything the emulator
answers is still validated.

Mismatches listed in ``tests/contract/known.py`` (owned by another part of issue 7, still
open) do not fail a test; the end-of-run summary counts them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ec2asr.testing.emulator import AsrEmulator
from tests._journals import backend, make_journal, pg_schema  # noqa: F401 - journal fixtures
from tests.contract.known import KNOWN, known_entry
from tests.contract.validator import ContractValidator, Mismatch

_VALIDATORS: list[ContractValidator] = []
_KNOWN_SEEN: Counter[str] = Counter()
_ORIGINAL_INIT = AsrEmulator.__init__


def _validated_init(self: AsrEmulator, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL_INIT(self, *args, **kwargs)
    _VALIDATORS.append(ContractValidator().attach(self))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "contract_refused_requests(reason): the test sends requests outside the contract on "
        "purpose; request mismatches the emulator refused (4xx/5xx) are expected",
    )
    AsrEmulator.__init__ = _validated_init  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    AsrEmulator.__init__ = _ORIGINAL_INIT  # type: ignore[method-assign]


def _expected(mismatch: Mismatch, refused_requests: bool) -> bool:
    return refused_requests and mismatch.side == "request" and mismatch.status >= 400


@pytest.fixture(autouse=True)
def _contract(request: pytest.FixtureRequest) -> Iterator[None]:
    marks = {id(v): v.snapshot() for v in _VALIDATORS}
    yield
    refused = request.node.get_closest_marker("contract_refused_requests") is not None
    found = []
    for v in list(_VALIDATORS):
        for m in v.since(marks.get(id(v), 0)):
            if _expected(m, refused):
                continue
            entry = known_entry(m)
            if entry is not None:
                _KNOWN_SEEN[entry.owner] += 1
                continue
            found.append(m)
    if found:
        lines = "\n".join(f"  {m}" for m in found[:40])
        more = f"\n  ... and {len(found) - 40} more" if len(found) > 40 else ""
        pytest.fail(
            f"{len(found)} exchange(s) departed from the published contract:\n{lines}{more}",
            pytrace=False,
        )


_TOTALS: Counter[str] = Counter()


def _local_totals() -> Counter[str]:
    totals: Counter[str] = Counter(
        exchanges=sum(v.exchanges for v in _VALIDATORS), emulators=len(_VALIDATORS)
    )
    totals.update({f"known:{owner}": n for owner, n in _KNOWN_SEEN.items()})
    return totals


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the totals to the controller
        workeroutput["contract_totals"] = dict(_local_totals())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    _TOTALS.update(getattr(node, "workeroutput", {}).get("contract_totals", {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    totals = _TOTALS + _local_totals()
    if not totals.get("exchanges"):
        return
    terminalreporter.write_sep("-", "contract validation")
    terminalreporter.write_line(
        f"{totals['exchanges']} exchanges validated against the SDK/spec contract "
        f"on {totals['emulators']} emulators"
    )
    for entry in KNOWN:
        seen = totals.get(f"known:{entry.owner}", 0)
        state = f"seen {seen} times" if seen else "not seen: remove it from known.py?"
        terminalreporter.write_line(f"known mismatch ({entry.owner}): {state}")
