"""Recognising the modernized Mobility agent install in SSM Run Command scripts."""

from __future__ import annotations

import pytest

from ec2asr.testing.emulator.mobility_commands import parse_mobility_script

LINUX = [
    "CFG=$(mktemp)",
    "aws ssm get-parameter --name '/ec2asr/agent-config/i-0abc' --with-decryption "
    '--query Parameter.Value --output text > "$CFG"',
    "cd /tmp && tar -xvf Microsoft-ASR_UA_9.66_UBUNTU-20.04-64_GA_release.tar.gz",
    "sudo ./install -q -r MS -v VmWare -c CSPrime",
    'sudo /usr/local/ASR/Vx/bin/UnifiedAgentConfigurator.sh -c CSPrime -S "$CFG" -q',
]
WINDOWS = [
    '$cfg = "C:\\Windows\\Temp\\asr-config.json"',
    "(Get-SSMParameter -Name '/ec2asr/agent-config/i-0abc' -WithDecryption $true).Value "
    "| Set-Content -Path $cfg",
    ".\\UnifiedAgentInstaller.exe /Platform vmware /Silent /Role MS /CSType CSPrime "
    '/InstallLocation "C:\\Program Files (x86)\\Microsoft Azure Site Recovery"',
    '& "C:\\Program Files (x86)\\Microsoft Azure Site Recovery\\agent\\'
    'UnifiedAgentConfigurator.exe" '
    "/SourceConfigFilePath $cfg /CSType CSPrime /CredentialLessDiscovery false",
]


def test_linux_contract_registers() -> None:
    script = parse_mobility_script("AWS-RunShellScript", LINUX)
    assert script.registers
    assert script.parameter_name == "/ec2asr/agent-config/i-0abc"


def test_windows_contract_registers() -> None:
    script = parse_mobility_script("AWS-RunPowerShellScript", WINDOWS)
    assert script.registers, script.problems
    assert script.parameter_name == "/ec2asr/agent-config/i-0abc"


def test_accepted_variants() -> None:
    linux = [
        "aws ssm get-parameter --with-decryption --output text --query Parameter.Value "
        "--name=/cfg/x > /tmp/c.json",
        "./install -c csprime -v vmware -r ms -q -d /usr/local/ASR",
        "/usr/local/ASR/Vx/bin/UnifiedAgentConfigurator.sh -S /tmp/c.json -q -D true",
    ]
    assert parse_mobility_script("AWS-RunShellScript", ["\n".join(linux)]).registers
    windows = [
        '(Get-SSMParameter -Name "/cfg/x" -WithDecryption:$true).Value '
        "| Out-File -FilePath C:\\t\\c.json",
        "C:\\t\\UnifiedAgentInstaller.exe /role ms /platform VMware /silent",
        "& C:\\asr\\agent\\UnifiedAgentConfigurator.exe /sourceconfigfilepath 'C:\\t\\c.json'",
    ]
    assert parse_mobility_script("AWS-RunPowerShellScript", windows).registers


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda c: [x for x in c if "install -q" not in x], "installer did not run"),
        (lambda c: [x for x in c if "Configurator" not in x], "configurator did not run"),
        (lambda c: [x.replace("-r MS", "-r MT") for x in c], "role 'MT'"),
        (lambda c: [x.replace("-c CSPrime -S", "-c CSLegacy -S") for x in c], "CSLegacy"),
        (lambda c: [x.replace(" --with-decryption", "") for x in c], "with-decryption"),
        (lambda c: [x.replace('-S "$CFG"', "-S /tmp/other.json") for x in c], "different file"),
        (lambda c: [x for x in c if "get-parameter" not in x], "not fetched"),
    ],
)
def test_linux_problems_are_explained(change, problem) -> None:  # type: ignore[no-untyped-def]
    script = parse_mobility_script("AWS-RunShellScript", change(LINUX))
    assert not script.registers
    assert any(problem in p for p in script.problems), script.problems


def test_windows_problems_are_explained() -> None:
    no_decrypt = [x.replace(" -WithDecryption $true", "") for x in WINDOWS]
    assert any(
        "WithDecryption" in p
        for p in parse_mobility_script("AWS-RunPowerShellScript", no_decrypt).problems
    )
    wrong_platform = [x.replace("/Platform vmware", "/Platform Azure") for x in WINDOWS]
    assert any(
        "/Platform 'Azure'" in p
        for p in parse_mobility_script("AWS-RunPowerShellScript", wrong_platform).problems
    )


def test_unrelated_scripts_are_ignored() -> None:
    script = parse_mobility_script("AWS-RunShellScript", ["uname -a", "df -h"])
    assert not script.relevant
    assert script.problems == []
