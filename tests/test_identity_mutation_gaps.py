"""Identity-number behaviour that mutation testing found untested (see docs/testing.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given

from careaccess import InvalidIdentityNumber
from careaccess.identity import PersonalIdentityNumber
from careaccess.testing import strategies as cs
from careaccess.testing.conformance import make_pnr

COORD = make_pnr("19700175", 571)


@given(cs.identity_numbers(), cs.identity_numbers())
def test_comparisons_follow_the_digits_equal_numbers_included(
    p: PersonalIdentityNumber, q: PersonalIdentityNumber
) -> None:
    for a, b in ((p, q), (p, p), (q, PersonalIdentityNumber.from_digits(q.digits))):
        assert (a <= b, a < b, a >= b, a > b) == (
            a.digits <= b.digits,
            a.digits < b.digits,
            a.digits >= b.digits,
            a.digits > b.digits,
        )


def test_the_constructor_keeps_the_birth_date() -> None:
    assert PersonalIdentityNumber("19121212-1212").birth_date == dt.date(1912, 12, 12)
    assert PersonalIdentityNumber(COORD.digits).birth_date == dt.date(1970, 1, 15)


def test_a_parsed_number_passes_through_unless_coordination_is_refused() -> None:
    assert PersonalIdentityNumber.parse(COORD) is COORD
    plain = make_pnr("19800314", 242)
    assert PersonalIdentityNumber.parse(plain, allow_coordination=False) is plain
    with pytest.raises(InvalidIdentityNumber) as raised:
        PersonalIdentityNumber.parse(COORD, allow_coordination=False)
    assert raised.value.code == "pnr_coordination_refused"


@pytest.mark.parametrize("digits", ["", "1912121212", "19121212-1212", "x" * 12, "１９１２１２１２１２１２"])
def test_from_digits_refuses_anything_but_twelve_ascii_digits(digits: str) -> None:
    with pytest.raises(InvalidIdentityNumber) as raised:
        PersonalIdentityNumber.from_digits(digits)
    assert raised.value.code == "pnr_format"
