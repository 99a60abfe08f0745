"""JSON-ready data to and from every model, decision, event and page.

``careaccess.converter`` is a private :class:`cattrs.Converter`: identity numbers
become their 12 canonical digits, dates and datetimes ISO 8601 strings, enums their
values and sets sorted lists. The global cattrs converter is never touched.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any, get_origin

import cattrs

from careaccess.identity import Gender, PersonalIdentityNumber
from careaccess.models import Action, Reason

__all__ = ["converter", "make_converter"]


def _structure_datetime(value: Any, _: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def _structure_date(value: Any, _: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _structure_pnr(value: Any, _: object) -> PersonalIdentityNumber:
    if isinstance(value, PersonalIdentityNumber):
        return value
    return PersonalIdentityNumber.from_digits(value)


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _is_frozenset(type_: Any) -> bool:
    return type_ is frozenset or get_origin(type_) is frozenset


def _is_mapping(type_: Any) -> bool:
    return get_origin(type_) in (Mapping, dict) or type_ in (Mapping, dict)


def make_converter() -> cattrs.Converter:
    """A new converter with careaccess's hooks; use it to add hooks of your own."""
    converter = cattrs.Converter()
    converter.register_unstructure_hook(PersonalIdentityNumber, lambda p: p.digits)
    converter.register_structure_hook(PersonalIdentityNumber, _structure_pnr)
    converter.register_unstructure_hook(dt.datetime, lambda d: d.isoformat())
    converter.register_structure_hook(dt.datetime, _structure_datetime)
    converter.register_unstructure_hook(dt.date, lambda d: d.isoformat())
    converter.register_structure_hook(dt.date, _structure_date)
    for enum_type in (Action, Gender, Reason):  # str enums would otherwise pass through as members
        converter.register_unstructure_hook(enum_type, _enum_value)
    converter.register_unstructure_hook_func(_is_frozenset, sorted)
    # Event payloads are already JSON-ready data: copy them, never interpret them.
    converter.register_unstructure_hook_func(_is_mapping, dict)
    converter.register_structure_hook_func(_is_mapping, lambda value, _: dict(value))
    return converter


#: The converter the library uses (and stores may use) for JSON-ready data.
converter = make_converter()
