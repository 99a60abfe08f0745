"""Hypothesis strategies for places: county and municipality codes, residences and
service-area rules."""

from __future__ import annotations

from typing import Literal

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from careaccess import regions
from careaccess.identity import Gender
from careaccess.models import AreaRule, Residence

__all__ = ["area_rules", "county_codes", "municipality_codes", "residences"]

# ---------------------------------------------------------------------------
# Regions and service areas
# ---------------------------------------------------------------------------


def county_codes() -> st.SearchStrategy[str]:
    """The 21 county codes."""
    return st.sampled_from(sorted(regions.counties()))


def municipality_codes(*, county: str | None = None) -> st.SearchStrategy[str]:
    """The 290 municipality codes, or those of one *county*."""
    if county is None:
        return st.sampled_from(sorted(regions.municipalities()))
    members = regions.municipalities_of(county)
    if not members:
        raise InvalidArgument(f"unknown county code {county!r}")
    return st.sampled_from([m.code for m in members])


@st.composite
def residences(
    draw: st.DrawFn,
    *,
    county: str | None = None,
    with_municipality: bool | None = None,
) -> Residence:
    """Residences in *county* (default: any), with a municipality of that county when
    *with_municipality* (None: sometimes)."""
    region = county if county is not None else draw(county_codes())
    place = draw(st.booleans()) if with_municipality is None else with_municipality
    return Residence(region=region, municipality=draw(municipality_codes(county=region)) if place else None)


@st.composite
def area_rules(
    draw: st.DrawFn,
    *,
    region: str | Literal["any"] | None = "any",
    municipality: bool | None = None,
    gender: Gender | Literal["any"] | None = "any",
    ages: bool | None = None,
    max_age: int = 150,
) -> AreaRule:
    """Service-area rules.

    :param region: this county code, None for the whole country, or ``"any"`` to draw either.
    :param municipality: True to always restrict to a municipality of the rule's county (needs
        a region), False never, None sometimes.
    :param gender: this gender, None for both, or ``"any"`` to draw either.
    :param ages: True to always set an age range, False never, None sometimes.
    :param max_age: the highest age bound drawn (at most 150).
    """
    if not 0 <= max_age <= 150:
        raise InvalidArgument(f"max_age={max_age} must be between 0 and 150")
    county = draw(st.none() | county_codes()) if region == "any" else region
    if municipality and county is None:
        raise InvalidArgument("a municipality needs a region")
    place = county is not None and (draw(st.booleans()) if municipality is None else municipality)
    chosen_gender = draw(st.none() | st.sampled_from(Gender)) if gender == "any" else gender
    min_age: int | None = None
    high_age: int | None = None
    if draw(st.booleans()) if ages is None else ages:
        bounds = st.none() | st.integers(0, max_age)
        min_age, high_age = draw(bounds), draw(bounds)
        if min_age is not None and high_age is not None and min_age > high_age:
            min_age, high_age = high_age, min_age
    return AreaRule(
        region=county,
        municipality=draw(municipality_codes(county=county)) if place and county is not None else None,
        gender=chosen_gender,
        min_age=min_age,
        max_age=high_age,
    )
