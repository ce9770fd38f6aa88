"""The API reference documents every exported name (and the mixin methods of the clients)."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ec2asr
import ec2asr.testing

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference.md"


def entries() -> set[str]:
    return set(re.findall(r"^::: (\S+)", REFERENCE.read_text("utf-8"), flags=re.MULTILINE))


def exported() -> list[str]:
    names = [f"ec2asr.{n}" for n in ec2asr.__all__ if n != "__version__"]
    return names + [f"ec2asr.testing.{n}" for n in ec2asr.testing.__all__]


def test_every_exported_name_has_a_reference_entry() -> None:
    missing = sorted(set(exported()) - entries())
    assert missing == [], f"add '::: NAME' entries to docs/reference.md for {missing}"
    assert "`ec2asr.__version__`" in REFERENCE.read_text("utf-8")


def test_mixin_methods_are_rendered() -> None:
    mkdocs = (ROOT / "mkdocs.yml").read_text("utf-8")
    assert re.search(r"^\s+inherited_members: true$", mkdocs, flags=re.MULTILINE)
    inherited = [
        name
        for name, member in inspect.getmembers(ec2asr.SiteRecoveryClient, inspect.isfunction)
        if not name.startswith("_") and name not in vars(ec2asr.SiteRecoveryClient)
    ]
    assert len(inherited) > 30  # why the option matters


@pytest.mark.slow
def test_the_built_reference_has_an_anchor_for_every_name(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (tmp_path / "reference" / "index.html").read_text("utf-8")
    anchors = set(re.findall(r'id="([\w.]+)"', html))
    assert set(exported()) - anchors == set()
    methods = {
        f"ec2asr.SiteRecoveryClient.{name}"
        for name, _ in inspect.getmembers(ec2asr.SiteRecoveryClient, inspect.isfunction)
        if not name.startswith("_")
    }
    assert methods - anchors == set()  # the mixins' methods are there too
    assert (tmp_path / "config.schema.json").is_file()  # the schema is published
