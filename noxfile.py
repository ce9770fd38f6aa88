"""Sessions for ec2asr's checks, in the style of stamina's noxfile.

``nox -s tests`` is what CI runs: it runs ruff and mypy first, in the same environment,
so a lint or type error fails it just as a failing test does.
"""

from __future__ import annotations

import glob
import os
import shutil

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "docs"]

LINT_PATHS = ["ec2asr", "tests", "benchmarks", "noxfile.py"]
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def _interpreter(version: str) -> str | None:
    """``version`` when ``pythonX.Y`` is on PATH (nox finds it), else a pyenv installation's
    interpreter, else None."""
    if shutil.which(f"python{version}"):
        return version
    home = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(os.path.join(home, "versions", f"{version}.*", "bin", "python3")))
    return candidates[-1] if candidates else None


FOUND_PYTHONS = {v: p for v in SUPPORTED_PYTHONS if (p := _interpreter(v)) is not None}


def _lint(session: nox.Session) -> None:
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


def _typecheck(session: nox.Session) -> None:
    session.run("mypy", "--strict", "ec2asr")


@nox.session
def tests(session: nox.Session) -> None:
    """Lint, type-check, then run the whole test suite (unit, contract and end-to-end)."""
    session.install("-e", ".[dev]")
    _lint(session)
    _typecheck(session)
    workers = os.environ.get("EC2ASR_TEST_WORKERS", "auto")
    session.run("pytest", "-n", workers, *session.posargs)


@nox.session(python=list(FOUND_PYTHONS.values()) or None)
def tests_all_pythons(session: nox.Session) -> None:
    """The test suite on every supported Python (3.10-3.13) found on this machine.

    Only interpreters that are not installed are left out (listed in the log); every test runs
    on each one found. ``nox -s tests_all_pythons -- tests/test_cli.py`` runs a subset.
    """
    missing = [v for v in SUPPORTED_PYTHONS if v not in FOUND_PYTHONS]
    if missing:
        session.log(f"not installed here, so not tested: Python {', '.join(missing)}")
    session.install("-e", ".[dev]")
    workers = os.environ.get("EC2ASR_TEST_WORKERS", "auto")
    session.run("pytest", "-n", workers, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting."""
    session.install("ruff")
    _lint(session)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[dev]")
    _typecheck(session)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation strictly (broken links and missing references fail)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "docs/_build")
