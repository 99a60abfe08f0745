"""Gaps in the tests of identity numbers and their redaction that mutation testing found.

``nox -s mutation`` (docs/testing.md) showed that no test parsed a 10-digit coordination
number with an unknown day whose earliest date lies after *today* in the current century
(its birth date must stay unknown a century back too), that no test read a 10-digit number
of someone born in 2100 (the fast path for common forms must hand it to the general path), and
that no test put a date's boundaries (month 12 and 13, day 31, 32, 59, 60, 91, 92) into a
run of digits that is neither 10 nor 12 long, where redaction looks at each window of ten.
"""

from __future__ import annotations

import datetime as dt

import pytest

from careaccess.identity import PersonalIdentityNumber, luhn_check_digit, redact

TODAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize("date_digits", ["261260", "260460", "261160"])
def test_an_unknown_birth_date_stays_unknown_a_century_back(date_digits: str) -> None:
    nine = f"{date_digits}242"
    parsed = PersonalIdentityNumber.parse(f"{date_digits}-242{luhn_check_digit(nine)}", today=TODAY)
    assert parsed.birth_date is None
    assert parsed.digits == f"19{nine}{luhn_check_digit(nine)}"


@pytest.mark.parametrize("separator", ["", "-"])
def test_a_ten_digit_number_read_in_2101_can_be_born_in_2100(separator: str) -> None:
    """The common-form fast path knows the centuries 19 and 20 only; a number of 2100 takes the general path."""
    nine = "000101238"
    parsed = PersonalIdentityNumber.parse(f"000101{separator}238{luhn_check_digit(nine)}", today=dt.date(2101, 6, 1))
    assert parsed.digits == f"21{nine}{luhn_check_digit(nine)}"
    assert parsed.birth_date == dt.date(2100, 1, 1)


@pytest.mark.parametrize(
    ("month", "day", "masked"),
    [
        ("12", "31", True),  # the last month and day
        ("01", "60", True),  # a coordination number's unknown day
        ("01", "91", True),  # the last coordination day
        ("13", "01", False),
        ("90", "01", False),  # no date here, nor one digit further on
        ("01", "32", False),
        ("01", "45", False),
        ("01", "59", False),
        ("01", "92", False),
    ],
)
def test_in_an_eleven_digit_run_the_last_four_are_masked_exactly_when_a_date_precedes_them(
    month: str, day: str, masked: bool
) -> None:
    """An 11-digit run is neither 10 nor 12 digits: redact looks at each window of ten (docs/identity.md)."""
    run = f"999{month}{day}1234"  # the first window (9, 9, 9, month's first digit…) is never a date
    assert redact(run) == (f"999{month}{day}****" if masked else run)
