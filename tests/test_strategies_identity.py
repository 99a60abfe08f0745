"""The shipped strategies are sound: valid ones never produce invalid values, invalid ones fail as they claim."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import find, given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from careaccess import regions
from careaccess.errors import InvalidIdentityNumber
from careaccess.identity import Gender, PersonalIdentityNumber
from careaccess.models import AreaRule, Residence
from careaccess.testing import strategies as cs

TODAY = dt.date(2025, 6, 15)


def earliest_birth(pnr: PersonalIdentityNumber) -> dt.date:
    """The birth date, or the first date a number whose month or day was never established allows."""
    digits = pnr.digits
    return pnr.birth_date or dt.date(pnr.birth_year, int(digits[4:6]) or 1, int(digits[6:8]) - 60 or 1)


@given(
    st.data(),
    st.dates(dt.date(1800, 1, 1), dt.date(2199, 12, 31)),
    st.dates(dt.date(1800, 1, 1), dt.date(2199, 12, 31)),
    st.sampled_from([None, *Gender]),
    st.sampled_from([None, True, False]),
)
def test_identity_numbers_respect_their_bounds(
    data: st.DataObject, a: dt.date, b: dt.date, gender: Gender | None, coordination: bool | None
) -> None:
    low, high = min(a, b), max(a, b)
    pnr = data.draw(
        cs.identity_numbers(min_birth_date=low, max_birth_date=high, gender=gender, coordination=coordination)
    )
    assert low <= earliest_birth(pnr) <= high
    assert pnr.birth_date is None or pnr.birth_date == earliest_birth(pnr)
    assert gender is None or pnr.gender is gender
    assert coordination is None or pnr.is_coordination_number is coordination
    assert PersonalIdentityNumber.from_digits(pnr.digits) == pnr


@given(st.data(), st.dates(dt.date(1990, 1, 1), dt.date(2150, 1, 1)), st.sampled_from([None, 10, 12]))
def test_identity_number_texts_parse_on_their_day(data: st.DataObject, today: dt.date, form: cs.Form | None) -> None:
    text = data.draw(cs.identity_number_texts(today=today, form=form))
    pnr = PersonalIdentityNumber.parse(text, today=today)
    assert earliest_birth(pnr) <= today
    if form is not None:
        assert sum(c.isdigit() for c in text) == form


@given(cs.identity_number_texts())
def test_identity_number_texts_parse_today_by_default(text: str) -> None:
    assert earliest_birth(PersonalIdentityNumber.parse(text)) <= dt.datetime.now(dt.UTC).astimezone().date()


@given(st.data(), st.dates(dt.date(1990, 1, 1), dt.date(2150, 1, 1)), st.sampled_from(cs.INVALID_CODES))
def test_invalid_texts_fail_for_the_reason_they_claim(data: st.DataObject, today: dt.date, code: str) -> None:
    invalid = data.draw(cs.invalid_identity_number_texts(codes=[code], today=today))
    assert invalid.code == code
    with pytest.raises(InvalidIdentityNumber) as caught:
        PersonalIdentityNumber.parse(invalid.text, today=today)
    assert caught.value.code == code


@given(cs.residences())
def test_residences_are_valid(residence: Residence) -> None:
    assert regions.county(residence.region) is not None
    if residence.municipality is not None:
        assert residence.municipality in {m.code for m in regions.municipalities_of(residence.region)}


@given(cs.residences(county="25", with_municipality=True))
def test_residences_respect_their_bounds(residence: Residence) -> None:
    assert residence.region == "25"
    assert residence.municipality is not None
    assert residence.municipality.startswith("25")


@given(cs.area_rules())
def test_area_rules_are_valid(rule: AreaRule) -> None:
    assert AreaRule(rule.region, rule.municipality, rule.gender, rule.min_age, rule.max_age) == rule


@given(cs.area_rules(region="01", municipality=True, gender=Gender.FEMALE, ages=True, max_age=20))
def test_area_rules_respect_their_bounds(rule: AreaRule) -> None:
    assert rule.region == "01"
    assert rule.municipality is not None
    assert rule.municipality.startswith("01")
    assert rule.gender is Gender.FEMALE
    assert all(age is None or 0 <= age <= 20 for age in (rule.min_age, rule.max_age))


@given(st.from_type(PersonalIdentityNumber), st.from_type(Residence), st.from_type(AreaRule))
def test_types_are_registered_for_from_type(pnr: PersonalIdentityNumber, residence: Residence, rule: AreaRule) -> None:
    assert isinstance(pnr, PersonalIdentityNumber)
    assert isinstance(residence, Residence)
    assert isinstance(rule, AreaRule)


@pytest.mark.parametrize(
    "strategy",
    [
        cs.identity_numbers(min_birth_date=dt.date(1799, 12, 31)),
        cs.identity_numbers(min_birth_date=dt.date(2000, 1, 2), max_birth_date=dt.date(2000, 1, 1)),
        cs.renderings(PersonalIdentityNumber.from_digits("201212121212"), today=dt.date(2012, 12, 11)),
        cs.renderings(PersonalIdentityNumber.from_digits("182001011234"), today=TODAY, form=10),
        cs.invalid_identity_number_texts(codes=["pnr_coordination_refused"]),
        cs.invalid_identity_number_texts(codes=[]),
        st.deferred(lambda: cs.municipality_codes(county="99")),
        cs.area_rules(region=None, municipality=True),
        cs.area_rules(max_age=151),
    ],
)
def test_bad_bounds_are_refused(strategy: st.SearchStrategy[object]) -> None:
    @given(strategy)
    def draw(value: object) -> None:
        raise AssertionError(f"drew {value!r} despite bad bounds")

    with pytest.raises(InvalidArgument):
        draw()


@pytest.mark.parametrize(
    "wanted",
    [
        lambda p: p.birth_date is None and p.digits[4:6] == "00",
        lambda p: p.birth_date is None and p.digits[6:8] == "60",
        lambda p: p.birth_date is None and p.digits[4:8] == "0060",
        lambda p: p.is_coordination_number and p.birth_date is not None,
        lambda p: not p.is_coordination_number,
    ],
)
def test_from_type_draws_every_kind_of_number(wanted: Callable[[PersonalIdentityNumber], bool]) -> None:
    assert wanted(find(st.from_type(PersonalIdentityNumber), wanted))


@given(cs.identity_numbers(unknown_birth_date=True), cs.identity_numbers(unknown_birth_date=False))
def test_unknown_birth_date_bound(unknown: PersonalIdentityNumber, known: PersonalIdentityNumber) -> None:
    assert unknown.birth_date is None
    assert unknown.is_coordination_number
    assert known.birth_date is not None
