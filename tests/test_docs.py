"""The documentation cannot drift: hooks, public names, commands and examples are
checked against the code."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import careaccess
from careaccess import cli, hookspecs
from careaccess.models import Reason

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"

HOOKS: list[Callable[..., Any]] = sorted(
    (value for name, value in vars(hookspecs).items() if hasattr(value, "careaccess_spec")),
    key=lambda hook: hook.__name__,
)
# A heading such as: ### `careaccess_open_store(url: str) -> Store | None`
HOOK_HEADING = re.compile(r"^#+\s+`(?P<signature>(?P<name>careaccess_\w+)\(.*\)(?: -> .+)?)`\s*$", re.MULTILINE)


def signature_of(hook: Callable[..., Any]) -> str:
    """``name(param: Type, ...) -> Return``, as written in hookspecs.py.

    hookspecs.py uses ``from __future__ import annotations``, so every annotation is
    the source text, a string.
    """
    signature = inspect.signature(hook)
    params = ", ".join(f"{param.name}: {param.annotation}" for param in signature.parameters.values())
    return f"{hook.__name__}({params}) -> {signature.return_annotation}"


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def python_blocks(name: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", read(name), re.DOTALL | re.MULTILINE)


def test_hooks_are_found() -> None:
    assert "careaccess_open_store" in [hook.__name__ for hook in HOOKS]
    assert all(isinstance(signature_of(hook), str) for hook in HOOKS)
    assert signature_of(hookspecs.careaccess_open_store) == "careaccess_open_store(url: str) -> Store | None"


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    documented = {m["name"]: m["signature"] for m in HOOK_HEADING.finditer(read("hooks.md"))}
    expected = {hook.__name__: signature_of(hook) for hook in HOOKS}
    assert documented == expected


@pytest.mark.parametrize("hook", [hook.__name__ for hook in HOOKS])
def test_every_hook_has_a_test(hook: str) -> None:
    pattern = re.compile(rf"^\s*def test_hook_{hook}\b", re.MULTILINE)
    assert any(pattern.search(path.read_text(encoding="utf-8")) for path in TESTS.rglob("*.py")), (
        f"no test_hook_{hook} under tests/"
    )


@pytest.mark.parametrize("name", careaccess.__all__)
def test_every_public_name_is_in_the_api_reference(name: str) -> None:
    assert re.search(rf"(?<![\w.])careaccess(\.\w+)*\.{name}\b|`{name}`", read("api.md")), name


def test_the_decision_table_lists_every_reason_in_order() -> None:
    text = read("decisions.md")
    table = text[text.index("## The decision table") :]
    rows = re.findall(r"^\|[^|\n]*\|[^|\n]*\|\s*(?:yes|no)\s*\|\s*`(\w+)`\s*\|$", table, re.MULTILINE)
    assert rows == [reason.value for reason in Reason]


def test_the_quickstart_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks("quickstart.md")
    assert len(blocks) >= 4
    namespace: dict[str, Any] = {}
    for block in blocks:  # one session: later blocks use what earlier ones defined
        exec(compile(block, "quickstart.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert "Posten finns redan." in capsys.readouterr().out


@pytest.mark.parametrize("page", ["hooks.md", "cli.md", "register.md", "errors.md"])
def test_the_examples_run(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(page)
    assert blocks
    for block in blocks:
        exec(compile(block, page, "exec"), {})  # noqa: S102 - our own documentation
    if page == "hooks.md":
        assert capsys.readouterr().out == "clinic_saved c1\n"


def commands(group: click.Group, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_every_command_is_documented() -> None:
    text = read("cli.md")
    names = list(commands(cli.cli))
    assert "change-grant" in names
    assert "db upgrade" in names
    missing = [name for name in names if f"`{name}" not in text and f"careaccess {name}" not in text]
    assert missing == []


def test_the_demo_excerpt_is_real_output() -> None:
    text = read("cli.md")
    excerpt = re.search(r"<!-- demo-output.*?-->\n```text\n(.*?)```", text, re.DOTALL)
    assert excerpt is not None
    output = CliRunner().invoke(cli.cli, ["demo"]).stdout.splitlines()
    lines = excerpt.group(1).splitlines()
    assert lines
    assert all(line in output for line in lines)


def test_the_toctree_lists_only_pages_that_exist() -> None:
    toctree = re.search(r"```\{toctree\}\n(.*?)```", read("index.md"), re.DOTALL)
    assert toctree is not None
    entries = [line.strip() for line in toctree.group(1).splitlines() if line.strip() and not line.startswith(":")]
    assert all((DOCS / f"{entry}.md").is_file() for entry in entries)
    pages = {path.stem for path in DOCS.glob("*.md")} - {"index"}
    assert pages <= set(entries), "a page exists that no toctree reaches"
