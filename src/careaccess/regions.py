"""Swedish counties (län) and municipalities (kommuner) by their SCB codes.

The data ships with the package (``careaccess/data/*.csv``: the 21 counties and 290
municipalities in force since 2007) and is read once, on first use. Codes are strings:
two digits for a county, four for a municipality, the first two being its county's.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

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
    """A county (län): two-digit SCB code, full name ("Stockholms län") and short name ("Stockholm")."""

    code: str
    name: str
    short_name: str


@frozen
class Municipality:
    """A municipality (kommun): four-digit SCB code starting with its county's code, and its name."""

    code: str
    name: str
    county_code: str


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("careaccess").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@frozen
class _Tables:
    counties: Mapping[str, County]
    municipalities: Mapping[str, Municipality]
    by_county: Mapping[str, tuple[Municipality, ...]]


@functools.cache
def _tables() -> _Tables:
    county_rows = sorted(
        (County(row["county_code"], row["county_name"], row["county_name_short"]) for row in _rows("counties.csv")),
        key=lambda c: c.code,
    )
    municipality_rows = sorted(
        (
            Municipality(row["municipality_code"], row["municipality_name_short"], row["county_code"])
            for row in _rows("municipalities.csv")
        ),
        key=lambda m: m.code,
    )
    by_code = {c.code: c for c in county_rows}
    by_county: dict[str, list[Municipality]] = {code: [] for code in by_code}
    for m in municipality_rows:
        # A broken data file must fail loudly here, not as a wrong service-area decision later.
        if len(m.code) != 4 or not m.code.isdigit() or m.code[:2] != m.county_code or m.county_code not in by_code:
            raise RuntimeError(f"careaccess/data/municipalities.csv: inconsistent row for {m.code!r}")
        by_county[m.county_code].append(m)
    if len(by_code) != len(county_rows) or len({m.code for m in municipality_rows}) != len(municipality_rows):
        raise RuntimeError("careaccess/data: duplicate region codes")
    return _Tables(
        MappingProxyType(by_code),
        MappingProxyType({m.code: m for m in municipality_rows}),
        MappingProxyType({code: tuple(ms) for code, ms in by_county.items()}),
    )


def counties() -> Mapping[str, County]:
    """All 21 counties, by code, in code order (read-only)."""
    return _tables().counties


def municipalities() -> Mapping[str, Municipality]:
    """All 290 municipalities, by code, in code order (read-only)."""
    return _tables().municipalities


def county(code: str) -> County | None:
    """The county with this two-digit code, or None (also for anything that is not a string)."""
    return _tables().counties.get(code) if isinstance(code, str) else None


def municipality(code: str) -> Municipality | None:
    """The municipality with this four-digit code, or None (also for anything that is not a string)."""
    return _tables().municipalities.get(code) if isinstance(code, str) else None


def municipalities_of(county_code: str) -> tuple[Municipality, ...]:
    """The municipalities of a county, in code order (empty for an unknown county)."""
    return _tables().by_county.get(county_code, ()) if isinstance(county_code, str) else ()
