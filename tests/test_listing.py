"""The resident list's search text, parsed once in the core."""

from __future__ import annotations

import datetime as dt

import pytest

from careaccess import InvalidRequest
from careaccess.listing import MAX_LIMIT, Search, check_limit, parse_search

TODAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("text", "search"),
    [
        (None, Search()),
        ("   ", Search()),
        ("-", Search()),
        ("-1212", Search(digit_suffix="1212")),
        (" +0023 ", Search(digit_suffix="0023")),
        ("1912", Search(digit_prefixes=("181912", "1912", "191912", "201912"))),
        ("19121212-1212", Search(digit_prefixes=("191212121212",))),
        ("121212-1212", Search(digit_prefixes=("1212121212", "181212121212", "191212121212", "201212121212"))),
        ("1", Search(digit_prefixes=("1", "201"))),  # 18.. and 19.. start with 1 already
        ("18", Search(digit_prefixes=("18", "1918", "2018"))),
        ("19", Search(digit_prefixes=("1819", "19", "2019"))),
        ("20", Search(digit_prefixes=("1820", "1920", "20"))),
        ("1234567890123", Search(digit_prefixes=("1234567890123",))),
        ("Åsa  ÖBERG", Search(name_contains="åsa öberg")),
        ("Per-Erik", Search(name_contains="per erik")),
        ("12ab", Search(name_contains="12ab")),
        ("١٢٣", Search(name_contains="١٢٣")),  # digits of another script are a name
    ],
)
def test_parse_search(text: str | None, search: Search) -> None:
    assert parse_search(text, TODAY) == search


def test_the_centuries_follow_today() -> None:
    assert parse_search("0101", dt.date(2101, 1, 1)).digit_prefixes == ("0101", "180101", "190101", "200101", "210101")


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, True, 1.5, "10"])
def test_invalid_limit(limit: object) -> None:
    with pytest.raises(InvalidRequest) as raised:
        check_limit(limit)  # type: ignore[arg-type]
    assert raised.value.code == "invalid_limit"
