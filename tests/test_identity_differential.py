"""Differential test: careaccess against the personnummer and python-stdnum packages.

Over generated input the three must agree (accepted or refused, and the same person) except
where a documented difference explains it. Each difference is listed, with its reason, in
``docs/identity.md``; this module checks that the list there and here match.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar
from unittest import mock

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from careaccess.errors import InvalidIdentityNumber
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.testing.strategies import identity_number_texts, invalid_identity_number_texts

personnummer_module = pytest.importorskip("personnummer.personnummer")
stdnum_module = pytest.importorskip("stdnum.se.personnummer")

DOCS = Path(__file__).parent.parent / "docs" / "identity.md"

#: Documented differences: id -> which library it concerns.
DIFFERENCES: dict[str, set[str]] = {
    "future-birth-date": {"personnummer", "stdnum"},
    "reserve-century": {"personnummer", "stdnum"},
    "surrounding-whitespace": {"personnummer", "stdnum"},
    "plus-in-12-digits": {"personnummer", "stdnum"},
    "non-ascii-digits": {"personnummer", "stdnum"},
    "coordination-numbers": {"stdnum"},
    "unestablished-birth-date": {"personnummer", "stdnum"},
    "serial-000": {"stdnum"},
    "lenient-separators": {"stdnum"},
}

Outcome = str | InvalidIdentityNumber | None  # canonical digits, our refusal, or their refusal


def ours(text: str, today: dt.date) -> str | InvalidIdentityNumber:
    try:
        return PersonalIdentityNumber.parse(text, today=today).digits
    except InvalidIdentityNumber as error:
        return error


def theirs_personnummer(text: str) -> str | None:
    try:
        return str(personnummer_module.parse(text).format(long_format=True))
    except personnummer_module.PersonnummerException:
        return None


def theirs_stdnum(text: str) -> str | None:
    try:
        number = stdnum_module.validate(text)
        born = stdnum_module.get_birth_date(number)
    except (ValueError, stdnum_module.ValidationError):
        return None
    return f"{born:%Y%m%d}{number[-4:]}"


class _FixedDate(dt.date):
    fixed: ClassVar[dt.date] = dt.date(2000, 1, 1)

    @classmethod
    def today(cls) -> _FixedDate:
        return cls(cls.fixed.year, cls.fixed.month, cls.fixed.day)


@contextlib.contextmanager
def libraries_think_today_is(today: dt.date) -> Iterator[None]:
    _FixedDate.fixed = today
    fake_datetime = types.SimpleNamespace(date=_FixedDate)
    with (
        mock.patch.object(personnummer_module, "_get_current_date", return_value=today),
        mock.patch.object(stdnum_module, "datetime", fake_datetime),
    ):
        yield


_DIGITS_12 = re.compile(r"[0-9]{8}[-+]?[0-9]{4}")


def _born(digits: str) -> dt.date | None:
    day = int(digits[6:8])
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), day - 60 if day > 60 else day)
    except ValueError:
        return None


def explain(
    text: str,
    today: dt.date,
    mine: str | InvalidIdentityNumber,
    other: str | None,
    theirs: Callable[[str], str | None],
) -> set[str]:
    """The documented differences that account for *mine* and *other* disagreeing on *text*."""
    reasons: set[str] = set()
    code = mine.code if isinstance(mine, InvalidIdentityNumber) else None
    stripped = text.strip()
    if other is not None:
        born = _born(other)
        if born is not None and born > today:
            reasons.add("future-birth-date")
        if other[8:11] == "000" and code == "pnr_serial":
            reasons.add("serial-000")
    if code == "pnr_reserve_number" and _DIGITS_12.fullmatch(stripped) and not 18 <= int(stripped[:2]) <= 21:
        reasons.add("reserve-century")
    if code is None and other is None and text != stripped and theirs(stripped) == mine:
        reasons.add("surrounding-whitespace")
    if code == "pnr_format" and "+" in stripped and _DIGITS_12.fullmatch(stripped):
        reasons.add("plus-in-12-digits")
    if code == "pnr_format" and any(c.isdigit() and not c.isascii() for c in text):
        reasons.add("non-ascii-digits")
    if code is None and other is None and int(str(mine)[6:8]) > 60:
        reasons.add("coordination-numbers")
    if code is None and other is None and (str(mine)[4:6] == "00" or str(mine)[6:8] == "60"):
        reasons.add("unestablished-birth-date")
    if code == "pnr_format" and other is not None and re.search(r"[^0-9+\-]", stripped):
        reasons.add("lenient-separators")
    if code == "pnr_format" and other is not None and len(re.findall(r"[-+]", stripped)) > 1:
        reasons.add("lenient-separators")
    if code == "pnr_format" and other is not None and re.fullmatch(r"[0-9]+[-+][0-9]+", stripped):
        reasons.add("lenient-separators")  # a single separator, but not before the last four digits
    return reasons


@st.composite
def near_misses(draw: st.DrawFn, today: dt.date) -> str:
    """Digit strings shaped like numbers, with a right check digit half of the time."""
    length = draw(st.sampled_from([10, 12]))
    if length == 12:
        head = draw(st.sampled_from(["18", "19", "20", "21"])) + draw(st.text("0123456789", min_size=9, max_size=9))
    else:
        # Dates near today and a century ago exercise the century guess.
        around = draw(st.sampled_from([today, dt.date(today.year - 100, today.month, min(today.day, 28))]))
        born = around + dt.timedelta(days=draw(st.integers(-3, 3)))
        day = born.day + (60 if draw(st.booleans()) else 0)
        head = f"{born:%y%m}{day:02d}" + draw(st.text("0123456789", min_size=3, max_size=3))
    check = str(luhn_check_digit(head[-9:])) if draw(st.booleans()) else draw(st.sampled_from("0123456789"))
    digits = head + check
    separator = draw(st.sampled_from(["", "-", "+"]))
    return f"{digits[:-4]}{separator}{digits[-4:]}"


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, dt.date]:
    today = draw(st.dates(dt.date(2001, 1, 1), dt.date(2090, 12, 31)))
    text = draw(
        st.one_of(
            identity_number_texts(today=today, min_birth_date=dt.date(1800, 1, 1), whitespace=draw(st.booleans())),
            invalid_identity_number_texts(today=today).map(lambda invalid: invalid.text),
            near_misses(today),
        )
    )
    return text, today


def _check(name: str, theirs: Callable[[str], str | None], text: str, today: dt.date) -> None:
    mine = ours(text, today)
    with libraries_think_today_is(today):
        other = theirs(text)
        if (None if isinstance(mine, InvalidIdentityNumber) else mine) == other:
            return
        reasons = {r for r in explain(text, today, mine, other, theirs) if name in DIFFERENCES[r]}
    note(f"{text!r} on {today}: ours={mine!r} {name}={other!r}")
    assert reasons, f"undocumented difference with {name}: {text!r} on {today}: ours={mine!r}, theirs={other!r}"


@given(cases())
def test_agrees_with_personnummer_except_documented_differences(case: tuple[str, dt.date]) -> None:
    _check("personnummer", theirs_personnummer, *case)


@given(cases())
def test_agrees_with_stdnum_except_documented_differences(case: tuple[str, dt.date]) -> None:
    _check("stdnum", theirs_stdnum, *case)


TODAY = dt.date(2025, 6, 15)


def _with_check(nine_before: str) -> str:
    digits = nine_before.replace("-", "").replace("+", "")
    return nine_before + str(luhn_check_digit(digits[-9:]))


# One real example per documented difference, so the list never keeps a stale entry.
EXAMPLES = [
    ("future-birth-date", "personnummer", _with_check("20991212-123")),
    ("future-birth-date", "personnummer", _with_check("251212-123")),
    ("future-birth-date", "stdnum", _with_check("20991212-123")),
    ("reserve-century", "personnummer", _with_check("23121212-123")),
    ("reserve-century", "stdnum", _with_check("23121212-123")),
    ("surrounding-whitespace", "personnummer", " 121212-1212"),
    ("surrounding-whitespace", "stdnum", "\t121212-1212"),
    ("plus-in-12-digits", "personnummer", "20121212+1212"),
    ("plus-in-12-digits", "stdnum", "20121212+1212"),
    ("non-ascii-digits", "personnummer", "١٢١٢١٢-١٢١٢"),
    ("non-ascii-digits", "stdnum", "１２１２１２-１２１２"),
    ("coordination-numbers", "stdnum", _with_check("20121272-123")),
    ("unestablished-birth-date", "personnummer", "19150088-2392"),  # Skatteverket's test numbers
    ("unestablished-birth-date", "personnummer", "171160-2399"),
    ("unestablished-birth-date", "stdnum", "19171160-2399"),
    ("serial-000", "stdnum", _with_check("20121212-000")),
    ("lenient-separators", "stdnum", "121212 1212"),
    ("lenient-separators", "stdnum", "12-12-12-1212"),
]


@pytest.mark.parametrize(("difference", "library", "text"), EXAMPLES)
def test_each_documented_difference_is_real(difference: str, library: str, text: str) -> None:
    theirs = theirs_personnummer if library == "personnummer" else theirs_stdnum
    mine = ours(text, TODAY)
    with libraries_think_today_is(TODAY):
        other = theirs(text)
        assert (None if isinstance(mine, InvalidIdentityNumber) else mine) != other
        assert difference in explain(text, TODAY, mine, other, theirs)


def test_every_difference_has_an_example() -> None:
    assert {(d, lib) for d, libs in DIFFERENCES.items() for lib in libs} == {(d, lib) for d, lib, _ in EXAMPLES}


def test_docs_list_exactly_these_differences() -> None:
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert documented == set(DIFFERENCES)
