"""Parsing the command line's values: service-area rules, dates and moments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import click

from careaccess import regions
from careaccess.errors import InvalidRequest
from careaccess.identity import Gender
from careaccess.models import AreaRule, Residence

__all__ = [
    "date_option",
    "moment_option",
    "parse_rule",
    "region_of",
    "residence_of",
    "resident_options",
    "rules_option",
]


def region_of(region: str | None, municipality: str | None) -> str | None:
    """The region a municipality lies in, when only the municipality was given."""
    if region is None and municipality is not None:
        found = regions.municipality(municipality)
        return None if found is None else found.county_code
    return region


def residence_of(region: str | None, municipality: str | None) -> Residence | None:
    """The residence given by ``--region`` / ``--municipality``, or None to ask the directory.

    :raises click.BadParameter: for a municipality code no region has.
    """
    found = region_of(region, municipality)
    if found is not None:
        return Residence(found, municipality)
    if municipality is not None:
        raise click.BadParameter("unknown municipality code", param_hint="--municipality")
    return None


def resident_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--at``, ``--region`` and ``--municipality``: the moment and the residence a decision is made for."""
    function = click.option("--municipality", metavar="CODE", help="The resident's municipality (implies its county).")(
        function
    )
    function = click.option("--region", metavar="CODE", help="The resident's county; default: asked of the directory.")(
        function
    )
    return click.option(
        "--at",
        metavar="ISO-DATETIME",
        callback=moment_option,
        help="When, with a UTC offset (e.g. 2025-03-30T23:59:59+02:00); default: now.",
    )(function)


_GENDERS = {"female": Gender.FEMALE, "kvinna": Gender.FEMALE, "male": Gender.MALE, "man": Gender.MALE}


_RULE_KEYS = ("region", "municipality", "gender", "min-age", "max-age", "age")


def _rule_error(en: str, sv: str) -> InvalidRequest:
    return InvalidRequest("invalid_rule", en, sv)


def parse_rule(text: str) -> AreaRule:
    """Parse a ``--rule`` value: comma-separated ``key=value`` pairs, or ``all``.

    Keys: ``region`` (2 digits), ``municipality`` (4 digits; implies its region),
    ``gender`` (``female``/``male``), ``min-age``, ``max-age`` and ``age=LOW-HIGH``;
    ``all`` is the whole country. Example:
    ``region=01,municipality=0180,gender=female,min-age=18,max-age=64``.

    :raises InvalidRequest: ``invalid_rule``, or the :class:`~careaccess.AreaRule` error.
    """
    text = text.strip()
    if text.lower() in ("all", "*"):
        return AreaRule()
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, raw = part.partition("=")
        key = key.strip().lower().replace("_", "-")
        if not sep or not raw.strip():
            raise _rule_error(
                f"Expected key=value, got {part.strip()!r}.", f"Väntade nyckel=värde, fick {part.strip()!r}."
            )
        if key not in _RULE_KEYS:
            raise _rule_error(
                f"Unknown key {key!r}; use {', '.join(_RULE_KEYS)}.",
                f"Okänd nyckel {key!r}; använd {', '.join(_RULE_KEYS)}.",
            )
        if key in fields:
            raise _rule_error(f"{key} is given twice.", f"{key} anges två gånger.")
        fields[key] = raw.strip()
    gender = None
    if "gender" in fields:
        gender = _GENDERS.get(fields["gender"].lower())
        if gender is None:
            raise _rule_error("gender must be female or male.", "gender måste vara female eller male.")
    low, high = fields.get("min-age"), fields.get("max-age")
    if "age" in fields:
        if low is not None or high is not None:
            raise _rule_error(
                "Give age=LOW-HIGH or min-age/max-age, not both.",
                "Ange age=LÄGST-HÖGST eller min-age/max-age, inte båda.",
            )
        low, _, high = fields["age"].partition("-")
    municipality = fields.get("municipality")
    return AreaRule(
        region=region_of(fields.get("region"), municipality),
        municipality=municipality,
        gender=gender,
        min_age=_age(low),
        max_age=_age(high),
    )


def _age(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    if not text.strip().isdigit():
        raise _rule_error(f"Ages are whole numbers, got {text!r}.", f"Åldrar är heltal, fick {text!r}.")
    return int(text)


def rules_option(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[AreaRule, ...]:
    try:
        return tuple(parse_rule(value) for value in values)
    except InvalidRequest as error:
        raise click.BadParameter(f"{error.message_en} / {error.message_sv}", ctx, param) from error


def date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2025-03-30", ctx, param) from None


def moment_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date and time like 2025-03-30T23:59:59+02:00", ctx, param
        ) from None
