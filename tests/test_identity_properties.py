"""Properties of PersonalIdentityNumber over generated numbers, dates and renderings."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from careaccess.errors import InvalidIdentityNumber
from careaccess.identity import Gender, PersonalIdentityNumber, luhn_check_digit, redact
from careaccess.testing.strategies import identity_numbers, renderings

todays = st.dates(dt.date(1990, 1, 1), dt.date(2150, 12, 31))


@st.composite
def numbers_and_today(
    draw: st.DrawFn, *, min_age_days: int = 0, unknown_birth_date: bool | None = None
) -> tuple[PersonalIdentityNumber, dt.date]:
    """A number and a day on which it is valid and still has a 10-digit form."""
    today = draw(todays)
    lowest = max(dt.date(1800, 1, 1), dt.date(today.year - 199, 1, 1))
    highest = today - dt.timedelta(days=min_age_days)
    pnr = draw(identity_numbers(min_birth_date=lowest, max_birth_date=highest, unknown_birth_date=unknown_birth_date))
    return pnr, today


def earliest_birth(pnr: PersonalIdentityNumber) -> dt.date:
    """The birth date, or the first date a number whose month or day was never established allows."""
    digits = pnr.digits
    return pnr.birth_date or dt.date(pnr.birth_year, int(digits[4:6]) or 1, int(digits[6:8]) - 60 or 1)


def _outcome(text: str, today: dt.date) -> PersonalIdentityNumber | InvalidIdentityNumber:
    try:
        return PersonalIdentityNumber.parse(text, today=today)
    except InvalidIdentityNumber as error:
        return error


def _anniversary(born: dt.date, year: int) -> dt.date:
    # 29 February is celebrated on 1 March in non-leap years.
    if (born.month, born.day) == (2, 29) and not calendar.isleap(year):
        return dt.date(year, 3, 1)
    return born.replace(year=year)


@given(numbers_and_today(), st.data())
def test_parse_reads_back_every_rendering(case: tuple[PersonalIdentityNumber, dt.date], data: st.DataObject) -> None:
    pnr, today = case
    text = data.draw(renderings(pnr, today=today))
    assert PersonalIdentityNumber.parse(text, today=today) == pnr


@given(numbers_and_today())
def test_display_forms_read_back(case: tuple[PersonalIdentityNumber, dt.date]) -> None:
    pnr, today = case
    for text in (pnr.digits, str(pnr), pnr.short(today=today)):
        assert PersonalIdentityNumber.parse(text, today=today) == pnr
    assert PersonalIdentityNumber.from_digits(pnr.digits) == pnr


@given(identity_numbers(min_birth_date=dt.date(1800, 1, 1), max_birth_date=dt.date(2199, 12, 31)))
def test_canonical_digits_hold_the_parts(pnr: PersonalIdentityNumber) -> None:
    digits = pnr.digits
    assert len(digits) == 12
    assert digits.isascii()
    assert digits.isdigit()
    month, day = int(digits[4:6]), int(digits[6:8])
    assert pnr.is_coordination_number is (day >= 60)
    assert pnr.birth_year == int(digits[:4])
    if month == 0 or day == 60:
        assert pnr.is_coordination_number
        assert pnr.birth_date is None
    else:
        assert pnr.birth_date == dt.date(int(digits[:4]), month, day - 60 if day > 60 else day)
    assert int(digits[11]) == luhn_check_digit(digits[2:11])
    assert digits[8:11] != "000"
    assert pnr.gender is (Gender.MALE if int(digits[10]) % 2 else Gender.FEMALE)
    assert str(pnr) == f"{digits[:8]}-{digits[8:]}"
    # The masked repr keeps the birth date, whose digits may repeat the last four.
    assert repr(pnr) == f"PersonalIdentityNumber('{digits[:8]}-****')"


@given(numbers_and_today(), st.data())
def test_every_single_digit_change_is_refused_or_another_person(
    case: tuple[PersonalIdentityNumber, dt.date], data: st.DataObject
) -> None:
    pnr, today = case
    text = data.draw(renderings(pnr, today=today, whitespace=False))
    positions = [i for i, c in enumerate(text) if c.isdigit()]
    index = data.draw(st.sampled_from(positions))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != text[index]]))
    changed = text[:index] + digit + text[index + 1 :]
    other = _outcome(changed, today)
    if isinstance(other, InvalidIdentityNumber):
        # Still shaped like a number; only a '+' the changed century contradicts is a format error.
        assert other.code != "pnr_format" or ("+" in changed and index < 2)
    else:
        assert other != pnr
        # Luhn catches every single-digit change within the 10-digit form: only the century can change.
        assert len(positions) == 12
        assert index < 2


@given(numbers_and_today())
def test_ten_digit_form_is_refused_after_any_single_digit_change(case: tuple[PersonalIdentityNumber, dt.date]) -> None:
    pnr, today = case
    ten = pnr.digits[2:]
    for index in range(10):
        for digit in "0123456789":
            if digit != ten[index]:
                with pytest.raises(InvalidIdentityNumber):
                    PersonalIdentityNumber.parse(ten[:index] + digit + ten[index + 1 :], today=today)


@given(numbers_and_today(unknown_birth_date=False), st.dates(dt.date(1800, 1, 1), dt.date(2300, 12, 31)))
def test_age_counts_birthdays(case: tuple[PersonalIdentityNumber, dt.date], on: dt.date) -> None:
    pnr, _ = case
    born = pnr.birth_date
    assert born is not None
    birthdays = sum(1 for year in range(born.year + 1, on.year + 1) if _anniversary(born, year) <= on)
    age = pnr.age(on=on)
    assert age is not None
    if on >= born:
        assert age == birthdays
    else:
        assert age < 0


@given(numbers_and_today(unknown_birth_date=True), st.dates(dt.date(1800, 1, 1), dt.date(2300, 12, 31)))
def test_a_birth_date_never_established_has_a_year_but_no_date_or_age(
    case: tuple[PersonalIdentityNumber, dt.date], on: dt.date
) -> None:
    pnr, today = case
    digits = pnr.digits
    assert pnr.is_coordination_number
    assert digits[4:6] == "00" or digits[6:8] == "60"
    assert pnr.birth_date is None
    assert pnr.age(on=on) is None
    assert pnr.birth_year == int(digits[:4])
    assert PersonalIdentityNumber.from_digits(digits) == pnr
    assert PersonalIdentityNumber.parse(pnr.short(today=today), today=today) == pnr


@given(numbers_and_today())
def test_short_separator_and_age_agree(case: tuple[PersonalIdentityNumber, dt.date]) -> None:
    pnr, today = case
    short = pnr.short(today=today)
    turns_100_by_year_end = today.year - pnr.birth_year >= 100
    assert (short[6] == "+") is turns_100_by_year_end
    age_at_year_end = pnr.age(on=dt.date(today.year, 12, 31))
    assert age_at_year_end is None or (age_at_year_end >= 100) is turns_100_by_year_end
    assert short == f"{pnr.digits[2:8]}{short[6]}{pnr.digits[8:]}"


@given(numbers_and_today(min_age_days=1))
def test_ten_digits_never_land_in_the_future(case: tuple[PersonalIdentityNumber, dt.date]) -> None:
    pnr, today = case
    for separator in ("-", "+", ""):
        text = f"{pnr.digits[2:8]}{separator}{pnr.digits[8:]}"
        parsed = _outcome(text, today)
        if isinstance(parsed, InvalidIdentityNumber):
            assert parsed.code == "pnr_date"  # only 29 February in a century that lacks it
            assert pnr.digits[4:6] == "02"
            assert pnr.digits[6:8] in ("29", "89")
        else:
            assert earliest_birth(parsed) <= today
            assert parsed.birth_year % 100 == pnr.birth_year % 100
            assert today.year - 200 < parsed.birth_year <= today.year


@given(identity_numbers(), identity_numbers())
def test_order_and_equality_follow_the_digits(a: PersonalIdentityNumber, b: PersonalIdentityNumber) -> None:
    assert (a < b) is (a.digits < b.digits)
    assert (a == b) is (a.digits == b.digits)
    assert (hash(a) == hash(b)) or a != b
    assert len({a, b}) == len({a.digits, b.digits})


@given(identity_numbers(), st.data())
def test_redact_hides_the_last_four_digits_of_any_rendering(pnr: PersonalIdentityNumber, data: st.DataObject) -> None:
    text = data.draw(renderings(pnr, whitespace=False))
    prefix = data.draw(st.text(alphabet=st.characters(blacklist_categories=["Nd", "L"]), max_size=5))
    redacted = redact(f"{prefix}{text} ok")
    # Exactly the last four digits go: the birth date left standing may repeat them.
    assert redacted == f"{prefix}{text[:-4]}**** ok"


@given(st.text(max_size=20))
def test_parse_accepts_or_raises_invalid_identity_number_only(text: str) -> None:
    tail = text.strip()[-4:]
    assume(len(tail) == 4)
    outcome = _outcome(text, dt.date(2025, 1, 1))
    if isinstance(outcome, InvalidIdentityNumber):
        assert not (tail.isascii() and tail.isdigit()) or tail not in str(outcome)
    else:
        assert outcome.digits[-4:] == tail
