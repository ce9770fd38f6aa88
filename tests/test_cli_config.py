"""The command line's migration config: every key validated, every error names its key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from ec2asr import SqliteBudget, _migrate_cli
from ec2asr._config import load_config, parse_config
from ec2asr._secret import Secret
from ec2asr.cli import main
from ec2asr.errors import InvalidInputError
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.mobility import ManualInstall, PushInstall

SUB = "00000000-0000-4000-8000-0000000ec2a5"
RG = f"/subscriptions/{SUB}/resourceGroups/target-rg"
VNET = RG + "/providers/Microsoft.Network/virtualNetworks/"
I1, I2, I3 = "i-0123456789abcdef0", "i-0123456789abcdef1", "i-0123456789abcdef2"

BASE: dict[str, Any] = {
    "journal": "wave-1.sqlite",
    "aws": {"region": "eu-west-1", "tags": {"MigrationWave": "wave-1"}},
    "azure": {"subscription_id": SUB, "resource_group": "asr-rg", "vault": "asr-vault"},
    "target": {
        "resource_group_id": RG,
        "network_id": VNET + "prod-vnet",
        "subnet_name": "default",
        "log_storage_account_id": RG + "/providers/Microsoft.Storage/storageAccounts/cache01",
        "test_network_id": VNET + "test-vnet",
    },
    "installer": {"kind": "ssm", "agent_config_file": "MobilityServiceConfig.json"},
}


def config(**changes: Any) -> dict[str, Any]:
    """BASE with dotted keys set (``None`` deletes the key)."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def parse(data: Any, base_dir: Path = Path("/etc/ec2asr")) -> Any:
    return parse_config(data, source="m.json", base_dir=base_dir)


def refused(data: Any, *fragments: str) -> str:
    with pytest.raises(InvalidInputError) as info:
        parse(data)
    message = str(info.value)
    assert message.startswith("m.json: ")
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- what a valid config becomes -------------------------------------------------------------


def test_minimal_config_gets_the_sdk_defaults() -> None:
    cfg = parse(BASE)
    assert cfg.journal == Path("/etc/ec2asr/wave-1.sqlite")
    assert cfg.name == "wave-1"  # from the journal's file name
    assert cfg.aws.selectors() == {"tags": {"MigrationWave": "wave-1"}}
    assert cfg.azure.base_url is None
    assert cfg.target.subnet_name == "default"
    assert cfg.policy.recovery_point_history_minutes == 4320
    assert (cfg.concurrency, cfg.poll_interval, cfg.discovery_timeout) == (None, 30.0, 3600.0)
    assert cfg.test_migration is True
    assert cfg.manage_security_groups is False
    assert cfg.recovery_plan is None
    assert cfg.installer.agent_config_file == Path("/etc/ec2asr/MobilityServiceConfig.json")


def test_every_section_is_read() -> None:
    data = config(
        name="wave.1_b",
        journal="/var/lib/ec2asr/w1.sqlite",
        aws={
            "region": "us-east-1",
            "profile": "migration",
            "instance_ids": [I1, I2],
            "tags": {"App": ["erp", "crm"], "Migrate": None},
            "vpc_id": "vpc-0123456789abcdef0",
            "os_overrides": {I1: "RHEL 8.6"},
        },
        azure__vault_location="westeurope",
        azure__appliance="asr-appliance-01",
        azure__base_url="http://127.0.0.1:8443",
        target__vm_sizes={I1: "Standard_D4s_v5"},
        target__vm_names={I1: "erp-01"},
        target__disk_type="StandardSSD_LRS",
        target__azure_hybrid_benefit=True,
        target__tags={"wave": "1"},
        target__availability_zone="2",
        target__test_subnet_name="isolated",
        policy={"name": "p1", "recovery_point_history_minutes": 1440, "multi_vm_sync": True},
        manage_security_groups=True,
        concurrency=20,
        poll_interval=60,
        discovery_timeout=600.5,
        recovery_plan={"name": "wave1", "groups": [[I1], [I2, I3]]},
        acknowledge_instance_store=[I3],
        _comment="ignored",
    )
    cfg = parse(data)
    assert cfg.name == "wave.1_b"
    assert cfg.journal == Path("/var/lib/ec2asr/w1.sqlite")
    assert cfg.aws.profile == "migration"
    assert cfg.aws.selectors() == {
        "instance_ids": [I1, I2],
        "tags": {"App": ["erp", "crm"], "Migrate": None},
        "vpc_id": "vpc-0123456789abcdef0",
        "os_overrides": {I1: "RHEL 8.6"},
    }
    assert cfg.azure.vault_location == "westeurope"
    assert cfg.azure.appliance == "asr-appliance-01"
    assert cfg.target.vm_sizes == {I1: "Standard_D4s_v5"}
    assert cfg.target.azure_hybrid_benefit is True
    assert cfg.target.availability_zone == "2"
    assert cfg.policy.name == "p1"
    assert cfg.policy.multi_vm_sync is True
    assert cfg.manage_security_groups is True
    assert (cfg.concurrency, cfg.poll_interval, cfg.discovery_timeout) == (20, 60.0, 600.5)
    assert cfg.recovery_plan == RecoveryPlanSpec("wave1", ((I1,), (I2, I3)))
    assert cfg.acknowledge_instance_store == (I3,)


def test_push_installer() -> None:
    cfg = parse(
        config(
            installer={
                "kind": "push",
                "run_as_account": {"windows": "win-admin", "linux": "linux-root"},
                "manage_security_groups": True,
            }
        )
    )
    installer = cfg.installer.build()
    assert isinstance(installer, PushInstall)
    assert "manage_security_groups=True" in repr(installer)
    assert cfg.installer.read_agent_config() is None


def test_ssm_installer_options_reach_run_command() -> None:
    cfg = parse(
        config(
            installer={
                "kind": "ssm",
                "agent_config_file": "cfg.json",
                "installer_location": "s3://asr-installers/agents/",
                "batch_size": 10,
                "timeout": 600,
                "parameter_prefix": "/team/asr",
            }
        )
    )
    installer = cfg.installer.build()
    assert isinstance(installer, ManualInstall)
    assert "SsmRunCommand(batch_size=10, timeout=600" in repr(installer)
    assert "s3://asr-installers/agents/" in repr(installer)


def test_bundle_installer_with_https_packages(tmp_path: Path) -> None:
    cfg = parse(
        config(
            installer={
                "kind": "bundle",
                "directory": "scripts",
                "agent_config_file": "cfg.json",
                "installer_location": "https://files.example.com/asr",
                "installer_files": {"Windows": "Microsoft-ASR_UA_9.60_Windows_release.exe"},
            }
        ),
        base_dir=tmp_path,
    )
    assert cfg.installer.directory == tmp_path / "scripts"
    installer = cfg.installer.build()
    assert "ScriptBundle" in repr(installer)
    assert "https://files.example.com/asr/" in repr(installer)
    assert not (tmp_path / "scripts").exists()  # building does no I/O


def test_agent_config_is_read_into_a_secret_and_never_shown(tmp_path: Path) -> None:
    (tmp_path / "cfg.json").write_text('{"Otp": "one-time-s3cr3t"}\n')
    cfg = parse(config(installer__agent_config_file="cfg.json"), base_dir=tmp_path)
    secret = cfg.installer.read_agent_config()
    assert isinstance(secret, Secret)
    assert secret.reveal() == '{"Otp": "one-time-s3cr3t"}\n'
    installer = cfg.installer.build(agent_config=secret)
    for text in (repr(cfg), repr(installer), str(secret), repr(secret)):
        assert "s3cr3t" not in text


def test_missing_or_empty_agent_config_file(tmp_path: Path) -> None:
    cfg = parse(config(installer__agent_config_file="absent.json"), base_dir=tmp_path)
    with pytest.raises(InvalidInputError, match=r"installer\.agent_config_file: cannot read"):
        cfg.installer.read_agent_config()
    (tmp_path / "empty.json").write_text("  \n")
    cfg = parse(config(installer__agent_config_file="empty.json"), base_dir=tmp_path)
    with pytest.raises(InvalidInputError, match=r"installer\.agent_config_file: .* is empty"):
        cfg.installer.read_agent_config()


def test_test_migration_off_needs_no_test_network() -> None:
    cfg = parse(config(test_migration=False, target__test_network_id=None))
    assert cfg.test_migration is False
    assert cfg.target.test_network_id is None


# -- every error path names its key ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ([], ("the config: must be a JSON object",)),
        (config(journal=None), ("journal: is required",)),
        (config(journal=""), ("journal: must be a non-empty string",)),
        (config(journal=7), ("journal: must be a non-empty string, not the number 7",)),
        (config(name="wave 1"), ("name: 'wave 1' is not a name",)),
        (
            config(manage_security_group=True),
            ("manage_security_group: unknown key", "did you mean 'manage_security_groups'"),
        ),
        (config(confirm_cutover=True), ("confirm_cutover:", "only on the command line")),
        (config(confirm_cutover="yes"), ("confirm_cutover:", "--confirm-cutover")),
        (config(aws=None), ("aws: is required",)),
        (config(aws="eu-west-1"), ("aws: must be a JSON object, not the string 'eu-west-1'",)),
        (config(aws__region=None), ("aws.region: is required",)),
        (config(aws__region="Ireland"), ("aws.region: 'Ireland' is not an AWS region",)),
        (config(aws__profile=3), ("aws.profile: must be a non-empty string",)),
        (config(aws__regoin="x"), ("aws.regoin: unknown key", "did you mean 'region'")),
        (config(aws__tags=None), ("aws: select the machines with instance_ids, tags or vpc_id",)),
        (config(aws__tags={}), ("aws: select the machines",)),
        (config(aws__tags=["a"]), ("aws.tags: must be an object mapping names to tag values",)),
        (config(aws__tags={"App": 1}), ("aws.tags: must be an object mapping names",)),
        (config(aws__instance_ids="i-1"), ("aws.instance_ids: must be a list of strings",)),
        (config(aws__instance_ids=["i-zz"]), ("aws.instance_ids: not EC2 instance ids", "i-zz")),
        (config(aws__vpc_id="vpc-nope"), ("aws.vpc_id: not a VPC id", "vpc-nope")),
        (config(aws__os_overrides={I1: 3}), ("aws.os_overrides: must be an object mapping",)),
        (
            config(aws__aws_secret_access_key="x"),
            (
                "aws.aws_secret_access_key: holds an AWS secret key",
                "credentials never go in the config file",
            ),
        ),
        (config(azure=None), ("azure: is required",)),
        (
            config(azure__subscription_id="my-sub"),
            ("azure.subscription_id: 'my-sub' is not a subscription id",),
        ),
        (config(azure__resource_group=None), ("azure.resource_group: is required",)),
        (config(azure__vault=""), ("azure.vault: must be a non-empty string",)),
        (
            config(azure__base_url="http://management.example.com"),
            ("azure.base_url: must be an https:// URL",),
        ),
        (
            config(azure__client_secret="x"),
            ("azure.client_secret: holds an Azure client secret", "DefaultAzureCredential"),
        ),
        (config(azure__password="x"), ("azure.password: holds a password",)),
        (config(target=None), ("target: is required",)),
        (config(target__network_id=None), ("target.network_id: is required",)),
        (
            config(target__resource_group_id="target-rg"),
            ("target: resource_group_id must be an ARM resource-group id",),
        ),
        (
            config(target__test_network_id=RG),
            ("target: test_network_id must be an ARM virtual-network id",),
        ),
        (config(target__disk_type="SSD"), ("target.disk_type: must be one of", "not 'SSD'")),
        (
            config(target__availability_zone="4"),
            ("target.availability_zone: must be one of '1', '2', '3'",),
        ),
        (
            config(target__azure_hybrid_benefit="yes"),
            ("target.azure_hybrid_benefit: must be true or false",),
        ),
        (
            config(target__vm_sizes={I1: 4}),
            ("target.vm_sizes: must be an object mapping names to strings",),
        ),
        (config(target__vmsize="x"), ("target.vmsize: unknown key",)),
        (
            config(target__test_network_id=None),
            ("target.test_network_id: is required while test_migration is true",),
        ),
        (config(policy=[]), ("policy: must be a JSON object, not a list",)),
        (
            config(policy={"recovery_point_history_minutes": 30000}),
            ("policy.recovery_point_history_minutes: must be at most 21600, not 30000",),
        ),
        (
            config(policy={"recovery_point_history_minutes": 60.5}),
            ("policy.recovery_point_history_minutes: must be a whole number",),
        ),
        (
            config(policy={"app_consistent_frequency_minutes": "4h"}),
            ("policy.app_consistent_frequency_minutes: must be a number",),
        ),
        (config(policy={"name": "bad name"}), ("policy: invalid replication policy name",)),
        (config(policy={"multi_vm_sync": 1}), ("policy.multi_vm_sync: must be true or false",)),
        (config(installer=None), ("installer: is required",)),
        (config(installer="ssm"), ("installer: must be a JSON object",)),
        (
            config(installer={"kind": "ftp"}),
            ("installer.kind: must be one of 'push', 'ssm', 'bundle'",),
        ),
        (config(installer={}), ("installer.kind: is required (one of 'push', 'ssm', 'bundle')",)),
        (
            config(installer={"kind": "push"}),
            ("installer.run_as_account: is required", "never a password"),
        ),
        (
            config(installer={"kind": "push", "run_as_account": ""}),
            ("installer.run_as_account: must be a non-empty string",),
        ),
        (
            config(installer={"kind": "push", "run_as_account": {"solaris": "x"}}),
            ("installer.run_as_account.solaris: unknown key (known: windows, linux)",),
        ),
        (
            config(installer={"kind": "push", "run_as_account": "a", "password": "p"}),
            ("installer.password: holds a password",),
        ),
        (
            config(installer={"kind": "push", "run_as_account": "a", "agent_config_file": "c"}),
            ("installer.agent_config_file: unknown key",),
        ),
        (
            config(installer__agent_config_file=None),
            ("installer.agent_config_file: is required",),
        ),
        (
            config(installer__agent_config={"Otp": "x"}),
            ("installer.agent_config: holds the Mobility agent configuration", "agent_config_file"),
        ),
        (
            config(installer__installer_location="ftp://x"),
            ("installer.installer_location:", "not an absolute directory path"),
        ),
        (
            config(installer__installer_location="s3://Bad_Bucket!"),
            ("installer.installer_location:", "not an S3 location"),
        ),
        (
            config(installer__installer_location="https://files.example.com"),
            ("installer.installer_location:", "files must name at least one package"),
        ),
        (
            config(installer__installer_files={"Windows": "a.exe"}),
            ("installer.installer_files: goes with an https:// installer_location only",),
        ),
        (config(installer__batch_size=80), ("installer.batch_size: must be at most 50, not 80",)),
        (config(installer__batch_size=1.5), ("installer.batch_size: must be a whole number",)),
        (config(installer__timeout=0), ("installer.timeout: must be greater than 0",)),
        (config(installer__directory="x"), ("installer.directory: unknown key",)),
        (
            config(installer={"kind": "bundle", "agent_config_file": "c"}),
            ("installer.directory: is required",),
        ),
        (
            config(
                installer={
                    "kind": "bundle",
                    "agent_config_file": "c",
                    "directory": "d",
                    "config_filename": "a/b",
                }
            ),
            ("installer:", "not a plain file name"),
        ),
        (config(concurrency=0), ("concurrency: must be at least 1, not 0",)),
        (config(concurrency=2.5), ("concurrency: must be a whole number",)),
        (config(concurrency=True), ("concurrency: must be a number, not a boolean",)),
        (config(poll_interval=0), ("poll_interval: must be greater than 0",)),
        (config(discovery_timeout="1h"), ("discovery_timeout: must be a number",)),
        (config(test_migration="no"), ("test_migration: must be true or false",)),
        (config(manage_security_groups=1), ("manage_security_groups: must be true or false",)),
        (
            config(acknowledge_instance_store="i-1"),
            ("acknowledge_instance_store: must be a list",),
        ),
        (config(acknowledge_instance_store=["i-x"]), ("acknowledge_instance_store:", "i-x")),
        (config(recovery_plan="wave1"), ("recovery_plan: must be a JSON object",)),
        (config(recovery_plan={"name": "wave 1"}), ("recovery_plan: invalid recovery plan name",)),
        (
            config(recovery_plan={"groups": [I1]}),
            ("recovery_plan.groups: must be a list of boot groups",),
        ),
        (
            config(recovery_plan={"groups": [[I1], []]}),
            ("recovery_plan: a recovery plan boot group is empty",),
        ),
        (
            config(recovery_plan={"groups": [[I1], [I1]]}),
            ("recovery_plan: machines in more than one boot group",),
        ),
        (config(recovery_plan={"groups": [["web-01"]]}), ("recovery_plan.groups:", "web-01")),
        (
            config(recovery_plan={"name": "w", "boot_groups": []}),
            ("recovery_plan.boot_groups: unknown key",),
        ),
    ],
)
def test_bad_config_is_refused_naming_the_key(data: Any, fragments: tuple[str, ...]) -> None:
    refused(data, *fragments)


def test_credentials_in_any_section_are_refused_and_not_echoed() -> None:
    message = refused(config(token="eyJ0eXAiOiJKV1Qi"), "token: holds a token")
    assert "eyJ0eXAiOiJKV1Qi" not in message


# -- the file --------------------------------------------------------------------------------


def test_load_resolves_paths_against_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "wave-1"
    folder.mkdir()
    (folder / "m.json").write_text(json.dumps(BASE), encoding="utf-8")
    cfg = load_config(folder / "m.json")
    assert cfg.journal == folder.resolve() / "wave-1.sqlite"
    assert cfg.installer.agent_config_file == folder.resolve() / "MobilityServiceConfig.json"
    assert cfg.source == str(folder / "m.json")


def test_load_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read the config file"):
        load_config(tmp_path / "absent.json")


def test_load_refuses_bad_json_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{\n  "journal": "j.sqlite",\n  "aws": {,}\n}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"not valid JSON: .*line 3, column 11"):
        load_config(path)


# -- the command line reports config errors before any I/O ------------------------------------


@pytest.mark.parametrize("command", ["plan", "migrate", "rollback", "abort", "status"])
def test_every_command_exits_2_on_a_bad_config(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config(aws__region="nowhere")), encoding="utf-8")
    assert main([command, "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}: aws.region: 'nowhere' is not an AWS region" in err
    assert not (tmp_path / "wave-1.sqlite").exists()


def test_migrate_refuses_a_missing_agent_config_before_any_cloud_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ec2asr import _migrate_cli

    def no_cloud() -> Any:
        raise AssertionError("the environment must not be used")

    monkeypatch.setattr(_migrate_cli, "environment", no_cloud)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(BASE), encoding="utf-8")
    assert main(["migrate", "--config", str(path)]) == 2
    assert "installer.agent_config_file: cannot read" in capsys.readouterr().err


def test_migrate_refuses_a_non_positive_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(BASE), encoding="utf-8")
    assert main(["migrate", "--config", str(path), "--timeout", "0"]) == 2
    assert "--timeout must be a positive" in capsys.readouterr().err


def test_migrate_refuses_an_unknown_stage(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["migrate", "--config", str(tmp_path / "m.json"), "--until", "teleported"])
    assert exc.value.code == 2


def test_status_without_a_journal_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--journal", str(tmp_path / "absent.sqlite")]) == 2
    assert "there is no migration journal" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_aws_profile_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ec2asr import _migrate_cli
    from ec2asr._config import AwsConfig

    empty = tmp_path / "aws-config"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    with pytest.raises(InvalidInputError, match=r"aws\.profile: .*no-such-profile"):
        _migrate_cli.CliEnvironment().aws_session(
            AwsConfig(region="eu-west-1", profile="no-such-profile")
        )


def test_an_interrupted_command_says_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ec2asr import _migrate_cli

    def interrupted() -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(_migrate_cli, "environment", interrupted)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config(installer={"kind": "push", "run_as_account": "a"})))
    assert main(["migrate", "--config", str(path)]) == 130
    assert "run the same command again to resume" in capsys.readouterr().err


def test_the_documented_example_config_is_valid() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    text = docs.read_text(encoding="utf-8")
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    cfg = parse(json.loads(example), base_dir=Path("/srv/waves"))
    assert cfg.name == "wave-1"
    assert cfg.recovery_plan is not None
    assert cfg.installer.kind == "ssm"
    for snippet in text.split("```json\n")[2:]:  # the installer examples
        installer = json.loads(snippet.split("```", 1)[0])
        parse(config(installer=installer))


def test_status_refuses_a_negative_event_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--journal", str(tmp_path / "j.sqlite"), "--events", "-1"]) == 2
    assert "--events takes a number" in capsys.readouterr().err


def test_the_arm_budget_key_reaches_the_client(tmp_path: Path) -> None:
    # Not set: the client decides (EC2ASR_ARM_BUDGET, else its own buckets).
    assert parse(BASE).azure.arm_budget is None
    assert parse(config(azure__arm_budget="host")).azure.arm_budget == "host"
    assert parse(config(azure__arm_budget="process")).azure.arm_budget == "process"
    relative = parse(config(azure__arm_budget="budgets/arm.sqlite")).azure.arm_budget
    assert relative == Path("/etc/ec2asr/budgets/arm.sqlite")
    refused(config(azure__arm_budget=""), "azure.arm_budget")
    refused(config(azure__arm_budget=5), "azure.arm_budget")

    # The migrate command's client draws on the file the config names.
    cfg = parse(
        config(
            azure__base_url="http://127.0.0.1:9",
            azure__arm_budget="arm.sqlite",
        ),
        base_dir=tmp_path,
    )
    env = _migrate_cli.CliEnvironment(
        aws_session=lambda _aws: boto3.Session(region_name="us-east-1")
    )
    migration = _migrate_cli._migration(cfg, env, installer=cfg.installer.build())
    store = migration.asr.rate_limiter.store
    assert isinstance(store, SqliteBudget)
    assert store.path == tmp_path / "arm.sqlite"
