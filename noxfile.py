"""Sessions for ec2asr's checks, in the style of stamina's noxfile.

``nox -s tests`` is what CI runs: it runs ruff and mypy first, in the same environment,
so a lint or type error fails it just as a failing test does.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "docs"]
# Interpreters that are not installed are left out of tests_all_pythons' list beforehand; one
# that is listed and then cannot be used is an error, never a silent skip.
nox.options.error_on_missing_interpreters = True

LINT_PATHS = ["ec2asr", "tests", "benchmarks", "noxfile.py"]
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def _runs(python: str) -> bool:
    try:
        return (
            subprocess.run([python, "-c", "pass"], capture_output=True, timeout=30).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def _interpreter(version: str) -> str | None:
    """``version`` when a working ``pythonX.Y`` is on PATH; else a pyenv installation's, whose
    folder is put on this process's PATH so that nox finds it (pyenv's shims answer only for
    the versions pyenv has selected); else None."""
    on_path = shutil.which(f"python{version}")
    if on_path and _runs(on_path):
        return version
    home = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    pattern = os.path.join(home, "versions", f"{version}.*", "bin", f"python{version}")
    working = [c for c in sorted(glob.glob(pattern)) if _runs(c)]
    if not working:
        return None
    os.environ["PATH"] = os.path.dirname(working[-1]) + os.pathsep + os.environ["PATH"]
    return version


FOUND_PYTHONS = [v for v in SUPPORTED_PYTHONS if _interpreter(v) is not None]


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


@nox.session(python=FOUND_PYTHONS or None)
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
