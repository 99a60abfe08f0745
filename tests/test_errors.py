"""One catalogue of error codes, complete and documented.

The source of the core and of every backend under ``backends/*/src`` is read (not
imported) for the errors it constructs, so a code added anywhere is caught: it must
be in :data:`careaccess.texts.ERRORS`, under the class it is raised with, and in
``docs/errors.md`` with both texts. datasette's ``tests/test_docs.py`` is the model.
"""

from __future__ import annotations

import ast
import pickle
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import careaccess
from careaccess import errors, texts
from careaccess.errors import CareAccessError, Conflict, InvalidRequest, NotFound
from careaccess.models import Action, Reason

ROOT = Path(__file__).resolve().parent.parent
CORE_CLASSES: dict[str, type[CareAccessError]] = {
    name: value
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, CareAccessError)
}


@attrs.frozen
class Construction:
    """One place in the source that builds an error with a code."""

    where: str
    error: str  # the core class it is, or derives from
    code: str  # a literal code, or a template such as "{}_missing"
    keywords: frozenset[str]  # the values passed for the text's placeholders
    texts_given: bool  # the site passes texts of its own


def source_files() -> Iterator[Path]:
    yield from sorted((ROOT / "src").rglob("*.py"))
    for package in sorted((ROOT / "backends").glob("*/src")):
        yield from sorted(package.rglob("*.py"))


def _callee(call: ast.Call) -> str | None:
    function = call.func
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def _template(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else "{}"
            for part in node.values
        )
    return None


def _error_classes(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """Every error class name in the scanned source -> the core class it is or derives from."""
    core = {name: name for name in CORE_CLASSES}
    changed = True
    while changed:
        changed = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in core:
                    bases = [base.id for base in node.bases if isinstance(base, ast.Name) and base.id in core]
                    if bases:
                        core[node.name] = core[bases[0]]
                        changed = True
    return core


def constructions() -> list[Construction]:
    """Every error construction in the source, following one level of helper functions.

    A helper such as ``def _invalid(code, en, sv): return InvalidRequest(code, en, sv)``
    forwards its parameter; its call sites give the codes.
    """
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in source_files()}
    classes = _error_classes(trees)
    found: list[Construction] = []
    for path, tree in trees.items():
        where = str(path.relative_to(ROOT))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        forwarders: dict[str, tuple[int, str]] = {}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node)
            if name == "from_code" and node.args:
                code = _template(node.args[0])
                entry = texts.error_text(code or "")
                error = entry.error.__name__ if entry is not None else "from_code"
                keywords = frozenset(k.arg for k in node.keywords if k.arg)
                found.append(Construction(f"{where}:{node.lineno}", error, code or "?", keywords, False))
                continue
            if name not in classes:
                continue
            argument = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "code"), None)
            keywords = frozenset(k.arg for k in node.keywords if k.arg and k.arg != "code")
            texts_given = len(node.args) > 1 or bool(keywords & {"message_en", "message_sv"})
            if argument is None:
                continue  # the class's default code, checked separately
            if isinstance(argument, ast.Attribute) and argument.attr == "code":
                continue  # an error rebuilt from another one, keeping its code
            code = _template(argument)
            if code is None and isinstance(argument, ast.Name):
                function = parents.get(node)
                while function is not None and not isinstance(function, ast.FunctionDef):
                    function = parents.get(function)
                parameters = [a.arg for a in function.args.args] if function is not None else []
                if argument.id in parameters and function is not None:
                    forwarders[function.name] = (parameters.index(argument.id), classes[name])
                    continue
            found.append(Construction(f"{where}:{node.lineno}", classes[name], code or "?", keywords, texts_given))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _callee(node) in forwarders:
                index, error = forwarders[_callee(node) or ""]
                code = _template(node.args[index]) if index < len(node.args) else None
                found.append(Construction(f"{where}:{node.lineno}", error, code or "?", frozenset(), True))
    return found


CONSTRUCTIONS = constructions()


def _codes_of(code: str) -> tuple[str, ...]:
    """The codes a construction may raise: a literal, or every member of its family."""
    if "{" not in code:
        return (code,)
    for template, members in texts.FAMILIES.items():
        if re.sub(r"\{\w*\}", "{}", template) == code:
            return members
    return ()


def test_the_scan_finds_the_known_kinds_of_construction() -> None:
    found = {(c.error, c.code) for c in CONSTRUCTIONS}
    assert ("InvalidRequest", "invalid_limit") in found  # a literal code
    assert ("Conflict", "{}_missing") in found  # an f-string family
    assert ("InvalidRequest", "unknown_region") in found  # through models._invalid(code, ...)
    assert ("InvalidIdentityNumber", "pnr_checksum") in found
    assert any(c.where.startswith("backends/") for c in CONSTRUCTIONS)


def test_every_code_the_library_can_raise_is_in_the_catalogue() -> None:
    missing = [f"{c.where}: {c.error}({c.code!r})" for c in CONSTRUCTIONS if not _codes_of(c.code)]
    missing += [
        f"{c.where}: {c.error}({code!r})"
        for c in CONSTRUCTIONS
        for code in _codes_of(c.code)
        if code not in texts.ERRORS
    ]
    assert missing == [], "add these codes to careaccess.texts.ERRORS and docs/errors.md"


def test_every_code_is_raised_with_its_one_class() -> None:
    wrong = [
        f"{c.where}: {c.error}({code!r}), catalogue: {texts.ERRORS[code].error.__name__}"
        for c in CONSTRUCTIONS
        for code in _codes_of(c.code)
        if code in texts.ERRORS and texts.ERRORS[code].error.__name__ != c.error
    ]
    assert wrong == []


def test_a_code_raised_without_texts_gets_every_value_its_text_needs() -> None:
    short = [
        f"{c.where}: {c.code} needs {sorted(texts.ERRORS[c.code].text.fields - c.keywords)}"
        for c in CONSTRUCTIONS
        if not c.texts_given and c.code in texts.ERRORS and texts.ERRORS[c.code].text.fields - c.keywords
    ]
    assert short == []


@pytest.mark.parametrize("error", sorted(CORE_CLASSES.values(), key=str))
def test_every_default_code_is_in_the_catalogue_under_its_class(error: type[CareAccessError]) -> None:
    assert texts.ERRORS[error.default_code].error is error


def test_every_family_member_is_in_the_catalogue() -> None:
    assert all(code in texts.ERRORS for members in texts.FAMILIES.values() for code in members)


@pytest.mark.parametrize("entry", list(texts.ERRORS.values()), ids=list(texts.ERRORS))
def test_every_entry_builds_its_error_from_the_code_alone(entry: texts.ErrorText) -> None:
    values = dict.fromkeys(entry.text.fields, "X")
    error = errors.from_code(entry.code, **values)
    assert type(error) is entry.error
    assert (error.code, error.message_en, error.message_sv) == (entry.code, *attrs.astuple(entry.format(**values)))
    assert "{" not in error.message_en + error.message_sv
    assert entry.text.en != entry.text.sv  # both languages are written
    assert re.fullmatch(r"[a-z][a-z0-9_]*", entry.code)


def test_a_raise_site_may_pass_its_own_texts() -> None:
    error = InvalidRequest("invalid_store_url", "cluster= takes true or false.", "cluster= tar true eller false.")
    assert (error.message_en, error.message_sv) == ("cluster= takes true or false.", "cluster= tar true eller false.")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.code, copy.message_en, copy.message_sv) == (error.code, error.message_en, error.message_sv)


def test_a_code_alone_takes_the_catalogues_texts_and_values() -> None:
    error = InvalidRequest("invalid_limit", maximum=1000)
    assert error.message_en == "limit must be a whole number from 1 to 1000."
    assert error.message_sv == "limit måste vara ett heltal från 1 till 1000."
    assert NotFound().message_sv == texts.ERRORS["not_found"].text.sv
    assert Conflict("grant_exists").message_sv == "Den utdelade ärendetypen finns redan."
    assert NotFound(code="unknown_clinic").message_sv == "Mottagningen finns inte."  # keywords still work
    # A placeholder nobody filled in stays visible instead of failing while raising.
    assert InvalidRequest("invalid_limit").message_en.endswith("from 1 to {maximum}.")
    # A code outside the catalogue keeps the old behaviour: the code is the message.
    assert InvalidRequest("made_up_here").message_en == "made_up_here"
    with pytest.raises(KeyError):
        errors.from_code("made_up_here")


@given(st.dictionaries(st.sampled_from(["maximum", "field", "url", "other"]), st.text(max_size=5)))
def test_formatting_never_raises(values: dict[str, str]) -> None:
    for entry in texts.ERRORS.values():
        text = entry.format(**values)
        assert isinstance(text.en, str)
        assert isinstance(text.sv, str)


def test_every_reason_and_every_action_has_both_texts() -> None:
    assert set(texts.REASONS) == set(Reason)
    assert set(texts.CONFIRMATIONS) == set(Action)
    for text in [*texts.REASONS.values(), *texts.CONFIRMATIONS.values()]:
        assert text.en
        assert text.sv
        assert text.en != text.sv
        assert str(text) == f"{text.en} / {text.sv}"
        assert text.get("sv") == text.sv
        assert text.get("en") == text.en


def test_confirmations_use_the_manuals_wording() -> None:
    sv = {action: text.sv for action, text in texts.CONFIRMATIONS.items()}
    assert sv[Action.RESIDENT_APPROVED] == "Invånaren är godkänd för kommunikation."
    assert sv[Action.APPROVAL_REVOKED] == "Godkännandet för kommunikation har tagits bort."
    assert sv[Action.CASE_TYPE_GRANTED] == "Ärendetypen har delats ut."
    assert sv[Action.GRANT_CHANGED] == "Den utdelade ärendetypen har ändrats."
    assert sv[Action.GRANT_REMOVED] == "Ärendetypen är borttagen."


def test_texts_is_reachable_from_the_package() -> None:
    assert careaccess.texts is texts


def test_a_text_unpacks_to_english_then_swedish_as_the_command_lines_tables_did() -> None:
    from careaccess import cli

    english, swedish = cli.CONFIRMATIONS[Action.CASE_TYPE_GRANTED]
    assert (english, swedish) == ("The case type has been granted.", "Ärendetypen har delats ut.")
    assert cli.REASONS is texts.REASONS


# -- docs/errors.md --------------------------------------------------------------------

ERRORS_PAGE = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
# A row: | `code` | `Class` | English | Svenska |
ROW = re.compile(r"^\|\s*`(?P<code>\w+)`\s*\|\s*`(?P<error>\w+)`\s*\|(?P<en>[^|]*)\|(?P<sv>[^|]*)\|\s*$", re.MULTILINE)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def documented_row(entry: texts.ErrorText) -> str:
    return f"| `{entry.code}` | `{entry.error.__name__}` | {_cell(entry.text.en)} | {_cell(entry.text.sv)} |"


def test_every_code_is_documented_with_its_class_and_both_texts() -> None:
    documented = {m["code"]: (m["error"], m["en"].strip(), m["sv"].strip()) for m in ROW.finditer(ERRORS_PAGE)}
    expected = {
        e.code: (e.error.__name__, _cell(e.text.en).replace("\\|", "|"), _cell(e.text.sv).replace("\\|", "|"))
        for e in texts.ERRORS.values()
    }
    wrong = [documented_row(texts.ERRORS[code]) for code in expected if documented.get(code) != expected[code]]
    assert wrong == [], "docs/errors.md needs these rows"
    assert set(documented) <= set(expected), "docs/errors.md lists codes the catalogue does not have"


def limits() -> dict[str, int]:
    """Every public module-level ``MAX_...`` integer in the core and the backends."""
    found: dict[str, int] = {}
    for path in source_files():
        if "testing" in path.parts:
            continue  # bounds of test-data strategies, not limits of the library
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
            if isinstance(node, ast.AnnAssign):
                target = node.target
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and re.fullmatch(r"MAX_[A-Z0-9_]+", target.id) and value is not None:
                try:
                    found[target.id] = int(eval(compile(ast.Expression(value), str(path), "eval"), {}))  # noqa: S307 - our source
                except (NameError, TypeError):
                    continue  # defined from another constant: that one is documented
    return found


def test_limits_are_found() -> None:
    assert limits()["MAX_LIMIT"] == 1000


@pytest.mark.parametrize("name", sorted(limits()))
def test_every_limit_is_documented_with_its_value(name: str) -> None:
    value = limits()[name]
    row = re.search(rf"^\|\s*`{name}`\s*\|\s*(?P<value>[^|]+)\|", ERRORS_PAGE, re.MULTILINE)
    assert row is not None, f"docs/errors.md has no row for {name}"
    written = row["value"].split()[0].replace(",", "")  # the number first, perhaps with a note after it
    assert written in (str(value), f"{value:_}")
