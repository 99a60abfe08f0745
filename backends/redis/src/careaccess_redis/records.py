"""Records as the JSON stored in Redis, and back.

Payloads come from :data:`careaccess.converter` minus the fields the key already names
(clinic id, identity number, case type id), which saves memory on every approval and
grant. The Lua scripts read two fields, each only to check a changeset's precondition
(``CaseTypeRestricted``, ``MustHaveVersion``): ``restricted`` of a case type and
``version`` of a grant. Beside each approval and grant its name's search form
(:func:`careaccess.names.fold`) is kept in the resident hash (``n``, ``n:<case type id>``).

Approvals and grants are read on every decision, one per resident, so they are built
straight from their JSON fields (:func:`approval_from`, :func:`grant_from`) rather than
through cattrs: the same records, in half the time. A test holds the two paths
equal and fails when a model gains a field.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from typing import Any

import attrs
from careaccess import converter
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval, CaseType, Clinic, Event, Grant, ResidentAccess
from careaccess.store import EventDraft, Record

__all__ = [
    "approval_from",
    "dump_event",
    "dump_record",
    "dump_through_converter",
    "dumps",
    "grant_from",
    "load_approval",
    "load_case_type",
    "load_clinic",
    "load_event",
    "load_grant",
    "load_resident",
]

_KEY_FIELDS: dict[type, tuple[str, ...]] = {
    Clinic: ("id",),
    CaseType: ("clinic_id", "id"),
    Approval: ("clinic_id", "pnr"),
    Grant: ("clinic_id", "pnr", "case_type_id"),
}


#: The JSON text of stored data: one encoder for every record (json.dumps would build a
#: new one per call when given options). Never a raw newline: the scripts rely on it.
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_dumps = dumps


def dump_record(record: Record) -> str:
    """The stored JSON of a record, without the fields its key holds.

    Approvals and grants (written by the thousand in an import) are built straight
    from their fields, as :data:`careaccess.converter` would unstructure them (a test
    holds the two equal); clinics and case types go through the converter.
    """
    if type(record) is Approval:
        return _dumps(
            {"name": record.name, "approved_at": record.approved_at.isoformat(), "approved_by": record.approved_by}
        )
    if type(record) is Grant:
        until = record.until
        return _dumps(
            {
                "until": None if until is None else until.isoformat(),
                "version": record.version,
                "granted_at": record.granted_at.isoformat(),
                "granted_by": record.granted_by,
                "changed_at": record.changed_at.isoformat(),
                "name": record.name,
            }
        )
    return dump_through_converter(record)


def dump_through_converter(record: Record) -> str:
    """:func:`dump_record` through the converter."""
    data: dict[str, Any] = converter.unstructure(record)
    for name in _KEY_FIELDS[type(record)]:
        del data[name]
    return _dumps(data)


#: Clinics and case types whose ids and text together are longer are not cached.
_CACHED_CHARS = 2048


# Clinics and case types are read on every decision and change rarely: structure each
# stored text once (the text is the cache key, so a changed record is never served stale).
# The caches are bounded in entries, and in size by _CACHED_CHARS per entry.
def load_clinic(clinic_id: str, text: str) -> Clinic:
    """The clinic stored as *text* (JSON without its id)."""
    if len(clinic_id) + len(text) <= _CACHED_CHARS:
        return _cached_clinic(clinic_id, text)
    return _structure_clinic(clinic_id, text)


def load_case_type(clinic_id: str, case_type_id: str, text: str) -> CaseType:
    """The case type stored as *text* (JSON without its ids)."""
    if len(clinic_id) + len(case_type_id) + len(text) <= _CACHED_CHARS:
        return _cached_case_type(clinic_id, case_type_id, text)
    return _structure_case_type(clinic_id, case_type_id, text)


def _structure_clinic(clinic_id: str, text: str) -> Clinic:
    data = json.loads(text)
    data["id"] = clinic_id
    return converter.structure(data, Clinic)


def _structure_case_type(clinic_id: str, case_type_id: str, text: str) -> CaseType:
    data = json.loads(text)
    data["clinic_id"] = clinic_id
    data["id"] = case_type_id
    return converter.structure(data, CaseType)


_cached_clinic = functools.lru_cache(maxsize=1024)(_structure_clinic)
_cached_case_type = functools.lru_cache(maxsize=4096)(_structure_case_type)


_datetime = dt.datetime.fromisoformat
_date = dt.date.fromisoformat


# Approvals and grants read back are built past the models' __init__ (attrs, with its
# validators): a new instance, its slots set through their descriptors, in a third of the
# time. What the validators check is checked here first, on what the JSON can hold: the
# datetimes are aware (fromisoformat gives an offset or none) and the number is the
# parsed PersonalIdentityNumber; a record that fails either goes through the model's
# __init__, which raises as it would have. A model whose fields change is built through
# its __init__ alone (the fields below no longer match), and a test holds the two
# paths equal.
_APPROVAL_FIELDS = ("clinic_id", "pnr", "name", "approved_at", "approved_by")
_GRANT_FIELDS = (
    "clinic_id",
    "pnr",
    "case_type_id",
    "until",
    "version",
    "granted_at",
    "granted_by",
    "changed_at",
    "name",
)


def _setters(model: type, names: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The slots' setters of *model*'s fields, in order; None unless its fields are exactly *names*."""
    if tuple(field.name for field in attrs.fields(model)) != names or not hasattr(model, "__slots__"):
        return None
    return tuple(vars(model)[name].__set__ for name in names)


_new = object.__new__
_approval_setters = _setters(Approval, _APPROVAL_FIELDS)
_grant_setters = _setters(Grant, _GRANT_FIELDS)


def approval_from(clinic_id: str, pnr: PersonalIdentityNumber, data: Mapping[str, Any]) -> Approval:
    """The approval whose stored JSON decodes to *data*: what ``converter.structure`` builds."""
    approved_at = _datetime(data["approved_at"])
    setters = _approval_setters
    if setters is None or approved_at.tzinfo is None or type(pnr) is not PersonalIdentityNumber:
        return Approval(clinic_id, pnr, data["name"], approved_at, data["approved_by"])
    approval = _new(Approval)
    set_clinic, set_pnr, set_name, set_at, set_by = setters
    set_clinic(approval, clinic_id)
    set_pnr(approval, pnr)
    set_name(approval, data["name"])
    set_at(approval, approved_at)
    set_by(approval, data["approved_by"])
    return approval


def grant_from(clinic_id: str, pnr: PersonalIdentityNumber, case_type_id: str, data: Mapping[str, Any]) -> Grant:
    """The grant whose stored JSON decodes to *data*: what ``converter.structure`` builds."""
    until = data["until"]
    until = None if until is None else _date(until)
    granted_at = _datetime(data["granted_at"])
    changed_at = _datetime(data["changed_at"])
    name = data.get("name")  # optional in the model, so possibly absent from older records
    setters = _grant_setters
    if (
        setters is None
        or granted_at.tzinfo is None
        or changed_at.tzinfo is None
        or type(pnr) is not PersonalIdentityNumber
    ):
        return Grant(
            clinic_id, pnr, case_type_id, until, data["version"], granted_at, data["granted_by"], changed_at, name
        )
    grant = _new(Grant)
    set_clinic, set_pnr, set_case_type, set_until, set_version, set_at, set_by, set_changed, set_name = setters
    set_clinic(grant, clinic_id)
    set_pnr(grant, pnr)
    set_case_type(grant, case_type_id)
    set_until(grant, until)
    set_version(grant, data["version"])
    set_at(grant, granted_at)
    set_by(grant, data["granted_by"])
    set_changed(grant, changed_at)
    set_name(grant, name)
    return grant


def load_approval(clinic_id: str, pnr: PersonalIdentityNumber, text: str) -> Approval:
    return approval_from(clinic_id, pnr, json.loads(text))


def load_grant(clinic_id: str, pnr: PersonalIdentityNumber, case_type_id: str, text: str) -> Grant:
    return grant_from(clinic_id, pnr, case_type_id, json.loads(text))


def load_resident(clinic_id: str, pnr: str, fields: Mapping[str, str]) -> ResidentAccess | None:
    """A resident hash (``a`` and ``g:<case type id>`` fields; others ignored) as a resident-list row."""
    if not fields:
        return None
    person = PersonalIdentityNumber.from_digits(pnr)
    approval = None
    grants = []
    for name, text in fields.items():
        if name == "a":
            approval = load_approval(clinic_id, person, text)
        elif name.startswith("g:"):
            grants.append(load_grant(clinic_id, person, name[2:], text))
        # "n" and "n:<case type id>" hold the folded names the name search reads.
    if approval is None and not grants:
        return None
    return ResidentAccess.of(person, approval, grants)


def dump_event(draft: EventDraft) -> str:
    """The stored JSON of an event (its clinic is the stream's, its id the stream id's)."""
    data: dict[str, Any] = converter.unstructure(draft)
    del data["clinic_id"]
    return _dumps(data)


def load_event(event_id: str, clinic_id: str, text: str) -> Event:
    data = json.loads(text)
    data["id"] = event_id
    data["clinic_id"] = clinic_id
    return converter.structure(data, Event)
