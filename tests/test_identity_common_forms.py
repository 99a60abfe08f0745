"""The quick parse of the common forms agrees with the full parse, or leaves the text to it."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careaccess import identity
from careaccess.errors import InvalidIdentityNumber
from careaccess.identity import PersonalIdentityNumber
from careaccess.testing.strategies import identity_numbers

_TODAYS = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31))
# Texts near the common shapes: digits, a separator in any place, lengths 9 to 14.
_NEAR = st.text(alphabet="0123456789-+ ", min_size=9, max_size=14)


def _full(text: str, today: dt.date) -> PersonalIdentityNumber | str:
    """The full path's answer (the quick parse switched off): the number, or the error code."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identity, "_parse_common", lambda cls, text, today: None)
        try:
            return PersonalIdentityNumber.parse(text, today=today)
        except InvalidIdentityNumber as error:
            return error.code


def _forms(pnr: PersonalIdentityNumber) -> list[str]:
    digits = pnr.digits
    return [digits, f"{digits[:8]}-{digits[8:]}", digits[2:], f"{digits[2:8]}-{digits[8:]}"]


@given(text=_NEAR, today=_TODAYS)
def test_the_quick_parse_never_accepts_what_the_full_parse_refuses(text: str, today: dt.date) -> None:
    quick = identity._parse_common(PersonalIdentityNumber, text, today)
    if quick is not None:
        full = _full(text, today)
        assert isinstance(full, PersonalIdentityNumber)
        assert quick.digits == full.digits
        assert quick.birth_date == full.birth_date


@given(pnr=identity_numbers(max_birth_date=dt.date(2030, 12, 31)), today=_TODAYS)
def test_every_form_parses_alike_with_and_without_the_quick_parse(pnr: PersonalIdentityNumber, today: dt.date) -> None:
    for text in _forms(pnr):
        full = _full(text, today)
        try:
            got: PersonalIdentityNumber | str = PersonalIdentityNumber.parse(text, today=today)
        except InvalidIdentityNumber as error:
            got = error.code
        assert got == full
        if isinstance(got, PersonalIdentityNumber) and isinstance(full, PersonalIdentityNumber):
            assert (got.birth_date, got.gender, got.age(on=today)) == (full.birth_date, full.gender, full.age(on=today))


@given(pnr=identity_numbers(max_birth_date=dt.date(2024, 12, 31), coordination=False))
def test_the_common_forms_take_the_quick_parse(pnr: PersonalIdentityNumber) -> None:
    today = dt.date(2025, 6, 1)
    if (pnr.digits[4:8] == "0229") or pnr.birth_year < 1926:
        return  # a leap day, or a 10-digit form that needs '+': the full path's
    for text in _forms(pnr):
        quick = identity._parse_common(PersonalIdentityNumber, text, today)
        assert quick is not None
        assert quick == pnr


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("190002291235", "pnr_date"),  # 1900 was no leap year
        ("19121212-1213", "pnr_checksum"),
        ("1212121213", "pnr_checksum"),
        ("19121212-0000", "pnr_serial"),
        ("２０１２１２１２１２１２", "pnr_format"),  # full-width digits
        ("20991212-1218", "pnr_future_birth_date"),
    ],
)
def test_numbers_the_quick_parse_leaves_are_still_refused(text: str, code: str) -> None:
    assert identity._parse_common(PersonalIdentityNumber, text, dt.date(2026, 3, 1)) is None
    with pytest.raises(InvalidIdentityNumber) as caught:
        PersonalIdentityNumber.parse(text, today=dt.date(2026, 3, 1))
    assert caught.value.code == code
