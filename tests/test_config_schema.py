"""The config's JSON Schema: valid, the one source of keys, in agreement with ec2asr's own checks,
published in the docs, and what ``plan --validate-only`` uses."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ec2asr import _config, _config_schema
from ec2asr._config_installer import INSTALLER_KEYS
from ec2asr.cli import main
from ec2asr.errors import InvalidInputError
from ec2asr.settings import DISK_TYPES, LINUX_LICENSE_TYPES, ReplicationPolicy, TargetSettings
from tests.test_cli_config import BASE, config

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "ec2asr" / "config.schema.json").read_text("utf-8"))


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schema_names_the_fields_of_the_sdk_types() -> None:
    assert set(_config_schema.keys("target")) == {f.name for f in attrs.fields(TargetSettings)}
    assert set(_config_schema.keys("policy")) == {f.name for f in attrs.fields(ReplicationPolicy)}
    defs = SCHEMA["$defs"]
    assert defs["target"]["properties"]["disk_type"]["enum"] == list(DISK_TYPES)
    assert defs["target"]["properties"]["linux_license_type"]["enum"] == list(LINUX_LICENSE_TYPES)
    assert SCHEMA["$defs"]["installer"]["properties"]["kind"]["enum"] == list(INSTALLER_KEYS)
    # The reader's key lists are the schema's (not a copy that could drift).
    assert tuple(SCHEMA["properties"]) == _config._TOP
    assert tuple(defs["aws"]["properties"]) == _config._AWS
    assert INSTALLER_KEYS["ssm"] == tuple(defs["installer_ssm"]["properties"])


def test_the_documented_examples_are_schema_valid() -> None:
    text = (ROOT / "docs" / "cli.md").read_text("utf-8")
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    assert _config_schema.errors(example) == []
    for snippet in text.split("```json\n")[2:]:
        installer = json.loads(snippet.split("```", 1)[0])
        assert _config_schema.errors(config(installer=installer)) == []


def test_the_docs_publish_the_schema_and_a_page_generated_from_it() -> None:
    assert (ROOT / "docs" / "config.schema.json").read_text("utf-8") == (
        ROOT / "ec2asr" / "config.schema.json"
    ).read_text("utf-8")
    page = (ROOT / "docs" / "config.md").read_text("utf-8")
    assert page == _config_schema.markdown(), "regenerate docs/config.md (see its first lines)"
    for key in ("endpoint_url", "simulated_clock", "agent_config_file", "multi_vm_sync"):
        assert f"`{key}`" in page


# -- the schema and ec2asr's own checks agree -----------------------------------------------------


def hand_accepts(data: Any) -> bool:
    try:
        _config.parse_config(data, source="m.json", base_dir=Path("/etc/ec2asr"), schema=False)
    except InvalidInputError:
        return False
    return True


SEMANTIC = (
    "select the machines",
    "must be an ARM",
    "is required while test_migration is true",
    "recovery plan",
    "boot group",
    "not EC2 instance ids",
    "not a VPC id",
    "os_overrides key",
    "installer_location",
    "goes with an https:// installer_location",
    "cannot exceed recovery_point_history_minutes",
    "crash-consistent points every 5 minutes",
    "invalid replication policy name",
    "not a plain file name",
    "Parameter Store path",
    "is not used with a loopback endpoint_url",
    "is for the rehearsal sandbox only",
    "is not an ISO 8601 time",
    "unknown OS family",
    "is not an Azure VM size: the",  # a well-formed name the packaged size table knows is not
    "tags: Azure allows",  # 50 per resource, minus the tag ec2asr adds unless given
)


def assert_agree(data: Any) -> None:
    schema_problems = _config_schema.errors(data)
    accepted = hand_accepts(data)
    if accepted:
        # Nothing ec2asr accepts is flagged by the published schema (editors show no false
        # alarm), and the schema passes what ec2asr then accepts.
        assert schema_problems == [], (data, schema_problems)
    elif not schema_problems:
        # The schema cannot say everything: what only code checks is a known kind of rule.
        with pytest.raises(InvalidInputError) as info:
            _config.parse_config(data, source="m.json", base_dir=Path("/etc/ec2asr"))
        assert any(s in str(info.value) for s in SEMANTIC), str(info.value)


def test_the_bad_configs_of_the_reader_tests_agree() -> None:
    from tests import test_cli_config

    marks = test_cli_config.test_bad_config_is_refused_naming_the_key.pytestmark
    cases = next(m.args[1] for m in marks if m.name == "parametrize")
    assert len(cases) > 80
    for data, _ in cases:
        assert_agree(data)
        assert not hand_accepts(data) or _config_schema.errors(data) == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 60000) | st.floats(-1, 1e6) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
PATHS = [
    ("journal",),
    ("name",),
    ("concurrency",),
    ("poll_interval",),
    ("test_migration",),
    ("acknowledge_instance_store",),
    ("recovery_plan",),
    ("aws",),
    ("aws", "region"),
    ("aws", "tags"),
    ("aws", "instance_ids"),
    ("aws", "os_overrides"),
    ("aws", "endpoint_url"),
    ("azure", "subscription_id"),
    ("azure", "base_url"),
    ("target", "disk_type"),
    ("target", "vm_sizes"),
    ("target", "azure_hybrid_benefit"),
    ("policy",),
    ("policy", "recovery_point_history_minutes"),
    ("installer",),
    ("installer", "kind"),
    ("installer", "batch_size"),
    ("installer", "run_as_account"),
    ("simulated_clock",),
    ("other_key",),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=JSON)
def test_schema_and_reader_agree_on_any_value_anywhere(path: tuple[str, ...], value: Any) -> None:
    data = copy.deepcopy(BASE)
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    assert_agree(data)


@pytest.mark.parametrize(
    "data",
    [
        BASE,
        config(concurrency=2.0, policy={"recovery_point_history_minutes": 600.0}),
        config(azure__base_url="http://127.0.0.1:8443", aws__endpoint_url="http://localhost:5000"),
        config(
            azure__base_url="http://127.0.0.1:8443",
            simulated_clock={"start": "2026-12-01T00:00:00+00:00", "epoch": 1.5e9, "speed": 600},
        ),
        config(installer={"kind": "push", "run_as_account": {"linux": "root-cred"}}),
        config(aws__tags={"App": ["a", "b"], "Migrate": None}, aws__vpc_id="vpc-0123456789abcdef0"),
    ],
)
def test_valid_configs_pass_both(data: Any) -> None:
    assert _config_schema.errors(data) == []
    assert hand_accepts(data)
    cfg = _config.parse_config(data, source="m.json", base_dir=Path("/etc/ec2asr"))
    if "concurrency" in data:
        assert isinstance(cfg.concurrency, int)
    else:
        assert cfg.concurrency is None  # no cap of ec2asr's own


def test_simulated_clock_is_refused_against_azure() -> None:
    data = config(simulated_clock={"start": "2026-12-01T00:00:00Z", "epoch": 1.0, "speed": 2})
    with pytest.raises(InvalidInputError, match="simulated_clock: is for the rehearsal sandbox"):
        _config.parse_config(data, source="m.json", base_dir=Path("/"))


def test_a_profile_is_refused_with_the_sandbox_endpoint() -> None:
    data = config(aws__endpoint_url="http://127.0.0.1:5000", aws__profile="prod")
    with pytest.raises(InvalidInputError, match=r"aws\.profile: is not used with a loopback"):
        _config.parse_config(data, source="m.json", base_dir=Path("/"))


# -- plan --validate-only --------------------------------------------------------------------------


def test_plan_validate_only_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ec2asr import _migrate_cli

    def no_cloud() -> Any:
        raise AssertionError("--validate-only must not build clients")

    monkeypatch.setattr(_migrate_cli, "environment", no_cloud)
    (tmp_path / "MobilityServiceConfig.json").write_text('{"Otp": "x"}', encoding="utf-8")
    path = tmp_path / "wave-1.json"
    path.write_text(json.dumps(BASE), encoding="utf-8")
    assert main(["plan", "--config", str(path), "--validate-only"]) == 0
    assert "valid" in capsys.readouterr().out
    path.write_text(json.dumps(config(concurrency="many")), encoding="utf-8")
    assert main(["plan", "--config", str(path), "--validate-only"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {path}: concurrency: must be a number, not the string 'many'\n"
    (tmp_path / "MobilityServiceConfig.json").unlink()
    path.write_text(json.dumps(BASE), encoding="utf-8")
    assert main(["plan", "--config", str(path), "--validate-only"]) == 2
    assert "installer.agent_config_file: cannot read" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wave-1.json"]  # no journal


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("vm_sizes", {"i-0": ""}),
        ("vm_sizes", {"i-0": "Standard_D3s_v5"}),
        ("vm_sizes", {"i-0": "Standard_D4s_v5"}),
        ("vm_names", {"i-0": ""}),
        ("vm_names", {"i-0": "-web"}),
        ("vm_names", {"i-0": "a" * 65}),
        ("vm_names", {"i-0": "web-01"}),
        ("tags", {"x<": "y"}),
        ("tags", {" ": "y"}),
        ("tags", {"a" * 513: "y"}),
        ("tags", {"k": "v" * 257}),
        ("tags", {f"k{i}": "v" for i in range(50)}),
        ("tags", {"owner": "ops"}),
    ],
)
def test_schema_and_reader_agree_on_the_target_names_arm_checks(key: str, value: Any) -> None:
    # Found by the property test above once the target's ARM rules were checked up front:
    # kept as examples so that no seed is needed to see them.
    data = copy.deepcopy(BASE)
    data["target"][key] = value
    assert_agree(data)
