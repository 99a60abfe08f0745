"""A coordination number whose day was never established, moved back a century.

Mutation testing (``nox -s mutation``, docs/testing.md) showed that no test parsed a
10-digit coordination number with an unknown day whose earliest date lies after
*today* in the current century, so that the number belongs to the century before: its
birth date must stay unknown there too, not become the earliest date the digits allow.
"""

from __future__ import annotations

import datetime as dt

import pytest

from careaccess.identity import PersonalIdentityNumber, luhn_check_digit

TODAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize("date_digits", ["261260", "260460", "261160"])
def test_an_unknown_birth_date_stays_unknown_a_century_back(date_digits: str) -> None:
    nine = f"{date_digits}242"
    parsed = PersonalIdentityNumber.parse(f"{date_digits}-242{luhn_check_digit(nine)}", today=TODAY)
    assert parsed.birth_date is None
    assert parsed.digits == f"19{nine}{luhn_check_digit(nine)}"
