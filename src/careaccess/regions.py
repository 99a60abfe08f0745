"""Swedish counties (län) and municipalities (kommuner) by their SCB codes.

The data ships with the package (``careaccess/data/*.csv``) and is read once, on first use.
"""

from __future__ import annotations

import csv
import functools
import io
from importlib import resources
from types import MappingProxyType
from typing import Mapping

from attrs import frozen

__all__ = [
    "County",
    "Municipality",
    "counties",
    "county",
    "municipalities",
    "municipalities_of",
    "municipality",
]


@frozen
class County:
    """A county (län): two-digit SCB code, full and short name."""

    code: str
    name: str
    short_name: str


@frozen
class Municipality:
    """A municipality (kommun): four-digit SCB code starting with its county's code."""

    code: str
    name: str
    county_code: str


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("careaccess").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@functools.cache
def counties() -> Mapping[str, County]:
    """All 21 counties, by code, in code order."""
    return MappingProxyType(
        {
            row["county_code"]: County(row["county_code"], row["county_name"], row["county_name_short"])
            for row in _rows("counties.csv")
        }
    )


@functools.cache
def municipalities() -> Mapping[str, Municipality]:
    """All 290 municipalities, by code, in code order."""
    return MappingProxyType(
        {
            row["municipality_code"]: Municipality(
                row["municipality_code"], row["municipality_name_short"], row["county_code"]
            )
            for row in _rows("municipalities.csv")
        }
    )


def county(code: str) -> County | None:
    """The county with this two-digit code, or None."""
    return counties().get(code)


def municipality(code: str) -> Municipality | None:
    """The municipality with this four-digit code, or None."""
    return municipalities().get(code)


@functools.cache
def municipalities_of(county_code: str) -> tuple[Municipality, ...]:
    """The municipalities of a county, in code order (empty for an unknown county)."""
    return tuple(m for m in municipalities().values() if m.county_code == county_code)
