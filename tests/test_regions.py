"""The county and municipality tables, and the models that rely on them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given

from careaccess import regions
from careaccess.errors import InvalidRequest
from careaccess.models import AreaRule, Residence
from careaccess.testing.strategies import county_codes, municipality_codes

SHARED = Path(__file__).parent.parent.parent / "shared" / "data"


def test_there_are_21_counties_and_290_municipalities() -> None:
    assert len(regions.counties()) == 21
    assert len(regions.municipalities()) == 290
    assert sum(len(regions.municipalities_of(code)) for code in regions.counties()) == 290


def test_lookups_by_code() -> None:
    assert regions.county("01") == regions.County("01", "Stockholms län", "Stockholm")
    assert regions.county("25") is not None
    assert regions.municipality("0180") == regions.Municipality("0180", "Stockholm", "01")
    assert regions.municipality("2584") == regions.Municipality("2584", "Kiruna", "25")
    assert regions.municipality("1480") == regions.Municipality("1480", "Göteborg", "14")
    assert [m.code for m in regions.municipalities_of("03")][:2] == ["0305", "0319"]


@pytest.mark.parametrize("code", ["02", "11", "15", "16", "26", "1", "001", "", "0180", 1, None])
def test_unknown_county_codes(code: object) -> None:
    assert regions.county(code) is None  # type: ignore[arg-type]
    assert regions.municipalities_of(code) == ()  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["0100", "0199", "180", "01800", "01", "", 180, None])
def test_unknown_municipality_codes(code: object) -> None:
    assert regions.municipality(code) is None  # type: ignore[arg-type]


def test_tables_are_read_only_and_in_code_order() -> None:
    assert list(regions.counties()) == sorted(regions.counties())
    assert list(regions.municipalities()) == sorted(regions.municipalities())
    with pytest.raises(TypeError):
        regions.counties()["99"] = regions.County("99", "x", "x")  # type: ignore[index]


def test_package_data_matches_the_shared_reference_data() -> None:
    if not SHARED.is_dir():
        pytest.skip("shared reference data not present")
    with (SHARED / "municipalities.csv").open(encoding="utf-8") as f:
        expected = {row["municipality_code"]: row["municipality_name_short"] for row in csv.DictReader(f)}
    assert {code: m.name for code, m in regions.municipalities().items()} == expected
    with (SHARED / "counties.csv").open(encoding="utf-8") as f:
        assert {row["county_code"]: row["county_name"] for row in csv.DictReader(f)} == {
            code: c.name for code, c in regions.counties().items()
        }


@given(municipality_codes())
def test_every_municipality_belongs_to_the_county_its_code_starts_with(code: str) -> None:
    found = regions.municipality(code)
    assert found is not None
    assert found.code == code
    assert found.county_code == code[:2]
    assert found in regions.municipalities_of(code[:2])
    assert Residence(region=code[:2], municipality=code).municipality == code


@given(county_codes(), municipality_codes())
def test_models_refuse_a_municipality_outside_its_county(county: str, municipality: str) -> None:
    if municipality[:2] == county:
        assert AreaRule(region=county, municipality=municipality).municipality == municipality
    else:
        with pytest.raises(InvalidRequest) as caught:
            Residence(region=county, municipality=municipality)
        assert caught.value.code == "municipality_outside_region"


@pytest.mark.parametrize(
    ("region", "municipality", "code"),
    [
        ("02", None, "unknown_region"),
        ("01", "0100", "unknown_municipality"),
        (None, "0180", "municipality_outside_region"),
    ],
)
def test_area_rules_refuse_unknown_codes(region: str | None, municipality: str | None, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        AreaRule(region=region, municipality=municipality)
    assert caught.value.code == code
