"""Mutation testing of the core's rules with mutmut: ``nox -s mutation`` (or run this file).

mutmut changes one small thing at a time in the modules that hold the rules (the
decision table, the in-memory store, identity numbers, the resident-list inputs and the
change planning), runs the tests that reach the changed function, and counts a mutant
*killed* when a test fails. A surviving mutant is either equivalent (no test could tell)
or a gap in the tests; docs/testing.md lists them with the reason.

The run happens in a copy of the working tree (tracked and new files), so it leaves no
``mutants/`` directory behind and can add its own settings there: mutmut's section in
``pyproject.toml`` (which modules, which tests, which lines are left alone: the sentences
of errors) and a ``mutation`` hypothesis profile with fewer, derandomized examples and no
shrinking, so two runs of the same tree give the same result, quickly.

Usage: ``python tests/mutation.py [--workdir DIR] [--max-children N] [--show] [MUTANT_NAME ...]``.
Prints each survivor (with ``--show``, its diff) and the killed ratio; exits 0 whatever survives (it
measures, it does not gate).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The modules mutated, where they exist in the tree.
MODULES = (
    "src/careaccess/decision.py",
    "src/careaccess/memory.py",
    "src/careaccess/identity.py",
    "src/careaccess/redaction.py",
    "src/careaccess/listing.py",
    "src/careaccess/planning.py",
)
#: The tests mutmut may run (it picks, per mutant, those that reach the mutated function).
TESTS = (
    "tests/test_identity.py",
    "tests/test_identity_properties.py",
    "tests/test_identity_differential.py",
    "tests/test_identity_common_forms.py",
    "tests/test_identity_redact.py",
    "tests/test_decision_properties.py",
    "tests/test_conformance_memory.py",
    "tests/test_service_properties.py",
    "tests/test_import.py",
    "tests/test_listing.py",
    "tests/test_planning.py",
    "tests/test_identity_mutation_gaps.py",
    "tests/test_mutation_kills_decision.py",
    "tests/test_mutation_kills_planning.py",
    "tests/test_mutation_kills_identity.py",
)
#: A line that holds only a human text (English or Swedish words in a string literal, maybe an
#: f-string, maybe ending an argument list): the sentences of errors. Not mutated: the tests
#: check an error's code and class, and the catalogue (``careaccess.texts``) its texts, so a
#: changed sentence survives as surely as it costs every test of its function (docs/testing.md).
TEXT_LINE = r'^\s*f?"[^"]* [^"]*",?\s*$'
PROFILE = """# Added by tests/mutation.py in its copy of the tree: few examples, the same every run,
# and no shrinking (a mutant is killed by the first failing example; its smallest form is not needed).
import hypothesis as _hypothesis

settings.register_profile(
    "mutation",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(_hypothesis.Phase.explicit, _hypothesis.Phase.generate),
    suppress_health_check=list(HealthCheck),
)
"""


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def prepare(workdir: Path) -> tuple[list[str], list[str]]:
    """Copy the tree into *workdir* and configure mutmut there; return the modules and tests used."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],  # noqa: S607 (git from PATH, as a developer runs it)
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    modules = [m for m in MODULES if (workdir / m).is_file()]
    tests = [t for t in TESTS if (workdir / t).is_file()]
    with (workdir / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write(
            "\n[tool.mutmut]\n"
            'source_paths = ["src"]\n'
            'also_copy = ["docs"]\n'
            f"only_mutate = {_toml_list(modules)}\n"
            f"do_not_mutate_patterns = ['{TEXT_LINE}']\n"
            f"pytest_add_cli_args_test_selection = {_toml_list(tests)}\n"
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        )
    conftest = workdir / "tests" / "conftest.py"
    text = conftest.read_text(encoding="utf-8")
    conftest.write_text(text.replace("settings.load_profile(", PROFILE + "settings.load_profile(", 1), encoding="utf-8")
    return modules, tests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where to copy the tree (default: a new temporary directory)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--show", action="store_true", help="print each survivor's diff (a few seconds each)")
    parser.add_argument("names", nargs="*", help="run only these mutants (names as mutmut prints them)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="careaccess-mutation-"))
    workdir.mkdir(parents=True, exist_ok=True)
    modules, tests = prepare(workdir)
    print(f"mutating {', '.join(modules)}\nwith {', '.join(tests)}\nin {workdir}", flush=True)
    env = {**os.environ, "HYPOTHESIS_PROFILE": "mutation", "CAREACCESS_DISABLE_PLUGINS": "sql,redis"}
    mutmut = [sys.executable, "-m", "mutmut"]
    # Surviving mutants are the measurement, not a failure: no check=True here.
    run = [*mutmut, "run", "--max-children", str(args.max_children), *args.names]
    started, load_before = time.monotonic(), os.getloadavg()[0]
    subprocess.run(run, check=False, cwd=workdir, env=env)  # noqa: S603 (our own arguments)
    minutes, load_after = (time.monotonic() - started) / 60, os.getloadavg()[0]
    listing = [*mutmut, "results", "--all", "true"]
    results = subprocess.run(listing, check=True, cwd=workdir, env=env, capture_output=True, text=True).stdout  # noqa: S603
    statuses = re.findall(r"^\s*(\S+): (\S+)", results, flags=re.MULTILINE)
    counts: dict[str, int] = {}
    for _, status in statuses:
        counts[status] = counts.get(status, 0) + 1
    survivors = [name for name, status in statuses if status == "survived"]
    for name in survivors:
        if not args.show:
            print(f"survived: {name}")
            continue
        show = [*mutmut, "show", name]
        shown = subprocess.run(show, check=True, cwd=workdir, env=env, capture_output=True, text=True)  # noqa: S603
        print(f"\n== {name}\n{shown.stdout.strip()}")
    # A timeout is a mutant the tests stopped (an endless loop): counted with the killed.
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    judged = killed + counts.get("survived", 0)
    print(f"\n{counts}")
    print(f"mutmut ran {minutes:.1f} minutes; load average {load_before:.1f} at start, {load_after:.1f} at end")
    print(f"killed {killed} of {judged} mutants ({killed / judged:.1%})" if judged else "no mutants judged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
