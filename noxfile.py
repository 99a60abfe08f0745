"""Development sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``docs``, ``demo``, ``admin``, ``screenshots``,
``bench``, ``mutation``."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
BACKENDS = [path for path in (ROOT / "backends").glob("*") if (path / "pyproject.toml").is_file()]
EXTRAS = {"sql": "[postgresql,mysql]"}


def install_all(session: nox.Session, *extra: str) -> None:
    """The core with its test extra plus every backend in this repository, editable."""
    args = ["-e", ".[test]"]
    for backend in BACKENDS:
        args += ["-e", f"./backends/{backend.name}{EXTRAS.get(backend.name, '')}"]
    session.install(*args, *extra)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: core (with branch coverage, at least 90%), examples, then each backend."""
    install_all(session)
    # coverage starts before pytest, so modules the pytest11 plugin imports early count too.
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs, "tests")
    session.run("coverage", "report")  # fails under 90% (pyproject.toml)
    # A downstream project using only the pytest plugin and strategies, and the example backend.
    session.run("pytest", *session.posargs, "examples/downstream", "docs/examples/dictstore")
    for backend in BACKENDS:
        session.run("pytest", *session.posargs, f"backends/{backend.name}/tests")
    # The admin web UI, with its browser tests in the system's Chromium (CI=true: required).
    session.install("-e", "./apps/admin[test]")
    session.run("pytest", *session.posargs, "apps/admin/tests")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the core, its tests and every backend."""
    install_all(session, "mypy")
    session.run("mypy", "--strict", "src", "tests")
    session.run("mypy", "--strict", "examples/downstream")
    session.run("mypy", "--strict", "docs/examples/dictstore")
    for backend in BACKENDS:
        session.run("mypy", "--strict", f"backends/{backend.name}/src", f"backends/{backend.name}/tests")
    session.install("-e", "./apps/admin[test]")
    session.run("mypy", "--strict", "apps/admin/src", "apps/admin/tests")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx documentation; any warning fails the build."""
    install_all(session, "sphinx", "myst-parser", "furo")
    session.run("sphinx-build", "-n", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def demo(session: nox.Session) -> None:
    """Run the local-administrator workflow of the manual on the embedded default store."""
    install_all(session)
    session.run("careaccess", "demo", *session.posargs)


@nox.session
def admin(session: nox.Session) -> None:
    """The admin web UI on a SQLite file with demo data; prints the URL and a demo login (Ctrl-C stops it)."""
    install_all(session, "-e", "./apps/admin")
    session.run("careaccess-admin", "demo", *(session.posargs or ["--dir", str(ROOT / ".nox" / "admin-demo")]))


@nox.session
def screenshots(session: nox.Session) -> None:
    """Regenerate docs/admin/*.png: every screen of the admin UI, in the system's Chromium."""
    install_all(session, "-e", "./apps/admin[test]")
    session.run("python", "apps/admin/tests/screenshots.py", str(ROOT / "docs" / "admin"))


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks of every store beside raw baselines and pycasbin; ``nox -s bench -- --quick`` for small sizes.

    Needs the PostgreSQL and Redis servers of ``nox -s tests``. The full run writes
    docs/benchmarks.md and docs/benchmarks/; the quick run writes benchmarks/results/.
    ``nox -s bench -- --country`` adds the whole country (10.5M residents a store, hours);
    a store measured alone by benchmarks/bench_country.py is merged into saved results by
    ``python benchmarks/report.py RESULTS.json REPORT.md --country FILE...`` (see run.py).
    """
    install_all(
        session, "personnummer", "python-stdnum", "matplotlib", "casbin", "cedarpy", "oso", "pyinstrument", "pyperf"
    )
    command = " ".join(["nox -s bench", *(["--", *session.posargs] if session.posargs else [])])
    env = {"CAREACCESS_BENCH_COMMAND": command, "PYINSTRUMENT_IGNORE_OVERHEAD_WARNING": "1"}
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs, env={**os.environ, **env})


@nox.session
def mutation(session: nox.Session) -> None:
    """Mutation testing of the core's rules with mutmut (not run by default; 6 to 14 minutes on 2 cores).

    ``nox -s mutation -- --workdir build/mutation`` keeps the run's copy of the tree;
    docs/testing.md explains the result. Only the core is installed: the run turns the
    backends' plugins off, and mutmut 3.8 brings the settings tests/mutation.py writes.
    """
    session.install("-e", ".[test]", "mutmut>=3.8,<4")
    session.run("python", "tests/mutation.py", *session.posargs)
