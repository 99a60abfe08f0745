"""Hypothesis strategies for records: service areas, clinics, case types, actors, residents,
approvals, grants, events, resident list entries and pages.

Records that carry times (approvals, grants) are exactly what the public API would have
written at those times, with dates judged in Europe/Stockholm (the library's default zone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Final

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from careaccess.identity import PersonalIdentityNumber
from careaccess.models import (
    Action,
    Actor,
    Approval,
    CaseType,
    Clinic,
    Event,
    Grant,
    Page,
    Resident,
    ResidentAccess,
    ServiceArea,
)
from careaccess.names import normalize
from careaccess.serialization import converter
from careaccess.testing.strategies.identity import _earliest_birth, _today, identity_numbers
from careaccess.testing.strategies.places import area_rules, residences
from careaccess.testing.world import WORLD_TIMEZONE, GrantState

__all__ = [
    "GRANT_STATES",
    "HISTORY",
    "MAX_TODAY",
    "MIN_TODAY",
    "actors",
    "approvals",
    "case_types",
    "clinics",
    "display_names",
    "events",
    "grants",
    "identifiers",
    "pages",
    "resident_accesses",
    "residents",
    "service_areas",
]

# ---------------------------------------------------------------------------
# Service areas, clinics and case types
# ---------------------------------------------------------------------------

_ID_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz0123456789-"
_NAME_CHARACTERS: Final = st.characters(codec="utf-8", categories=["L", "M", "N", "Pd", "Po", "Zs"])


def identifiers(*, max_size: int = 24) -> st.SearchStrategy[str]:
    """Ids for clinics, case types and actors: lowercase ASCII letters, digits and ``-``."""
    if not 1 <= max_size <= 200:
        raise InvalidArgument(f"max_size={max_size} must be between 1 and 200")
    return st.text(_ID_ALPHABET, min_size=1, max_size=max_size)


def display_names(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """Names of clinics, case types and residents: any letters, including Swedish ones,
    digits, punctuation and inner spaces, never blank; in NFC, as the core stores names."""
    if max_size < 1:
        raise InvalidArgument(f"max_size={max_size} must be at least 1")
    text = st.text(_NAME_CHARACTERS, min_size=1, max_size=max_size)
    return text.map(lambda name: normalize(name).strip()).filter(lambda name: 0 < len(name) <= max_size)


@st.composite
def service_areas(draw: st.DrawFn, *, max_rules: int = 3) -> ServiceArea:
    """Service areas with up to *max_rules* rules (none: the clinic exposes itself to nobody)."""
    if max_rules < 0:
        raise InvalidArgument(f"max_rules={max_rules} must not be negative")
    return ServiceArea(draw(st.lists(area_rules(), max_size=max_rules)))


@st.composite
def clinics(
    draw: st.DrawFn,
    *,
    ids: st.SearchStrategy[str] | None = None,
    service_area: st.SearchStrategy[ServiceArea] | None = None,
) -> Clinic:
    """Clinics with ids from *ids* (default :func:`identifiers`) and a service area from
    *service_area* (default :func:`service_areas`)."""
    return Clinic(
        draw(identifiers() if ids is None else ids),
        draw(display_names()),
        draw(service_areas() if service_area is None else service_area),
    )


@st.composite
def case_types(
    draw: st.DrawFn,
    *,
    clinic_id: str | None = None,
    ids: st.SearchStrategy[str] | None = None,
    restricted: bool | None = None,
) -> CaseType:
    """Case types of *clinic_id* (default: drawn), restricted or open (*restricted* None: either)."""
    return CaseType(
        draw(identifiers()) if clinic_id is None else clinic_id,
        draw(identifiers() if ids is None else ids),
        draw(display_names()),
        draw(st.booleans()) if restricted is None else restricted,
    )


# ---------------------------------------------------------------------------
# Actors and residents
# ---------------------------------------------------------------------------


@st.composite
def actors(
    draw: st.DrawFn,
    *,
    clinics: Collection[str] | None = None,
    ids: st.SearchStrategy[str] | None = None,
) -> Actor:
    """Actors administering exactly *clinics* (default: up to three drawn clinic ids)."""
    administered = draw(st.frozensets(identifiers(), max_size=3)) if clinics is None else frozenset(clinics)
    return Actor(draw(identifiers() if ids is None else ids), administered)


@st.composite
def residents(
    draw: st.DrawFn,
    *,
    today: dt.date | None = None,
    named: bool | None = None,
    known_residence: bool | None = None,
) -> Resident:
    """Residents born on or before *today* (default: the local date).

    :param named: True for always a name, False never, None sometimes.
    :param known_residence: True for always a residence, False never, None sometimes.
    """
    pnr = draw(identity_numbers(max_birth_date=_today(today)))
    has_name = draw(st.booleans()) if named is None else named
    has_residence = draw(st.booleans()) if known_residence is None else known_residence
    return Resident(
        pnr,
        draw(display_names()) if has_name else None,
        draw(residences()) if has_residence else None,
    )


# ---------------------------------------------------------------------------
# Approvals and grants
# ---------------------------------------------------------------------------

#: How far before *today* drawn approvals and grants may have been made.
HISTORY: Final = dt.timedelta(days=5 * 365)
#: The span of *today* that approvals, grants and worlds accept.
MIN_TODAY: Final = dt.date(1910, 1, 1)
MAX_TODAY: Final = dt.date(2190, 1, 1)

GRANT_STATES: Final[tuple[GrantState, ...]] = ("past", "current", "open_ended")


def _record_today(today: dt.date | None) -> dt.date:
    on = _today(today)
    if not MIN_TODAY <= on <= MAX_TODAY:
        raise InvalidArgument(f"today={on} must lie between {MIN_TODAY} and {MAX_TODAY}")
    return on


def _first_day(pnr: PersonalIdentityNumber, today: dt.date) -> dt.date:
    """The earliest day a record of *pnr* may carry: within :data:`HISTORY`, not before birth."""
    first = max(today - HISTORY, _earliest_birth(pnr))
    if first >= today:
        raise InvalidArgument(f"{pnr!r} is not born before {today}")
    return first


@st.composite
def _instants(draw: st.DrawFn, first: dt.date, last: dt.date) -> dt.datetime:
    """Aware UTC instants whose date in :data:`WORLD_TIMEZONE` lies in ``[first, last]``."""
    day = draw(st.dates(first, last))
    offset = dt.timedelta(microseconds=draw(st.integers(0, 86_400_000_000 - 1)))
    # A wall-clock time inside a DST gap still maps to an instant of the same local date.
    return (dt.datetime.combine(day, dt.time(), tzinfo=WORLD_TIMEZONE) + offset).astimezone(dt.UTC)


def _person(draw: st.DrawFn, pnr: PersonalIdentityNumber | None, today: dt.date) -> PersonalIdentityNumber:
    return draw(identity_numbers(max_birth_date=today - dt.timedelta(days=1))) if pnr is None else pnr


@st.composite
def approvals(
    draw: st.DrawFn,
    *,
    clinic_id: str | None = None,
    pnr: PersonalIdentityNumber | None = None,
    today: dt.date | None = None,
) -> Approval:
    """Approvals made before *today* (default: the local date), after the resident's birth.

    Each is what ``approve_resident(actor, clinic_id, pnr, name=name)`` returns with the
    clock at ``approved_at`` and ``actor.id == approved_by``.
    """
    on = _record_today(today)
    person = _person(draw, pnr, on)
    approved_at = draw(_instants(_first_day(person, on), on - dt.timedelta(days=1)))
    return Approval(
        draw(identifiers()) if clinic_id is None else clinic_id,
        person,
        draw(st.none() | display_names()),
        approved_at,
        draw(identifiers()),
    )


@st.composite
def grants(
    draw: st.DrawFn,
    *,
    state: GrantState | None = None,
    today: dt.date | None = None,
    clinic_id: str | None = None,
    case_type_id: str | None = None,
    pnr: PersonalIdentityNumber | None = None,
    max_version: int = 3,
) -> Grant:
    """Grants made before *today* (default: the local date), as the API would have stored them.

    :param state: ``"past"``: ended before *today*; ``"current"``: holds through a date on
        or after *today*; ``"open_ended"``: until further notice; None: any of these.
    :param max_version: the highest version drawn; version *n* means *n* − 1 changes
        after the grant was made, the last at ``changed_at``.

    ``until`` never lies before the local date of ``changed_at``, which the API refuses.
    """
    if max_version < 1:
        raise InvalidArgument(f"max_version={max_version} must be at least 1")
    if state is not None and state not in GRANT_STATES:
        raise InvalidArgument(f"state={state!r} must be one of {GRANT_STATES} or None")
    on = _record_today(today)
    person = _person(draw, pnr, on)
    first = _first_day(person, on)
    chosen = draw(st.sampled_from(GRANT_STATES)) if state is None else state
    yesterday = on - dt.timedelta(days=1)
    until: dt.date | None
    if chosen == "past":
        until = draw(st.dates(first, yesterday))
        last = until
    else:
        until = draw(st.dates(on, on + HISTORY)) if chosen == "current" else None
        last = yesterday
    version = draw(st.integers(1, max_version))
    changed_at = draw(_instants(first, last))
    granted_at = changed_at if version == 1 else min(changed_at, draw(_instants(first, last)))
    return Grant(
        draw(identifiers()) if clinic_id is None else clinic_id,
        person,
        draw(identifiers()) if case_type_id is None else case_type_id,
        until,
        version,
        granted_at,
        draw(identifiers()),
        changed_at,
        draw(st.none() | display_names()),
    )


# ---------------------------------------------------------------------------
# Events, resident lists and pages
# ---------------------------------------------------------------------------


def _snapshot(record: Clinic | CaseType | Approval | Grant | None) -> dict[str, object] | None:
    """A record as an event holds it: JSON-ready, without the identity number."""
    if record is None:
        return None
    data: dict[str, object] = converter.unstructure(record)
    data.pop("pnr", None)
    return data


def _later(draw: st.DrawFn, moment: dt.datetime) -> dt.datetime:
    return moment + dt.timedelta(microseconds=draw(st.integers(0, 86_400_000_000)))


@st.composite
def events(
    draw: st.DrawFn,
    *,
    actions: Collection[Action] | None = None,
    today: dt.date | None = None,
) -> Event:
    """Events as the service records them for one of *actions* (default: any), before *today*.

    ``before``/``after`` hold the changed record as JSON-ready data without its identity
    number (None where it did not exist); ``pnr`` and ``case_type_id`` are set exactly for
    the actions that concern them, and ``at`` is when the change was made. Event ids are
    16 digits, as the memory store writes them.
    """
    chosen = sorted(Action) if actions is None else sorted(actions)
    if not chosen or not set(chosen) <= set(Action):
        raise InvalidArgument(f"actions must be a non-empty collection of Action members, got {actions!r}")
    on = _record_today(today)
    action = draw(st.sampled_from(chosen))
    event_id = f"{draw(st.integers(1, 10**16 - 1)):016d}"
    actor_id = draw(identifiers())
    before: Clinic | CaseType | Approval | Grant | None = None
    after: Clinic | CaseType | Approval | Grant | None = None
    pnr: PersonalIdentityNumber | None = None
    case_type_id: str | None = None
    if action in (Action.CLINIC_SAVED, Action.CASE_TYPE_SAVED, Action.CASE_TYPE_REMOVED):
        at = draw(_instants(on - HISTORY, on - dt.timedelta(days=1)))
        if action is Action.CLINIC_SAVED:
            after = draw(clinics())
            before = draw(st.none() | clinics(ids=st.just(after.id)))
            clinic_id = after.id
        else:
            kind = draw(case_types())
            case_type_id, clinic_id = kind.id, kind.clinic_id
            other = st.none() | case_types(clinic_id=clinic_id, ids=st.just(case_type_id))
            before, after = (draw(other), kind) if action is Action.CASE_TYPE_SAVED else (kind, None)
    elif action in (Action.RESIDENT_APPROVED, Action.APPROVAL_REVOKED):
        approval = draw(approvals(today=on))
        pnr, clinic_id = approval.pnr, approval.clinic_id
        if action is Action.RESIDENT_APPROVED:
            at, actor_id, after = approval.approved_at, approval.approved_by, approval
        else:
            at, before = _later(draw, approval.approved_at), approval
    else:
        changed = action is Action.GRANT_CHANGED
        versions = 1 if action is Action.CASE_TYPE_GRANTED else 4
        grant = draw(grants(today=on, max_version=versions).filter(lambda g: g.version > 1 or not changed))
        pnr, clinic_id, case_type_id = grant.pnr, grant.clinic_id, grant.case_type_id
        if action is Action.CASE_TYPE_GRANTED:
            at, actor_id, after = grant.granted_at, grant.granted_by, grant
        elif changed:
            span = grant.changed_at - grant.granted_at
            earlier = grant.granted_at if grant.version == 2 else grant.granted_at + span * draw(st.floats(0, 1))
            previous = attrs.evolve(grant, version=grant.version - 1, changed_at=earlier)
            at, before, after = grant.changed_at, previous, grant
        else:
            at, before = _later(draw, grant.changed_at), grant
    return Event(event_id, at, actor_id, action, clinic_id, pnr, case_type_id, _snapshot(before), _snapshot(after))


@st.composite
def resident_accesses(
    draw: st.DrawFn,
    *,
    clinic_id: str | None = None,
    today: dt.date | None = None,
    max_grants: int = 3,
) -> ResidentAccess:
    """What a clinic's resident list shows for one resident: an approval and/or grants of
    distinct case types, all of *clinic_id* (default: any) and one resident, made before *today*."""
    if max_grants < 0:
        raise InvalidArgument(f"max_grants={max_grants} must not be negative")
    on = _record_today(today)
    clinic = draw(identifiers()) if clinic_id is None else clinic_id
    person = _person(draw, None, on)
    approval = draw(st.none() | approvals(clinic_id=clinic, pnr=person, today=on))
    kinds = draw(st.lists(identifiers(), min_size=0 if approval else 1, max_size=max(max_grants, 1), unique=True))
    if approval is not None:
        kinds = kinds[:max_grants]
    held = [draw(grants(clinic_id=clinic, case_type_id=kind, pnr=person, today=on)) for kind in kinds]
    return ResidentAccess.of(person, approval, held)


@st.composite
def pages(
    draw: st.DrawFn,
    *,
    items: st.SearchStrategy[object] | None = None,
    max_size: int = 5,
    last: bool | None = None,
) -> Page[object]:
    """Pages of up to *max_size* items from *items* (default: resident list entries or events).

    :param last: True for the last page (``next_cursor`` None), False for a page with a
        cursor, None for either. Cursors are opaque URL-safe text, as the service writes them.
    """
    if max_size < 0:
        raise InvalidArgument(f"max_size={max_size} must not be negative")
    element = draw(st.sampled_from([resident_accesses(), events()])) if items is None else items
    is_last = draw(st.booleans()) if last is None else last
    cursor = None if is_last else draw(st.text(_CURSOR_ALPHABET, min_size=1, max_size=40))
    return Page(draw(st.lists(element, max_size=max_size)), cursor)


_CURSOR_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
