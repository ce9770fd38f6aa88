"""What the package index shows and what the sdist holds: licence, URLs, classifiers, absolute
README links, and an sdist that builds its own docs (offline)."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
REPO = "https://github.com/ec2asr/ec2asr"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def test_the_licence_file_is_mit_for_the_authors() -> None:
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert text.startswith("MIT License")
    assert "ec2asr developers" in text
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]


def test_project_urls_and_python_classifiers() -> None:
    project = PYPROJECT["project"]
    urls = project["urls"]
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(urls)
    assert all(url.startswith(REPO) for url in urls.values())
    versions = sorted(
        c.rsplit(" ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert versions == ["3.10", "3.11", "3.12", "3.13"]
    assert project["requires-python"] == ">=3.10"


def test_readme_links_are_absolute_and_point_at_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    links = re.findall(r"\]\(([^)]+)\)", readme)
    assert links
    for link in links:
        assert link.startswith(f"{REPO}/blob/main/"), link  # they work on the package index
        path = link.removeprefix(f"{REPO}/blob/main/").split("#", 1)[0]
        assert (ROOT / path).is_file(), link


@pytest.mark.slow
def test_the_sdist_holds_the_docs_config_and_builds_the_docs(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(tmp_path / "dist")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (sdist,) = (tmp_path / "dist").glob("ec2asr-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp_path / "src", filter="data")
        else:  # pragma: no cover - Python without PEP 706
            tar.extractall(tmp_path / "src")
    for needed in ("mkdocs.yml", "LICENSE", "docs/reference.md", "ec2asr/config.schema.json"):
        assert needed in names, needed
    assert not any(n.startswith("docs/_build") for n in names)
    (root,) = (tmp_path / "src").iterdir()
    site = tmp_path / "site"
    docs = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert docs.returncode == 0, docs.stderr[-3000:]
    assert 'id="ec2asr.Migration"' in (site / "reference" / "index.html").read_text("utf-8")
