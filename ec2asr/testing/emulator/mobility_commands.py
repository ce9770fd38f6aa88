"""Recognising a modernized Mobility agent installation in an SSM Run Command script.

The sandbox reads the commands sent through moto and decides whether they install the Mobility
service and register it with the appliance. The accepted forms follow Microsoft's "Install the
Mobility service using command prompt (Modernized)":

Linux (``AWS-RunShellScript``)::

    aws ssm get-parameter --name '/ec2asr/agent-config/x' --with-decryption \\
        --query Parameter.Value --output text > "$CFG"
    sudo ./install -q -r MS -v VmWare -c CSPrime
    sudo /usr/local/ASR/Vx/bin/UnifiedAgentConfigurator.sh -c CSPrime -S "$CFG" -q

Windows (``AWS-RunPowerShellScript``)::

    (Get-SSMParameter -Name '/ec2asr/agent-config/x' -WithDecryption $true).Value |
        Set-Content -Path $cfg
    .\\UnifiedAgentInstaller.exe /Platform vmware /Silent /Role MS /CSType CSPrime
        /InstallLocation "C:\\Program Files (x86)\\Microsoft Azure Site Recovery"
    & "C:\\Program Files (x86)\\Microsoft Azure Site Recovery\\agent\\UnifiedAgentConfigurator.exe"
        /SourceConfigFilePath $cfg /CSType CSPrime /CredentialLessDiscovery false

Options may come in any order and any case (Windows switches), paths may be quoted or not, and
``sudo``/``&``/``.\\`` prefixes are optional. ``-c``/``/CSType`` may be omitted (agents 9.55+
default to the modernized stack) but ``CSLegacy`` is refused. The configuration must be fetched
from Parameter Store into the very file the configurator is given.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["MobilityScript", "parse_mobility_script"]


@dataclass
class MobilityScript:
    """What a script does about the Mobility agent.

    Attributes:
        installs: The script runs the Mobility service installer (role MS).
        configures: The script runs the configurator with a configuration file.
        parameter_name: The Parameter Store name the configuration is fetched from.
        problems: Why the script would not register the machine (empty when it would).
    """

    installs: bool = False
    configures: bool = False
    parameter_name: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def relevant(self) -> bool:
        """True when the script touches the Mobility agent at all."""
        return self.installs or self.configures or self.parameter_name is not None

    @property
    def registers(self) -> bool:
        """True when, given the right configuration, the machine registers."""
        return (
            self.installs
            and self.configures
            and self.parameter_name is not None
            and not self.problems
        )


def _lines(commands: Iterable[str]) -> list[str]:
    lines: list[str] = []
    for command in commands:
        text = command.replace("`\n", " ").replace("\\\n", " ")
        for line in text.splitlines():
            for part in re.split(r"\s*(?:&&|;)\s*", line):
                if part.strip() and not part.strip().startswith("#"):
                    lines.append(part.strip())
    return lines


def _tokens(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError:
        return line.split()


def _ps_tokens(line: str) -> list[str]:
    return [a or b or c for a, b, c in re.findall(r'"([^"]*)"|\'([^\']*)\'|(\S+)', line)]


def _norm(target: str) -> str:
    return target.strip().strip("\"'").lower()


def _option(tokens: Sequence[str], *names: str) -> str | None:
    wanted = {n.lower() for n in names}
    for index, token in enumerate(tokens):
        key, eq, value = token.partition("=")
        if key.lower() in wanted:
            if eq:
                return value
            if index + 1 < len(tokens):
                return tokens[index + 1]
            return ""
        if ":" in token and token.lower().split(":", 1)[0] in wanted:
            return token.split(":", 1)[1]
    return None


def _linux(lines: list[str], script: MobilityScript) -> None:
    fetched_into: str | None = None
    for line in lines:
        tokens = _tokens(line)
        words = [t for t in tokens if t != "sudo"]
        if not words:
            continue
        head = words[0].rsplit("/", 1)[-1]
        if "get-parameter" in words and words[0] == "aws":
            script.parameter_name = _option(words, "--name")
            if "--with-decryption" not in words:
                script.problems.append(
                    "the SecureString parameter was read without --with-decryption"
                )
            redirect = re.search(r">\s*(\"[^\"]+\"|'[^']+'|\S+)\s*$", line)
            fetched_into = _norm(redirect.group(1)) if redirect else None
        elif head == "install":
            script.installs = True
            role, platform = _option(words, "-r"), _option(words, "-v")
            cs_type = _option(words, "-c") or "CSPrime"
            if (role or "").lower() != "ms":
                script.problems.append(f"the installer ran with role '{role}' instead of MS")
            if (platform or "").lower() != "vmware":
                script.problems.append(
                    f"the installer ran with platform '{platform}' instead of VmWare"
                )
            if cs_type.lower() != "csprime":
                script.problems.append(
                    f"the installer targeted '{cs_type}', not the modernized CSPrime stack"
                )
        elif head == "UnifiedAgentConfigurator.sh":
            script.configures = True
            _check_configurator(
                script, _option(words, "-S", "-s"), _option(words, "-c"), fetched_into
            )


def _windows(lines: list[str], script: MobilityScript) -> None:
    fetched_into: str | None = None
    for line in lines:
        tokens = [t for t in _ps_tokens(line) if t != "&"]
        if not tokens:
            continue
        lowered = line.lower()
        if "get-ssmparameter" in lowered:
            found = re.search(r"-Name\s+(\"[^\"]+\"|'[^']+'|\S+)", line, re.IGNORECASE)
            script.parameter_name = found.group(1).strip("\"'") if found else None
            if not re.search(r"-WithDecryption(\s+|:)\$true", line, re.IGNORECASE):
                script.problems.append(
                    "the SecureString parameter was read without -WithDecryption $true"
                )
            target = re.search(
                r"(?:Set-Content|Out-File)\s+(?:-(?:Path|FilePath)\s+)?(\"[^\"]+\"|'[^']+'|\S+)",
                line,
                re.IGNORECASE,
            )
            fetched_into = _norm(target.group(1)) if target else None
            continue
        head = re.split(r"[\\/]", tokens[0])[-1].lower()
        if head == "unifiedagentinstaller.exe":
            script.installs = True
            role, platform = _option(tokens, "/Role"), _option(tokens, "/Platform")
            cs_type = _option(tokens, "/CSType") or "CSPrime"
            if (role or "").lower() != "ms":
                script.problems.append(f"the installer ran with /Role '{role}' instead of MS")
            if (platform or "").lower() != "vmware":
                script.problems.append(
                    f"the installer ran with /Platform '{platform}' instead of vmware"
                )
            if cs_type.lower() != "csprime":
                script.problems.append(
                    f"the installer targeted '{cs_type}', not the modernized CSPrime stack"
                )
        elif head == "unifiedagentconfigurator.exe":
            script.configures = True
            _check_configurator(
                script,
                _option(tokens, "/SourceConfigFilePath"),
                _option(tokens, "/CSType"),
                fetched_into,
            )


def _check_configurator(
    script: MobilityScript, config_path: str | None, cs_type: str | None, fetched_into: str | None
) -> None:
    if not config_path:
        script.problems.append("the configurator was not given a configuration file")
    elif fetched_into is None:
        script.problems.append("the configuration file was not fetched from Parameter Store first")
    elif _norm(config_path) != fetched_into:
        script.problems.append(
            "the configurator was given a different file than the fetched configuration"
        )
    if cs_type is not None and cs_type.lower() != "csprime":
        script.problems.append(
            f"the configurator targeted '{cs_type}', not the modernized CSPrime stack"
        )


def parse_mobility_script(document: str, commands: Iterable[str]) -> MobilityScript:
    """Analyse the ``commands`` of an ``AWS-RunShellScript`` or ``AWS-RunPowerShellScript``."""
    script = MobilityScript()
    lines = _lines(commands)
    if document.lower() == "aws-runpowershellscript":
        _windows(lines, script)
    else:
        _linux(lines, script)
    if script.relevant:
        if not script.installs:
            script.problems.append("the Mobility service installer did not run")
        if not script.configures:
            script.problems.append(
                "the configurator did not run: the agent is not registered with the appliance"
            )
        if script.parameter_name is None and not any(
            "Parameter Store" in p for p in script.problems
        ):
            script.problems.append("the configuration was not fetched from Parameter Store")
    return script
