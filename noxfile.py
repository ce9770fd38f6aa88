"""Sessions for ec2asr's checks, in the style of stamina's noxfile.

``nox -s tests`` is what CI runs: it runs ruff and mypy first, in the same environment,
so a lint or type error fails it just as a failing test does.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "docs"]

LINT_PATHS = ["ec2asr", "tests", "benchmarks", "noxfile.py"]


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
