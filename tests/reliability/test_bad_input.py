"""Bad input never reaches Azure or EC2: every public entry point, fed wrong types and values by
hypothesis, raises a typed ``ec2asr`` error naming the parameter, and nothing is written (the
emulator's audit list, EC2/SSM mutating calls and the journal file stay as they were).

The sandbox is built once for the module; each example is checked against it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ec2asr
from ec2asr.errors import Ec2AsrError, InvalidInputError, InvalidStateError
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import Stage
from ec2asr.testing import Sandbox
from ec2asr.testing.emulator import StaticTokenCredential
from tests.e2e._migration import TARGET, fast_sandbox, make_migration
from tests.reliability.conftest import Figures

GUID = "00000000-0000-4000-8000-0000000ec2a5"
RG = TARGET.resource_group_id
EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True, database=None)

# -- what ARM and the SDK accept (Microsoft's naming rules, written out independently) --------

_SUBNET = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?")
_RG_NAME = re.compile(r"[-\w.()]{0,89}[-\w()]")
_VNET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]")
_STORAGE = re.compile(r"[a-z0-9]{3,24}")


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.builds(object),
)


def bad(valid: Callable[[Any], bool], *extra: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Wrong types and values: anything ``valid`` refuses, plus targeted ``extra`` values."""
    return st.one_of(ANYTHING, *extra).filter(lambda x: not valid(x))


def _is_str(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda x: isinstance(x, str) and pattern.fullmatch(x) is not None


def _arm(kind: str, name_ok: re.Pattern[str]) -> Callable[[Any], bool]:
    provider = {
        "vnet": "/providers/Microsoft.Network/virtualNetworks/",
        "storage": "/providers/Microsoft.Storage/storageAccounts/",
    }[kind]

    def ok(x: Any) -> bool:
        if not isinstance(x, str) or not x.lower().startswith(RG.lower() + provider.lower()):
            return False
        return name_ok.fullmatch(x[len(RG) + len(provider) :]) is not None

    return ok


def _rg_ok(x: Any) -> bool:
    prefix = f"/subscriptions/{GUID}/resourceGroups/"
    return (
        isinstance(x, str) and x.startswith(prefix) and bool(_RG_NAME.fullmatch(x[len(prefix) :]))
    )


NAMES = st.text(alphabet=st.characters(codec="ascii"), max_size=90)
BAD_NAME_CHARS = st.sampled_from(list(" /\\#?%&<>:;|*\"'"))


def _with_bad_char(base: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda c, i: base[:i] + c + base[i:], BAD_NAME_CHARS, st.integers(0, len(base))
    )


def _tags_ok(x: Any) -> bool:
    if x is None:
        return True  # no tags
    if not isinstance(x, dict) or len(x) > 49:
        return False
    return all(
        isinstance(k, str)
        and k.strip()
        and len(k) <= 512
        and not set(k) & set("<>%&\\?/")
        and isinstance(v, str)
        and len(v) <= 256
        for k, v in x.items()
    )


BAD_TAGS = st.one_of(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.integers(), st.none(), st.booleans()),
        min_size=1,
        max_size=3,
    ),
    st.dictionaries(_with_bad_char("owner"), st.just("ops"), min_size=1, max_size=2),
    st.integers(50, 80).map(lambda n: {f"t{i}": "v" for i in range(n)}),
    st.just({"k": "v" * 257}),
    st.just({"k" * 513: "v"}),
)
KNOWN_SIZE_SERIES_MISSING = st.sampled_from(
    ["Standard_D3s_v5", "Standard_F6s_v2", "Standard_E3s_v5"]
)
SIZE_SHAPED = re.compile(r"(?:Standard|Basic)_[A-Z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*")


@dataclass(frozen=True, repr=False)
class Case:
    """One parameter of one entry point and the bad values it must refuse."""

    def __repr__(self) -> str:
        return f"Case({self.entry}.{self.param})"

    entry: str
    param: str
    values: st.SearchStrategy[Any]
    error: type[Ec2AsrError] = InvalidInputError
    mentions: str | None = None


# -- constructors (no sandbox needed) ---------------------------------------------------------

TARGET_BASE: dict[str, Any] = {
    "resource_group_id": RG,
    "network_id": TARGET.network_id,
    "subnet_name": "default",
    "log_storage_account_id": TARGET.log_storage_account_id,
    "test_network_id": TARGET.test_network_id,
}
IID = "i-0123456789abcdef0"


def _vm_sizes_ok(x: Any) -> bool:
    return x is None or (
        isinstance(x, dict)
        and all(
            isinstance(k, str) and k.strip() and isinstance(v, str) and SIZE_SHAPED.fullmatch(v)
            for k, v in x.items()
        )
        and not any(
            v in ("Standard_D3s_v5", "Standard_F6s_v2", "Standard_E3s_v5") for v in x.values()
        )
    )


CONSTRUCTOR_CASES = [
    Case(
        "TargetSettings", "resource_group_id", bad(_rg_ok, NAMES, _with_bad_char(RG + "x").map(str))
    ),
    Case(
        "TargetSettings", "network_id", bad(_arm("vnet", _VNET), _with_bad_char(TARGET.network_id))
    ),
    Case(
        "TargetSettings",
        "test_network_id",
        bad(lambda x: x is None or _arm("vnet", _VNET)(x), _with_bad_char(TARGET.network_id)),
    ),
    Case(
        "TargetSettings",
        "log_storage_account_id",
        bad(_arm("storage", _STORAGE), _with_bad_char(TARGET.log_storage_account_id)),
    ),
    Case("TargetSettings", "subnet_name", bad(_is_str(_SUBNET), NAMES, _with_bad_char("default"))),
    Case(
        "TargetSettings",
        "test_subnet_name",
        bad(lambda x: x is None or _is_str(_SUBNET)(x), _with_bad_char("isolated")),
    ),
    Case(
        "TargetSettings",
        "vm_sizes",
        bad(
            _vm_sizes_ok,
            st.dictionaries(st.just(IID), st.one_of(NAMES, KNOWN_SIZE_SERIES_MISSING), min_size=1),
        ),
    ),
    Case(
        "TargetSettings",
        "vm_names",
        bad(
            lambda x: x is None or (isinstance(x, dict) and not x),
            st.dictionaries(st.just(IID), _with_bad_char("web01"), min_size=1),
        ),
    ),
    Case(
        "TargetSettings",
        "disk_type",
        bad(
            lambda x: (
                x is None
                or x
                in (
                    "Standard_LRS",
                    "StandardSSD_LRS",
                    "Premium_LRS",
                    "PremiumV2_LRS",
                    "StandardSSD_ZRS",
                    "Premium_ZRS",
                )
            )
        ),
    ),
    Case("TargetSettings", "azure_hybrid_benefit", bad(lambda x: x is True or x is False)),
    Case(
        "TargetSettings", "linux_license_type", bad(lambda x: x in ("NoLicenseType", "LinuxServer"))
    ),
    Case("TargetSettings", "tags", bad(_tags_ok, BAD_TAGS)),
    Case("TargetSettings", "availability_zone", bad(lambda x: x in (None, "1", "2", "3"))),
    Case(
        "ReplicationPolicy",
        "name",
        bad(_is_str(re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}"))),
        mentions="policy name",
    ),
    Case(
        "ReplicationPolicy",
        "recovery_point_history_minutes",
        bad(lambda x: isinstance(x, int) and not isinstance(x, bool) and 240 <= x <= 21600),
    ),
    Case(
        "ReplicationPolicy",
        "app_consistent_frequency_minutes",
        bad(
            lambda x: isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 720 and x <= 4320
        ),
    ),
    Case(
        "ReplicationPolicy",
        "crash_consistent_frequency_minutes",
        bad(lambda x: x == 5 and type(x) is int),
    ),
    Case("ReplicationPolicy", "multi_vm_sync", bad(lambda x: x is True or x is False)),
    Case("Secret", "value", bad(lambda x: isinstance(x, str)), mentions="Secret value"),
    Case("Secret", "label", bad(lambda x: isinstance(x, str)), mentions="Secret label"),
    Case(
        "RecoveryPlanSpec",
        "name",
        bad(_is_str(re.compile(r"[A-Za-z0-9_-]{1,60}")), _with_bad_char("wave")),
        mentions="recovery plan name",
    ),
    Case(
        "RecoveryPlanSpec",
        "groups",
        bad(
            lambda x: (
                x is None
                or (
                    isinstance(x, list)
                    and all(
                        isinstance(g, list) and all(isinstance(i, str) and i.strip() for i in g)
                        for g in x
                    )
                )
            ),
            st.just("i-1"),
            st.just([["i-1", 5]]),
        ),
    ),
    Case("PushInstall", "run_as_account", bad(lambda x: isinstance(x, str) and bool(x.strip()))),
    Case("PushInstall", "manage_security_groups", bad(lambda x: x is True or x is False)),
    Case("ManualInstall", "executor", bad(lambda x: False), mentions="executor"),
    Case(
        "ManualInstall",
        "agent_config",
        bad(lambda x: isinstance(x, str) and bool(x.strip())),
    ),
    Case(
        "ManualInstall",
        "installer_location",
        bad(
            lambda x: (
                x is None
                or (
                    isinstance(x, str)
                    and bool(
                        re.fullmatch(
                            r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9_./-]*)?|/[A-Za-z0-9_./-]+",
                            x,
                        )
                    )
                )
            )
        ),
        mentions="",
    ),
    Case("SsmRunCommand", "batch_size", bad(lambda x: type(x) is int and 1 <= x <= 50)),
    Case("SsmRunCommand", "timeout", bad(lambda x: _number(x) and x > 0)),
    Case("SsmRunCommand", "poll_interval", bad(lambda x: _number(x) and x > 0)),
    Case("SsmRunCommand", "command_timeout", bad(lambda x: type(x) is int and 1 <= x <= 172800)),
    Case("SsmRunCommand", "delivery_timeout", bad(lambda x: type(x) is int and 30 <= x <= 2592000)),
    Case("SsmRunCommand", "sleep", bad(callable)),
    Case(
        "SsmRunCommand", "parameter_prefix", bad(_is_str(re.compile(r"/[A-Za-z0-9_.\-/]{1,900}")))
    ),
    Case("ScriptBundle", "directory", bad(lambda x: isinstance(x, str) and bool(x.strip()))),
    Case("ScriptBundle", "config_filename", bad(_is_str(re.compile(r"[A-Za-z0-9._\-]+")))),
    Case("SiteRecoveryClient", "credential", bad(lambda x: x is None), mentions="credential"),
    Case(
        "SiteRecoveryClient",
        "subscription_id",
        bad(
            _is_str(
                re.compile(
                    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                )
            )
        ),
    ),
    Case("SiteRecoveryClient", "resource_group", bad(_is_str(_RG_NAME), _with_bad_char("asr-rg"))),
    Case(
        "SiteRecoveryClient",
        "vault",
        bad(_is_str(re.compile(r"[A-Za-z][A-Za-z0-9-]{1,49}")), _with_bad_char("vault")),
    ),
    Case(
        "SiteRecoveryClient",
        "base_url",
        bad(lambda x: x is None or (isinstance(x, str) and x.startswith(("http://", "https://")))),
    ),
    Case("SiteRecoveryClient", "polling_interval", bad(lambda x: _number(x) and x >= 0)),
    Case("SiteRecoveryClient", "retry_total", bad(lambda x: type(x) is int and x >= 0)),
    Case("SiteRecoveryClient", "sleep", bad(callable)),
    Case("Ec2Discovery", "session", bad(lambda x: x is None), mentions="session"),
    Case("Ec2Discovery", "ec2_client", bad(lambda x: x is None)),
    Case("Ec2Discovery", "ssm_client", bad(lambda x: x is None)),
    Case("Ec2Discovery", "config", bad(lambda x: x is None)),
    Case("Ec2Discovery", "page_size", bad(lambda x: type(x) is int and 5 <= x <= 1000)),
]


class _Executor:
    def run(self, jobs: Any, context: Any) -> list[Any]:
        return []


def _construct(entry: str, param: str, value: Any) -> Any:
    if entry == "TargetSettings":
        return ec2asr.TargetSettings(**{**TARGET_BASE, param: value})
    if entry == "ReplicationPolicy":
        return ec2asr.ReplicationPolicy(**{param: value})
    if entry == "Secret":
        return ec2asr.Secret(value) if param == "value" else ec2asr.Secret("x", label=value)
    if entry == "RecoveryPlanSpec":
        return RecoveryPlanSpec(**{param: value})
    if entry == "PushInstall":
        kwargs: dict[str, Any] = {"run_as_account": "admin", param: value}
        return ec2asr.PushInstall(kwargs.pop("run_as_account"), **kwargs)
    if entry == "ManualInstall":
        kwargs = {"executor": _Executor(), "agent_config": "config", "installer_location": None}
        kwargs[param] = value
        return ec2asr.ManualInstall(
            kwargs["executor"],
            kwargs["agent_config"],
            installer_location=kwargs["installer_location"],
        )
    if entry == "SsmRunCommand":
        return ec2asr.SsmRunCommand(**{param: value})
    if entry == "ScriptBundle":
        if param == "directory":
            return ec2asr.ScriptBundle(value)
        return ec2asr.ScriptBundle("/tmp/bundle", config_filename=value)
    if entry == "SiteRecoveryClient":
        kwargs = {
            "credential": StaticTokenCredential(),
            "subscription_id": GUID,
            "resource_group": "asr-rg",
            "vault": "asr-vault",
            param: value,
        }
        return ec2asr.SiteRecoveryClient(
            kwargs.pop("credential"), kwargs.pop("subscription_id"), **kwargs
        )
    if entry == "Ec2Discovery":
        if param == "session":
            return ec2asr.Ec2Discovery(value)
        return ec2asr.Ec2Discovery(**{param: value})
    raise AssertionError(entry)


def _check(case: Case, value: Any, call: Callable[[], Any]) -> Ec2AsrError:
    with pytest.raises(Ec2AsrError) as info:
        call()
    error = info.value
    assert isinstance(error, case.error), f"{case.entry}({case.param}={value!r}): {error!r}"
    mentions = case.param if case.mentions is None else case.mentions
    assert mentions in str(error), f"{case.entry}: the message does not name {mentions!r}: {error}"
    return error


def test_every_constructor_refuses_wrong_types_and_values(figures: Figures) -> None:
    tried: dict[str, int] = {}

    @settings(EXAMPLES, max_examples=1500)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(CONSTRUCTOR_CASES), label="case")
        value = data.draw(case.values, label=f"{case.entry}.{case.param}")
        _check(case, value, lambda: _construct(case.entry, case.param, value))
        key = f"{case.entry}.{case.param}"
        tried[key] = tried.get(key, 0) + 1

    check()
    figures.set("constructor_inputs_tried", sum(tried.values()))
    figures.set("constructor_inputs_typed_early", sum(tried.values()))
    figures.set("constructor_parameters", len(tried))
    assert len(tried) >= len(CONSTRUCTOR_CASES) * 0.8, sorted(tried)


@given(
    subnet=st.from_regex(_SUBNET, fullmatch=True),
    tags=st.dictionaries(
        st.text(min_size=1, max_size=30).filter(
            lambda k: k.strip() and not set(k) & set("<>%&\\?/")
        ),
        st.text(max_size=256),
        max_size=49,
    ),
)
@settings(EXAMPLES)
def test_what_arm_accepts_is_accepted(subnet: str, tags: dict[str, str]) -> None:
    """No false refusals: names and tags within ARM's rules pass."""
    target = ec2asr.TargetSettings(**{**TARGET_BASE, "subnet_name": subnet, "tags": tags})
    assert target.subnet_name == subnet
    assert dict(target.tags) == tags


def test_a_size_of_a_series_the_table_does_not_list_is_left_to_arm() -> None:
    for size in ("Standard_NC24ads_A100_v4", "Standard_E8-4s_v5", "Standard_D2s_v5"):
        target = ec2asr.TargetSettings(**{**TARGET_BASE, "vm_sizes": {IID: size}})
        assert target.vm_sizes[IID] == size
    with pytest.raises(
        InvalidInputError, match=r"Dsv5 series has Standard_D2s_v5, Standard_D4s_v5"
    ):
        ec2asr.TargetSettings(**{**TARGET_BASE, "vm_sizes": {IID: "Standard_D3s_v5"}})


# -- the facade's methods, against one sandbox ------------------------------------------------


class WriteCounter:
    """EC2/SSM mutating calls (botocore ``before-call`` on the migration's session)."""

    READ = ("Describe", "Get", "List")

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        if not model.name.startswith(self.READ):
            self.calls.append(model.name)


@dataclass
class Env:
    sandbox: Sandbox
    migration: Any
    plan: Any
    machines: list[ec2asr.SourceMachine]
    aws_writes: WriteCounter
    journal: Path

    def writes(self) -> tuple[int, int, bool]:
        return len(self.sandbox.emulator.writes), len(self.aws_writes.calls), self.journal.exists()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    yield from environment(tmp_path_factory.mktemp("bad-input"))


def environment(folder: Path) -> Iterator[Env]:
    """A sandbox with two machines, a migration on it and its plan (nothing written yet)."""
    with fast_sandbox() as sandbox:
        fleet = sandbox.seed_fleet(profiles=["win2016", "rhel8"])
        counter = WriteCounter()
        session = sandbox.new_aws_session()
        session.events.register("before-call.*.*", counter)
        discovery = ec2asr.Ec2Discovery(session)
        machines = discovery.discover(instance_ids=fleet.instance_ids)
        journal = folder / "journal.sqlite"
        migration = make_migration(sandbox, journal, manage_security_groups=True)
        migration.ec2 = discovery
        plan = migration.plan(machines)
        assert journal.exists() is False
        yield Env(sandbox, migration, plan, machines, counter, journal)
        migration.close()


def _stage(x: Any) -> bool:
    return isinstance(x, Stage)


RUN_CASES = [
    Case(
        "run", "plan", bad(lambda x: False, st.just([]), st.just("plan")), mentions="MigrationPlan"
    ),
    Case("run", "until", bad(_stage, st.sampled_from(["completed", "COMPLETED", 10]))),
    Case(
        "run",
        "confirm_cutover",
        bad(lambda x: x is True or x is False, st.sampled_from(["yes", "no", 1, 0, "True"])),
    ),
    Case("run", "test_migration", bad(lambda x: x is True or x is False)),
    Case("run", "recovery_plan", bad(lambda x: x is None)),
    Case("run", "timeout", bad(lambda x: x is None or (_number(x) and x >= 0))),
    Case("run", "discovery_timeout", bad(lambda x: _number(x) and x > 0)),
    Case("run", "drain_timeout", bad(lambda x: _number(x) and x > 0)),
    Case("run", "only_from", bad(lambda x: x is None or _stage(x))),
    Case(
        "plan",
        "machines",
        bad(lambda x: False, st.just("i-0123456789abcdef0"), st.just([])),
        mentions="machine",
    ),
    Case(
        "plan",
        "acknowledge_instance_store",
        bad(
            lambda x: isinstance(x, (list, tuple)) and not x,
            st.just("i-0123456789abcdef0"),
            st.just([5]),
        ),
        mentions="acknowledge_instance_store",
    ),
    Case("plan", "test_migration", bad(lambda x: x is True or x is False)),
    Case("plan", "recovery_plan", bad(lambda x: x is None)),
    Case(
        "install_agents",
        "kwargs",
        st.sampled_from([{"until": Stage.COMPLETED}, {"bogus": 1}, {"confirm_cutover": "yes"}]),
        mentions="",
    ),
    Case(
        "cutover",
        "confirm_cutover",
        bad(lambda x: x is True, st.sampled_from(["yes", 1, "True"])),
        error=Ec2AsrError,
        mentions="confirm_cutover",
    ),
    Case("rollback", "plan", bad(lambda x: False), mentions="MigrationPlan"),
    Case(
        "rollback",
        "instance_ids",
        bad(
            lambda x: (
                x is None
                or (isinstance(x, list) and all(isinstance(i, str) and i.strip() for i in x))
            ),
            st.just("i-0123456789abcdef0"),
            st.just([None]),
        ),
    ),
    Case(
        "change_recovery_point",
        "recovery_point_id",
        bad(lambda x: isinstance(x, str) and "/recoveryPoints/" in x),
    ),
    Case(
        "Migration",
        "journal",
        bad(lambda x: isinstance(x, str) and bool(x.strip())),
        mentions="journal",
    ),
    Case("Migration", "concurrency", bad(lambda x: x is None or (type(x) is int and x >= 1))),
    Case("Migration", "poll_interval", bad(lambda x: _number(x) and x >= 0)),
    Case("Migration", "manage_security_groups", bad(lambda x: x is True or x is False)),
    Case("Migration", "progress", bad(lambda x: x is True or x is False)),
    Case(
        "Migration",
        "name",
        bad(_is_str(re.compile(r"[A-Za-z0-9_.-]{1,64}")), _with_bad_char("wave-1")),
    ),
    Case(
        "Migration",
        "vault_location",
        bad(lambda x: x is None or _is_str(re.compile(r"[A-Za-z][A-Za-z0-9 ]{2,39}"))(x)),
    ),
    Case("Migration", "sleep", bad(callable)),
    Case("Migration", "on_event", bad(lambda x: x is None or callable(x))),
    Case("Migration", "target", bad(lambda x: False), mentions="target"),
    Case("Migration", "policy", bad(lambda x: False), mentions="policy"),
    Case("Migration", "installer", bad(lambda x: False), mentions="installer"),
    Case("Migration", "asr", bad(lambda x: False), mentions="asr"),
    Case("Migration", "ec2", bad(lambda x: False), mentions="ec2"),
    Case(
        "assess",
        "machines",
        bad(lambda x: isinstance(x, (list, tuple)) and not x, st.just("i-0123456789abcdef0")),
        mentions="SourceMachine",
    ),
    Case(
        "assess",
        "acknowledge_instance_store",
        bad(lambda x: isinstance(x, (list, tuple)) and not x),
    ),
    Case("assess", "churn", bad(lambda x: x is None or (isinstance(x, dict) and not x))),
    Case("assess", "supported_os", bad(lambda x: x is None), mentions="supported_os"),
    Case(
        "discover",
        "instance_ids",
        bad(lambda x: x is None, st.just("i-0123456789abcdef0"), st.just(["i-bad"])),
    ),
    Case("discover", "tags", bad(lambda x: x is None)),
    Case("discover", "vpc_id", bad(lambda x: x is None, st.just("vpc-zz"))),
    Case("discover", "private_ips", bad(lambda x: x is None, st.just(["10.0.0.300"]))),
    Case("discover", "os_overrides", bad(lambda x: x is None or x == {})),
    Case("NetworkInspector", "ec2_client", bad(lambda x: False), mentions="ec2_client"),
    Case("analyze", "machines", bad(lambda x: isinstance(x, (list, tuple)) and not x)),
    Case("analyze", "push", bad(lambda x: x is True or x is False)),
    Case("analyze", "check_network_acls", bad(lambda x: x is True or x is False)),
    Case("SecurityGroupLeases", "ec2_client", bad(lambda x: False), mentions="ec2_client"),
    Case(
        "SecurityGroupLeases",
        "namespace",
        bad(_is_str(re.compile(r"[A-Za-z0-9_.-]{1,64}")), _with_bad_char("wave-1")),
    ),
]


def _call(env: Env, case: Case, value: Any) -> Any:
    m = env.migration
    if case.entry == "run":
        if case.param == "plan":
            return m.run(value)
        return m.run(env.plan, **{case.param: value})
    if case.entry == "plan":
        if case.param == "machines":
            return m.plan(value)
        return m.plan(env.machines, **{case.param: value})
    if case.entry == "install_agents":
        return m.install_agents(env.plan, **value)
    if case.entry == "cutover":
        return m.cutover(env.plan, confirm_cutover=value)
    if case.entry == "rollback":
        if case.param == "plan":
            return m.rollback(value)
        return m.rollback(env.plan, instance_ids=value)
    if case.entry == "change_recovery_point":
        return m.change_recovery_point(env.plan, env.machines[0].instance_id, value)
    if case.entry == "Migration":
        kwargs: dict[str, Any] = {
            "ec2": m.ec2,
            "asr": m.asr,
            "installer": m.installer,
            "target": m.target,
            "policy": m.policy,
            "journal": env.journal,
            case.param: value,
        }
        return ec2asr.Migration(**kwargs)
    if case.entry == "assess":
        if case.param == "machines":
            return ec2asr.assess(value)
        return ec2asr.assess(env.machines, **{case.param: value})
    if case.entry == "discover":
        return m.ec2.discover(**{case.param: value})
    if case.entry == "NetworkInspector":
        return ec2asr.NetworkInspector(value)
    if case.entry == "analyze":
        inspector = ec2asr.NetworkInspector(m.ec2.ec2_client)
        if case.param == "machines":
            return inspector.analyze(value, env.plan.appliance.ip_address)
        return inspector.analyze(env.machines, env.plan.appliance.ip_address, **{case.param: value})
    if case.entry == "SecurityGroupLeases":
        if case.param == "ec2_client":
            return ec2asr.SecurityGroupLeases(value, m.journal)
        return ec2asr.SecurityGroupLeases(m.ec2.ec2_client, m.journal, namespace=value)
    raise AssertionError(case.entry)


def test_every_facade_method_refuses_bad_input_before_any_write(env: Env, figures: Figures) -> None:
    before = env.writes()
    tried: dict[str, int] = {}

    @settings(EXAMPLES, max_examples=1200)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(RUN_CASES), label="case")
        value = data.draw(case.values, label=f"{case.entry}.{case.param}")
        _check(case, value, lambda: _call(env, case, value))
        assert env.writes() == before, f"{case.entry}({case.param}={value!r}) wrote something"
        key = f"{case.entry}.{case.param}"
        tried[key] = tried.get(key, 0) + 1

    check()
    assert env.writes() == (0, 0, False)
    figures.set("method_inputs_tried", sum(tried.values()))
    figures.set("method_inputs_typed_early", sum(tried.values()))
    figures.set("method_parameters", len(tried))
    assert len(tried) >= len(RUN_CASES) * 0.8, sorted(tried)


# -- the issue's named cases, each checked exactly ----------------------------------------------


def _refused(env: Env, call: Callable[[], Any], error: type[Exception], match: str) -> None:
    before = env.writes()
    with pytest.raises(error, match=match):
        call()
    assert env.writes() == before


def test_a_plan_for_machines_of_another_region_is_refused(env: Env) -> None:
    foreign = [attrs.evolve(m, region="eu-west-1") for m in env.machines]
    _refused(
        env, lambda: env.migration.plan(foreign), InvalidInputError, "another region.*us-east-1"
    )
    import copy

    plan = copy.copy(env.plan)
    object.__setattr__(
        plan,
        "machines",
        tuple(
            attrs.evolve(p, machine=attrs.evolve(p.machine, region="eu-west-1")) for p in env.plan
        ),
    )
    _refused(env, lambda: env.migration.run(plan), InvalidInputError, "another region")


def test_wrong_types_named_in_the_issue(env: Env, tmp_path: Path) -> None:
    m = env.migration
    for call, match in (
        (
            lambda: ec2asr.TargetSettings(**{**TARGET_BASE, "resource_group_id": 5}),
            "resource_group_id",
        ),
        (
            lambda: ec2asr.ReplicationPolicy(recovery_point_history_minutes="60"),
            "recovery_point_history_minutes",
        ),  # type: ignore[arg-type]
        (
            lambda: ec2asr.Migration(
                ec2=m.ec2,
                asr=m.asr,
                installer=m.installer,
                target=m.target,
                policy=m.policy,
                journal=None,
            ),
            "journal",
        ),  # type: ignore[arg-type]
        (lambda: m.run(None), "MigrationPlan"),
        (lambda: m.run("plan"), "MigrationPlan"),
        (lambda: m.run(env.machines), "plan\\(machines\\) first"),
        (
            lambda: ec2asr.assess(env.machines, acknowledge_instance_store=5),
            "acknowledge_instance_store",
        ),  # type: ignore[arg-type]
        (lambda: ec2asr.Secret(5), "Secret value"),  # type: ignore[arg-type]
        (lambda: ec2asr.TargetSettings(**{**TARGET_BASE, "subnet_name": "a/b"}), "subnet_name"),
        (
            lambda: ec2asr.TargetSettings(**{**TARGET_BASE, "subnet_name": "my subnet"}),
            "subnet_name",
        ),
        (lambda: ec2asr.TargetSettings(**{**TARGET_BASE, "tags": {"env": 5}}), "tags"),
        (lambda: ec2asr.TargetSettings(**{**TARGET_BASE, "tags": {"a<b": "x"}}), "tags"),
        (
            lambda: ec2asr.TargetSettings(
                **{**TARGET_BASE, "tags": {f"t{i}": "v" for i in range(50)}}
            ),
            "tags",
        ),
        (
            lambda: ec2asr.TargetSettings(**{**TARGET_BASE, "vm_sizes": {IID: "Standard_D3s_v5"}}),
            "vm_sizes",
        ),
        (lambda: ec2asr.TargetSettings(**{**TARGET_BASE, "vm_sizes": {IID: "D4s v5"}}), "vm_sizes"),
        (lambda: m.run(env.plan, confirm_cutover="no"), "confirm_cutover"),
    ):
        _refused(env, call, InvalidInputError, match)


def test_rollback_of_an_unknown_or_never_migrated_id_writes_nothing(env: Env) -> None:
    unknown = "i-0000000000000dead"
    _refused(
        env,
        lambda: env.migration.rollback(env.plan, instance_ids=[unknown]),
        InvalidStateError,
        "not in the plan",
    )
    iid = env.machines[0].instance_id
    emulator_writes, aws_writes, _ = env.writes()
    with pytest.raises(InvalidStateError, match="never migrated"):
        env.migration.rollback(env.plan, instance_ids=[iid])
    assert env.writes()[:2] == (emulator_writes, aws_writes)
    env.migration.close()
    env.journal.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm", ".lock"):
        Path(str(env.journal) + suffix).unlink(missing_ok=True)


def test_manual_install_with_a_missing_agent_config_file_is_refused_before_any_write(
    env: Env, tmp_path: Path
) -> None:
    installer = ec2asr.ManualInstall(
        ec2asr.SsmRunCommand(), tmp_path / "missing.json", installer_location="s3://bucket/agents/"
    )
    journal = tmp_path / "j.sqlite"
    migration = ec2asr.Migration(
        ec2=env.migration.ec2,
        asr=env.migration.asr,
        installer=installer,
        target=env.migration.target,
        policy=env.migration.policy,
        journal=journal,
    )
    before = env.writes()
    with pytest.raises(InvalidInputError, match=r"missing\.json"):
        migration.plan(env.machines)
    with pytest.raises(InvalidInputError, match=r"missing\.json"):
        migration.run(env.plan)
    assert env.writes() == before
    assert not journal.exists()
    # Run Command cannot find an installer "next to the script": refused as early.
    beside = ec2asr.ManualInstall(ec2asr.SsmRunCommand(), "config text")
    migration.installer = beside
    with pytest.raises(InvalidInputError, match="installer_location"):
        migration.plan(env.machines)
    assert env.writes() == before
