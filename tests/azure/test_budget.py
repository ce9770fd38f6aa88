"""ARM budget stores: in the process, and in a SQLite file every process of a host shares."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ec2asr
from ec2asr.azure._budget import (
    ENV_VAR,
    BudgetStore,
    MemoryBudget,
    SqliteBudget,
    bucket_name,
    default_budget_path,
    resolve_budget,
)
from ec2asr.errors import InvalidInputError
from tests import _budget_contract as contract

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BudgetStore:
    if request.param == "memory":
        return MemoryBudget()
    return SqliteBudget(tmp_path / "budget.sqlite", clock="caller")


def test_grant_wait_refill(store: BudgetStore) -> None:
    contract.grant_wait_refill(store)


def test_capacity_caps_the_refill(store: BudgetStore) -> None:
    contract.capacity_caps_the_refill(store)


def test_a_lagging_clock_does_not_rewind(store: BudgetStore) -> None:
    contract.a_lagging_clock_does_not_rewind(store)


def test_never_a_wait_below_the_floor(store: BudgetStore) -> None:
    contract.never_a_wait_below_the_floor(store)


def test_refuses_nonsense(store: BudgetStore) -> None:
    contract.refuses_nonsense(store, InvalidInputError)


def test_concurrent_threads_reserve_each_token_once(store: BudgetStore) -> None:
    contract.concurrent_takers_reserve_each_token_once(
        lambda: store.take("sub/reads", 10, 5.0, 100.0), threads=8, each=25, capacity=10, rate=5.0
    )


def test_stores_are_budget_stores(tmp_path: Path) -> None:
    assert isinstance(MemoryBudget(), BudgetStore)
    assert isinstance(SqliteBudget(tmp_path / "b"), BudgetStore)
    assert not isinstance("host", BudgetStore)
    assert bucket_name("0A1B-C", "reads") == "0a1b-c/reads"
    assert bucket_name(None, "writes") == "default/writes"


def test_memory_budget_reports_its_tokens() -> None:
    store = MemoryBudget()
    assert store.tokens("b", 5, 1.0, 0.0) == 5.0
    for _ in range(7):
        store.take("b", 5, 1.0, 0.0)
    assert store.tokens("b", 5, 1.0, 0.0) == pytest.approx(-2.0)  # two reserved ahead
    assert store.tokens("b", 5, 1.0, 100.0) == 5.0


# -- the SQLite file ----------------------------------------------------------------------


def test_sqlite_budget_does_no_io_until_used(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "budget.sqlite"
    store = SqliteBudget(path)
    assert not path.parent.exists()
    assert "budget.sqlite" in repr(store)
    assert store.take("b", 1, 1.0, 0.0) == 0.0
    assert path.is_file()
    assert oct(path.parent.stat().st_mode & 0o777) == oct(0o700)
    store.close()
    store.close()
    # Reopened, the bucket is where it was: the state is in the file.
    assert SqliteBudget(path, clock="caller").take("b", 1, 1.0, 0.0) > 0


def test_sqlite_budget_refills_on_the_wall_clock(tmp_path: Path) -> None:
    store = SqliteBudget(tmp_path / "b.sqlite")  # clock="wall": the caller's now is ignored
    assert store.take("b", 1, 0.001, -1e9) == 0.0
    wait = store.take("b", 1, 0.001, 1e12)
    assert 990.0 < wait <= 1000.0  # 1/rate on the wall clock, whatever the caller said


def test_an_unusable_budget_file_is_a_typed_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(InvalidInputError, match="a-folder' cannot be used") as caught:
        SqliteBudget(folder).take("b", 1, 1.0, 0.0)
    assert caught.value.__cause__ is not None
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InvalidInputError, match="cannot be used"):
        SqliteBudget(garbage).take("b", 1, 1.0, 0.0)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidInputError, match="cannot create its folder"):
        SqliteBudget(blocker / "sub" / "b.sqlite").take("b", 1, 1.0, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"path": 3}, "path must be a file path"),
        ({"path": ""}, "must not be empty"),
        ({"clock": "server"}, "clock must be 'wall' or 'caller'"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_sqlite_budget_refuses_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        SqliteBudget(**kwargs)  # type: ignore[arg-type]


_TAKER = textwrap.dedent(
    """
    import json, sys
    from ec2asr import SqliteBudget
    store = SqliteBudget(sys.argv[1], clock="caller")
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps([store.take("sub/writes", 10, 5.0, 100.0) for _ in range(int(sys.argv[2]))]))
    """
)


def test_processes_share_the_sqlite_budget(tmp_path: Path) -> None:
    """Four processes take 30 tokens each at one instant: the host's bucket grants its burst
    once and reserves every other token exactly once, across the processes."""
    path = tmp_path / "host.sqlite"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _TAKER, str(path), "30"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.communicate()[1]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    waits: list[float] = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        waits.extend(json.loads(out))
    assert sorted(waits) == pytest.approx(contract.expected_waits(120, 10, 5.0))


# -- how a client names its budget ------------------------------------------------------


def test_resolve_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_budget(None) is None
    assert resolve_budget("process") is None
    host = resolve_budget("host")
    assert isinstance(host, SqliteBudget)
    if sys.platform.startswith("linux"):
        assert host.path == tmp_path / "cache" / "ec2asr" / "arm-budget.sqlite"
    assert host.path == default_budget_path()
    at = resolve_budget(tmp_path / "x.sqlite")
    assert isinstance(at, SqliteBudget)
    assert at.path == tmp_path / "x.sqlite"
    assert isinstance(resolve_budget(str(tmp_path / "y")), SqliteBudget)
    mine = MemoryBudget()
    assert resolve_budget(mine) is mine
    # The environment variable speaks when the argument is not given.
    assert isinstance(resolve_budget(None, env={ENV_VAR: "host"}), SqliteBudget)
    assert resolve_budget(None, env={ENV_VAR: "process"}) is None
    assert resolve_budget(None, env={ENV_VAR: ""}) is None
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "z.sqlite"))
    env_store = resolve_budget(None)
    assert isinstance(env_store, SqliteBudget)
    assert env_store.path == tmp_path / "z.sqlite"


@pytest.mark.parametrize("bad", [3, " ", object(), ["host"]])
def test_resolve_budget_refuses_anything_else(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="arm_budget"):
        resolve_budget(bad)
    with pytest.raises(InvalidInputError, match=ENV_VAR):
        resolve_budget(None, env={ENV_VAR: " "})


def test_public_names() -> None:
    assert ec2asr.MemoryBudget is MemoryBudget
    assert ec2asr.SqliteBudget is SqliteBudget
    assert ec2asr.BudgetStore is BudgetStore


# -- SiteRecoveryClient(arm_budget=...) ---------------------------------------------------

SUB = "00000000-0000-4000-8000-000000000001"


class _NoTokens:
    def get_token(self, *scopes: str, **kwargs: object) -> object:
        raise AssertionError("the constructor asked for a token")


def _client(**kw: object) -> ec2asr.SiteRecoveryClient:
    return ec2asr.SiteRecoveryClient(
        _NoTokens(),  # type: ignore[arg-type]
        SUB,
        resource_group="rg",
        vault="vault-1",
        **kw,  # type: ignore[arg-type]
    )


def test_a_client_draws_on_the_budget_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    own = _client().rate_limiter
    assert isinstance(own.store, MemoryBudget)
    assert own.reads.name == f"{SUB}/reads"
    host = _client(arm_budget="host").rate_limiter.store
    assert isinstance(host, SqliteBudget)
    assert host.path == default_budget_path()
    assert not host.path.exists()  # the constructor does no I/O
    shared = MemoryBudget()
    a, b = _client(arm_budget=shared), _client(arm_budget=shared)
    assert a.rate_limiter.store is shared
    assert b.rate_limiter.store is shared
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.sqlite"))
    from_env = _client().rate_limiter.store
    assert isinstance(from_env, SqliteBudget)
    assert from_env.path == tmp_path / "env.sqlite"
    assert isinstance(_client(arm_budget="process").rate_limiter.store, MemoryBudget)


def test_a_client_refuses_a_bad_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from ec2asr.azure._pipeline import ArmRateLimiter

    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(InvalidInputError, match="arm_budget"):
        _client(arm_budget=42)
    with pytest.raises(InvalidInputError, match="not both"):
        _client(arm_budget="host", rate_limiter=ArmRateLimiter())
    monkeypatch.setenv(ENV_VAR, "   ")
    with pytest.raises(InvalidInputError, match=ENV_VAR):
        _client()
    # A limiter given to a client becomes its subscription's; another's is refused, and
    # a refused client changes nothing.
    limiter = ArmRateLimiter()
    with pytest.raises(InvalidInputError, match="retry_total"):
        _client(rate_limiter=limiter, retry_total=-1)
    assert limiter.subscription is None
    _client(rate_limiter=limiter)
    assert limiter.subscription == SUB
    other = "00000000-0000-4000-8000-000000000002"
    with pytest.raises(InvalidInputError, match="give each subscription its own"):
        ec2asr.SiteRecoveryClient(
            _NoTokens(),  # type: ignore[arg-type]
            other,
            resource_group="rg",
            vault="vault-1",
            rate_limiter=limiter,
        )
