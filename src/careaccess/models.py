"""The records of the domain: frozen attrs classes, validated at construction.

Validation here guards the boundary: a record that exists is well formed. Rules that
need stored facts (does the clinic exist, is the grant current) live in
:mod:`careaccess.service` and :mod:`careaccess.decision`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from attrs import field, frozen

from careaccess import regions
from careaccess.errors import InvalidRequest
from careaccess.identity import Gender, PersonalIdentityNumber
from careaccess.validation import is_id

__all__ = [
    "Action",
    "Actor",
    "Approval",
    "AreaRule",
    "CaseType",
    "Clinic",
    "Decision",
    "Event",
    "Grant",
    "Page",
    "Reason",
    "Residence",
    "Resident",
    "ResidentAccess",
    "ServiceArea",
]

T = TypeVar("T")


def _invalid(code: str, en: str, sv: str) -> InvalidRequest:
    return InvalidRequest(code, en, sv)


def _identifier(instance: object, attribute: Any, value: Any) -> None:
    if not is_id(value):
        raise _invalid(
            "invalid_identifier",
            f"{attribute.name} must be a non-empty string of printable characters without surrounding spaces "
            "(at most 200 characters).",
            f"{attribute.name} måste vara en icke-tom text utan inledande eller avslutande blanksteg.",
        )


def _pnr(instance: object, attribute: Any, value: Any) -> None:
    if not isinstance(value, PersonalIdentityNumber):
        raise _invalid(
            "invalid_identifier",
            f"{attribute.name} must be a PersonalIdentityNumber.",
            f"{attribute.name} måste vara ett PersonalIdentityNumber.",
        )


def _aware(instance: object, attribute: Any, value: Any) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise _invalid(
            "naive_datetime",
            f"{attribute.name} must be a timezone-aware datetime.",
            f"{attribute.name} måste vara en tidpunkt med tidszon.",
        )


def _date(instance: object, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
        raise _invalid(
            "invalid_date",
            f"{attribute.name} must be a date (not a datetime).",
            f"{attribute.name} måste vara ett datum.",
        )


def _rules(rules: Iterable[AreaRule]) -> tuple[AreaRule, ...]:
    return tuple(rules)


def _clinic_ids(clinics: Iterable[str]) -> frozenset[str]:
    """The clinic ids an actor administers: a collection of ids, never a single id.

    A ``str`` (or ``bytes``) is refused: ``frozenset("vc-ost")`` would be a set of letters.

    :raises InvalidRequest: ``invalid_identifier`` for a single string, anything that is not
        a collection, or an element that is not a clinic id (non-empty text without
        surrounding spaces, at most 200 characters).
    """
    if isinstance(clinics, str | bytes | bytearray) or not isinstance(clinics, Iterable):
        raise _invalid(
            "invalid_identifier",
            f"clinics must be a collection of clinic ids such as frozenset({{'vc-ost'}}), "
            f"not a {type(clinics).__name__}.",
            f"clinics måste vara en samling mottagnings-id, till exempel frozenset({{'vc-ost'}}), "
            f"inte en {type(clinics).__name__}.",
        )
    ids = frozenset(clinics)
    for clinic_id in ids:
        if not is_id(clinic_id):
            raise _invalid(
                "invalid_identifier",
                "Every clinic id in clinics must be a non-empty string without surrounding spaces "
                "(at most 200 characters).",
                "Varje mottagnings-id i clinics måste vara en icke-tom text utan inledande eller avslutande blanksteg.",
            )
    return ids


def _grants(grants: Iterable[Grant]) -> tuple[Grant, ...]:
    return tuple(grants)


def _items(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(items)


class Reason(enum.StrEnum):
    """Why a decision came out as it did (DESIGN.md's decision table, in order)."""

    UNKNOWN_CLINIC = "unknown_clinic"
    UNKNOWN_CASE_TYPE = "unknown_case_type"
    GRANTED = "granted"
    GRANT_EXPIRED = "grant_expired"
    NOT_GRANTED = "not_granted"
    APPROVED = "approved"
    SERVICE_AREA = "service_area"
    NOT_APPROVED = "not_approved"


class Action(enum.StrEnum):
    """What an :class:`Event` records; also the action names authorization is asked about."""

    CLINIC_SAVED = "clinic_saved"
    CASE_TYPE_SAVED = "case_type_saved"
    CASE_TYPE_REMOVED = "case_type_removed"
    RESIDENT_APPROVED = "resident_approved"
    APPROVAL_REVOKED = "approval_revoked"
    CASE_TYPE_GRANTED = "case_type_granted"
    GRANT_CHANGED = "grant_changed"
    GRANT_REMOVED = "grant_removed"


@frozen
class Residence:
    """Where a resident is registered (folkbokförd): county code and municipality code."""

    region: str
    municipality: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_area(self.region, self.municipality)


def _check_area(region: str | None, municipality: str | None) -> None:
    if region is not None and regions.county(region) is None:
        raise _invalid(
            "unknown_region",
            "Unknown county code; use a two-digit SCB code such as '01'.",
            "Okänd länskod; ange en tvåsiffrig SCB-kod, till exempel '01'.",
        )
    if municipality is None:
        return
    found = regions.municipality(municipality)
    if found is None:
        raise _invalid(
            "unknown_municipality",
            "Unknown municipality code; use a four-digit SCB code such as '0180'.",
            "Okänd kommunkod; ange en fyrsiffrig SCB-kod, till exempel '0180'.",
        )
    if region is None or found.county_code != region:
        raise _invalid(
            "municipality_outside_region",
            "The municipality does not lie in the given county.",
            "Kommunen ligger inte i det angivna länet.",
        )


@frozen
class AreaRule:
    """One rule of a service area; every field that is set must match.

    ``region=None`` means the whole country. Ages are inclusive and judged on the local
    date of the decision.
    """

    region: str | None = None
    municipality: str | None = None
    gender: Gender | None = None
    min_age: int | None = None
    max_age: int | None = None

    def __attrs_post_init__(self) -> None:
        _check_area(self.region, self.municipality)
        for age in (self.min_age, self.max_age):
            if age is not None and (not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= 150):
                raise _invalid(
                    "invalid_age",
                    "Ages must be whole numbers between 0 and 150.",
                    "Åldrar måste vara heltal mellan 0 och 150.",
                )
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise _invalid(
                "invalid_age",
                "min_age must not be greater than max_age.",
                "Lägsta ålder får inte vara större än högsta ålder.",
            )


@frozen
class ServiceArea:
    """The residents a clinic exposes itself to; no rules means nobody."""

    rules: tuple[AreaRule, ...] = field(default=(), converter=_rules)


@frozen
class Clinic:
    """A clinic (mottagning)."""

    id: str = field(validator=_identifier)
    name: str
    service_area: ServiceArea = ServiceArea()


@frozen
class CaseType:
    """A case type (ärendetyp) of a clinic; ``restricted`` means only grant holders may use it."""

    clinic_id: str = field(validator=_identifier)
    id: str = field(validator=_identifier)
    name: str
    restricted: bool = False


@frozen
class Resident:
    """A resident as the population register (directory hook) knows them."""

    pnr: PersonalIdentityNumber = field(validator=_pnr)
    name: str | None = None
    residence: Residence | None = None


@frozen
class Actor:
    """Who makes a change: a local administrator of the clinics in ``clinics``."""

    id: str = field(validator=_identifier)
    clinics: frozenset[str] = field(default=frozenset(), converter=_clinic_ids)

    def administers(self, clinic_id: str) -> bool:
        return clinic_id in self.clinics


@frozen
class Approval:
    """A resident approved for communication with a clinic."""

    clinic_id: str
    pnr: PersonalIdentityNumber = field(validator=_pnr)
    name: str | None
    approved_at: dt.datetime = field(validator=_aware)
    approved_by: str


@frozen
class Grant:
    """A restricted case type granted to one resident, through ``until`` (inclusive) or
    until further notice (``until=None``)."""

    clinic_id: str
    pnr: PersonalIdentityNumber = field(validator=_pnr)
    case_type_id: str
    until: dt.date | None = field(validator=_date)
    version: int
    granted_at: dt.datetime = field(validator=_aware)
    granted_by: str
    changed_at: dt.datetime = field(validator=_aware)
    #: The resident's name when granted, so the resident list can show it.
    name: str | None = None

    def is_valid_on(self, day: dt.date) -> bool:
        """True when the grant still holds on the local date *day* (``until`` inclusive)."""
        return self.until is None or day <= self.until


@frozen
class ResidentAccess:
    """What a clinic's resident list shows for one resident: approval and grants."""

    pnr: PersonalIdentityNumber
    name: str | None
    approval: Approval | None
    grants: tuple[Grant, ...] = field(converter=_grants)

    @classmethod
    def of(cls, pnr: PersonalIdentityNumber, approval: Approval | None, grants: Iterable[Grant]) -> ResidentAccess:
        """Build from the stored records; the name is the approval's, else the first grant's that has one."""
        ordered = sorted(grants, key=_case_type_id)
        name = approval.name if approval is not None else None
        if name is None:
            name = next((g.name for g in ordered if g.name is not None), None)
        return cls(pnr, name, approval, ordered)

    def expired_grants(self, day: dt.date) -> tuple[Grant, ...]:
        """The grants that ended before the local date *day* (shown as expired until purged)."""
        return tuple(g for g in self.grants if not g.is_valid_on(day))


def _case_type_id(grant: Grant) -> str:
    return grant.case_type_id


@frozen
class Page(Generic[T]):
    """One page of a list; pass ``next_cursor`` back to get the next (None: no more)."""

    items: tuple[T, ...] = field(converter=_items)
    next_cursor: str | None = field(default=None, repr=False)  # opaque; kept out of logs


@frozen
class Event:
    """One committed change, as recorded in the append-only log.

    ``before``/``after`` hold the changed record as JSON-ready data without its
    identity number (that is in ``pnr``); ``None`` where the record did not exist.
    """

    id: str
    at: dt.datetime
    actor_id: str
    action: Action = field(converter=Action)
    clinic_id: str
    pnr: PersonalIdentityNumber | None = None
    case_type_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


# Not slotted: a frozen dict class is built in a third less time, and a Decision is
# built on every access check.
@frozen(slots=False)
class Decision:
    """The answer to "may this resident use this case type at this clinic now?".

    Truthy iff allowed. ``approval``, ``grant`` or ``rule`` names the fact that decided it.
    """

    allowed: bool
    reason: Reason
    pnr: PersonalIdentityNumber
    clinic_id: str
    case_type_id: str
    at: dt.datetime
    approval: Approval | None = None
    grant: Grant | None = None
    rule: AreaRule | None = None

    def __bool__(self) -> bool:
        return self.allowed
