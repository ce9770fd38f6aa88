"""The install-script templates: documented command forms, quoting, and the Linux script run."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from ec2asr.errors import InvalidInputError
from ec2asr.mobility.scripts import (
    FileBesideScript,
    InstallerLocation,
    ParameterStoreConfig,
    Platform,
    render_script,
)

PARAM = ParameterStoreConfig("/ec2asr/agent-config/wave-1", "eu-west-1")
S3 = InstallerLocation.s3("s3://asr-installers/agents")
LINUX_CONFIGURATOR = "/usr/local/ASR/Vx/bin/UnifiedAgentConfigurator.sh"
WIN_INSTALL_DIR = r"C:\Program Files (x86)\Microsoft Azure Site Recovery"


def render(platform: Platform, **kw) -> str:
    args = {
        "config": PARAM,
        "installer": S3,
        "region": "eu-west-1",
        "appliance": "asr-appliance-01 (10.0.0.10)",
    }
    args.update(kw)
    return render_script(platform, **args)


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


# -- the documented forms (Microsoft's modernized command-line install) ---------------------------


def test_linux_script_fetches_installs_and_configures_in_the_documented_form() -> None:
    script = lines(render(Platform.LINUX))
    fetch = (
        "aws ssm get-parameter --region 'eu-west-1' --name '/ec2asr/agent-config/wave-1' "
        '--with-decryption --query Parameter.Value --output text > "$CFG"'
    )
    install = "./install -q -r MS -v VmWare -c CSPrime"
    configure = f'{LINUX_CONFIGURATOR} -c CSPrime -S "$CFG" -q'
    assert fetch in script
    assert install in script
    assert configure in script
    # Order: install, then fetch the configuration, then register with it.
    assert script.index(install) < script.index(fetch) < script.index(configure)
    assert script[0] == "#!/bin/bash"
    assert "set -euo pipefail" in script
    assert "trap cleanup EXIT" in script


def test_windows_script_fetches_installs_and_configures_in_the_documented_form() -> None:
    script = lines(render(Platform.WINDOWS))
    fetch = (
        "(Get-SSMParameter -Name '/ec2asr/agent-config/wave-1' -Region 'eu-west-1' "
        "-WithDecryption $true).Value | Set-Content -Path $cfg"
    )
    install = (
        r".\UnifiedAgentInstaller.exe /Platform vmware /Silent /Role MS /CSType CSPrime "
        f'/InstallLocation "{WIN_INSTALL_DIR}"'
    )
    configure = (
        f'& "{WIN_INSTALL_DIR}\\agent\\UnifiedAgentConfigurator.exe" /SourceConfigFilePath $cfg '
        "/CSType CSPrime /CredentialLessDiscovery false"
    )
    assert script.index(install) < script.index(fetch) < script.index(configure)
    assert "$ErrorActionPreference = 'Stop'" in script
    assert "exit $code" in script
    # The self-extracting package is unpacked with /q /x:<folder>, as documented.
    assert any('-ArgumentList \'/q\', "/x:`"$extract`""' in line for line in script)
    assert any(line.startswith("Remove-Item -LiteralPath $work -Recurse") for line in script)


def test_scripts_are_identical_for_every_machine_unless_a_target_is_named() -> None:
    assert render(Platform.LINUX) == render(Platform.LINUX)
    named = render(Platform.LINUX, target="web-01 (i-0123456789abcdef0)")
    assert "For web-01 (i-0123456789abcdef0)." in named
    assert named != render(Platform.LINUX)


def test_config_beside_the_script() -> None:
    linux = render(Platform.LINUX, config=FileBesideScript("agent.json"))
    assert 'cp "$HERE/agent.json" "$CFG"' in linux
    assert "get-parameter" not in linux
    windows = render(Platform.WINDOWS, config=FileBesideScript("agent.json"))
    assert "$source = Join-Path $here 'agent.json'" in windows
    assert "Get-SSMParameter" not in windows


def test_s3_installer_selects_the_distribution_package() -> None:
    linux = render(Platform.LINUX)
    assert "aws s3 ls 's3://asr-installers/agents/' --region 'eu-west-1'" in linux
    assert 'grep -E "^Microsoft-ASR_UA_.*_${DISTRO}_.*release\\.tar\\.gz$"' in linux
    windows = render(Platform.WINDOWS)
    assert "Get-S3Object -BucketName 'asr-installers' -KeyPrefix 'agents/'" in windows
    assert "'Microsoft-ASR_UA_*_Windows_*release.exe'" in windows


def test_https_installer_names_each_package() -> None:
    where = InstallerLocation.https(
        "https://files.example.com/asr",
        {
            "Windows": "Microsoft-ASR_UA_9.62.0.0_Windows_GA_01Jan2025_release.exe",
            "RHEL8-64": "Microsoft-ASR_UA_9.62.0.0_RHEL8-64_GA_01Jan2025_release.tar.gz",
        },
    )
    linux = render(Platform.LINUX, installer=where)
    assert (
        "  RHEL8-64) FILE='Microsoft-ASR_UA_9.62.0.0_RHEL8-64_GA_01Jan2025_release.tar.gz' ;;"
        in linux
    )
    assert "'https://files.example.com/asr/'\"$FILE\"" in linux
    windows = render(Platform.WINDOWS, installer=where)
    assert (
        "Invoke-WebRequest -Uri 'https://files.example.com/asr/"
        "Microsoft-ASR_UA_9.62.0.0_Windows_GA_01Jan2025_release.exe'"
    ) in windows
    linux_only = InstallerLocation.https("https://x.example.com/", {"UBUNTU-20.04-64": "a.tar.gz"})
    with pytest.raises(InvalidInputError, match="no 'Windows' package"):
        render(Platform.WINDOWS, installer=linux_only)


@pytest.mark.parametrize(
    ("value", "kind", "uri"),
    [
        ("s3://bucket-1/a/b", "s3", "s3://bucket-1/a/b/"),
        ("s3://bucket-1", "s3", "s3://bucket-1/"),
        ("/opt/asr", "directory", "/opt/asr"),
        (r"C:\ASR\Agents", "directory", r"C:\ASR\Agents"),
        (r"\\fileserver\asr", "directory", r"\\fileserver\asr"),
        (None, "beside-script", None),
    ],
)
def test_installer_location_parse(value: str | None, kind: str, uri: str | None) -> None:
    parsed = InstallerLocation.parse(value)
    assert (parsed.kind, parsed.uri) == (kind, uri)


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/asr/",  # needs file names
        "relative/dir",
        "s3://UPPER/x",
        "s3://b/it's",
        "/opt/$(reboot)",
        "/opt/a\nb",
    ],
)
def test_installer_location_rejects(value: str) -> None:
    with pytest.raises(InvalidInputError):
        InstallerLocation.parse(value)


def test_https_location_validation() -> None:
    with pytest.raises(InvalidInputError, match="unknown package key"):
        InstallerLocation.https("https://x.example.com", {"centos-8": "a.tar.gz"})
    with pytest.raises(InvalidInputError, match="plain file name"):
        InstallerLocation.https("https://x.example.com", {"Windows": "../a.exe"})
    with pytest.raises(InvalidInputError, match="HTTPS"):
        InstallerLocation.https("http://x.example.com", {"Windows": "a.exe"})


def test_values_are_quoted_and_comments_cannot_break_out() -> None:
    text = render(Platform.LINUX, appliance="evil\nrm -rf / #", target="x\r\ny")
    assert "\nrm -rf /" not in text
    assert "# machine with the replication appliance evil rm -rf / #." in text
    with pytest.raises(InvalidInputError):
        ParameterStoreConfig("/ec2asr/it's", "eu-west-1")
    with pytest.raises(InvalidInputError):
        ParameterStoreConfig("/ec2asr/x", "eu-west-1; reboot")
    with pytest.raises(InvalidInputError):
        render(Platform.LINUX, region="nowhere")
    with pytest.raises(InvalidInputError):
        FileBesideScript("../config.json")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_linux_scripts_parse_with_bash(tmp_path: Path) -> None:
    for where in (S3, InstallerLocation.directory("/opt/asr"), InstallerLocation.beside_script()):
        for config in (PARAM, FileBesideScript()):
            script = tmp_path / "install.sh"
            script.write_text(render(Platform.LINUX, installer=where, config=config))
            subprocess.run(["bash", "-n", str(script)], check=True)


# -- running the Linux script against fakes --------------------------------------------------------

SECRET = '{"Otp": "one-time-s3cr3t-value-0123456789", "ApplianceFqdn": "asr-appliance-01"}'


def _executable(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _package(directory: Path, name: str, install_body: str) -> None:
    staging = directory / f"staging-{name}"
    staging.mkdir()
    _executable(staging / "install", install_body)
    with tarfile.open(directory / name, "w:gz") as tar:
        tar.add(staging / "install", arcname="install")
    shutil.rmtree(staging)


class LinuxHost:
    """A temporary stand-in for a Linux machine: fake root, AWS CLI, distro and ASR paths."""

    def __init__(self, root: Path, *, distro: str = 'ID="rhel"\nVERSION_ID="8.6"\n') -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        self.packages = root / "packages"
        self.packages.mkdir()
        self.asr = root / "asr"
        self.asr.mkdir()
        (root / "os-release").write_text(distro)
        self.set_uid("0")
        _executable(self.bin / "uname", 'echo "x86_64"\n')
        _executable(
            self.bin / "aws",
            f'echo "$@" >> "{root}/aws.calls"\n'
            'if [ "$1 $2" = "ssm get-parameter" ]; then\n'
            f"  printf '%s\\n' '{SECRET}'\n"
            "fi\n",
        )
        _executable(
            self.asr / "UnifiedAgentConfigurator.sh",
            f'echo "$@" > "{root}/configurator.args"\n'
            "while [ $# -gt 0 ]; do\n"
            '  if [ "$1" = "-S" ]; then cp "$2" "' + str(root) + '/registered.json"; fi\n'
            "  shift\n"
            "done\n",
        )

    def set_uid(self, uid: str) -> None:
        _executable(self.bin / "id", f'echo "{uid}"\n')

    def script(self, text: str) -> Path:
        text = text.replace(LINUX_CONFIGURATOR, str(self.asr / "UnifiedAgentConfigurator.sh"))
        text = text.replace("/etc/os-release", str(self.root / "os-release"))
        text = text.replace("/tmp/ec2asr-mobility.XXXXXX", str(self.root / "work.XXXXXX"))
        path = self.root / "install.sh"
        path.write_text(text)
        return path

    def run(self, text: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{self.bin}:{os.environ['PATH']}", "HOME": str(self.root)}
        return subprocess.run(
            ["bash", str(self.script(text))], capture_output=True, text=True, env=env, timeout=60
        )

    def leftovers(self) -> list[Path]:
        return list(self.root.glob("work.*"))


def _linux(host: LinuxHost, **kw) -> str:
    kw.setdefault("installer", InstallerLocation.directory(str(host.packages)))
    return render(Platform.LINUX, **kw)


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@needs_bash
def test_linux_script_installs_newest_package_and_registers(tmp_path: Path) -> None:
    host = LinuxHost(tmp_path)
    ok = f'echo "$@" > "{tmp_path}/install.args"\n'
    _package(
        host.packages, "Microsoft-ASR_UA_9.9.0.0_RHEL8-64_GA_01Jan2023_release.tar.gz", "exit 9\n"
    )
    _package(host.packages, "Microsoft-ASR_UA_9.62.0.0_RHEL8-64_GA_01Jan2025_release.tar.gz", ok)
    _package(
        host.packages,
        "Microsoft-ASR_UA_9.62.0.0_UBUNTU-20.04-64_GA_01Jan2025_release.tar.gz",
        "exit 8\n",
    )
    done = host.run(_linux(host))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "install.args").read_text().split() == [
        "-q",
        "-r",
        "MS",
        "-v",
        "VmWare",
        "-c",
        "CSPrime",
    ]
    assert (tmp_path / "configurator.args").read_text().split()[:2] == ["-c", "CSPrime"]
    assert (tmp_path / "registered.json").read_text().strip() == SECRET
    assert "--with-decryption" in (tmp_path / "aws.calls").read_text()
    assert SECRET not in done.stdout + done.stderr
    assert "RHEL8-64" in done.stdout
    assert host.leftovers() == []  # the private copy of the configuration is gone


@needs_bash
@pytest.mark.parametrize(
    ("distro", "package_key"),
    [
        ('ID=ubuntu\nVERSION_ID="20.04"\n', "UBUNTU-20.04-64"),
        ('ID="sles"\nVERSION_ID="15.4"\n', "SLES15-64"),
        ('ID="sles"\nVERSION_ID="11.4"\n', "SLES11-SP4-64"),
        ('ID="ol"\nVERSION_ID="7.9"\n', "OL7-64"),
        ('ID=debian\nVERSION_ID="11"\n', "DEBIAN11-64"),
        ('ID="rocky"\nVERSION_ID="8.7"\n', "RHEL8-64"),
    ],
)
def test_linux_script_picks_the_package_of_the_distribution(
    tmp_path: Path, distro: str, package_key: str
) -> None:
    host = LinuxHost(tmp_path, distro=distro)
    _package(
        host.packages,
        f"Microsoft-ASR_UA_9.62.0.0_{package_key}_GA_01Jan2025_release.tar.gz",
        "exit 0\n",
    )
    done = host.run(_linux(host))
    assert done.returncode == 0, done.stderr
    assert f"package {package_key}" in done.stdout


@needs_bash
def test_linux_script_exit_codes(tmp_path: Path) -> None:
    host = LinuxHost(tmp_path)
    # 66: no package for this distribution.
    _package(
        host.packages,
        "Microsoft-ASR_UA_9.62.0.0_UBUNTU-20.04-64_GA_01Jan2025_release.tar.gz",
        "exit 0\n",
    )
    missing = host.run(_linux(host))
    assert missing.returncode == 66
    assert "RHEL8-64" in missing.stderr
    # The installer's own failure code passes through, and nothing is left behind.
    _package(
        host.packages, "Microsoft-ASR_UA_9.62.0.0_RHEL8-64_GA_01Jan2025_release.tar.gz", "exit 23\n"
    )
    failed = host.run(_linux(host))
    assert failed.returncode == 23
    assert not (tmp_path / "registered.json").exists()
    assert host.leftovers() == []
    # 64: not root.
    host.set_uid("1000")
    assert host.run(_linux(host)).returncode == 64


@needs_bash
def test_linux_script_unsupported_system_and_missing_config(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    amazon = LinuxHost(tmp_path / "a", distro='ID="amzn"\nVERSION_ID="2"\n')
    assert amazon.run(_linux(amazon)).returncode == 65
    (tmp_path / "b").mkdir()
    host = LinuxHost(tmp_path / "b")
    _package(
        host.packages, "Microsoft-ASR_UA_9.62.0.0_RHEL8-64_GA_01Jan2025_release.tar.gz", "exit 0\n"
    )
    beside = host.run(_linux(host, config=FileBesideScript()))
    assert beside.returncode == 67
    assert "MobilityServiceConfig.json" in beside.stderr
    (host.root / "MobilityServiceConfig.json").write_text(SECRET)
    done = host.run(_linux(host, config=FileBesideScript()))
    assert done.returncode == 0, done.stderr
    assert (host.root / "registered.json").read_text() == SECRET
    assert re.search(r"one-time-s3cr3t", done.stdout + done.stderr) is None


@needs_bash
@pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")
def test_linux_script_started_by_sh_runs_in_bash(tmp_path: Path) -> None:
    host = LinuxHost(tmp_path)
    _package(
        host.packages, "Microsoft-ASR_UA_9.62.0.0_RHEL8-64_GA_01Jan2025_release.tar.gz", "exit 0\n"
    )
    env = {"PATH": f"{host.bin}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    done = subprocess.run(
        ["sh", str(host.script(_linux(host)))], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "registered.json").read_text().strip() == SECRET
