"""Rows to records and records to rows: the translation between the tables and careaccess's models.

Nothing here decides anything: a row becomes the record it stores, a record the row
that stores it. Column layouts follow :class:`~careaccess_sql.statements.Statements`
(``clinic_cols``, ``case_type_cols``, ``approval_cols``, ``grant_cols``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Action, Approval, CaseType, Clinic, Event, Grant, ResidentAccess, ServiceArea
from careaccess.names import fold
from careaccess.serialization import converter
from careaccess.store import DecisionFacts, EventDraft, FactsRequest, Record

from careaccess_sql.searchindex import pnr_tail

__all__ = [
    "NO_FACTS",
    "FactsReader",
    "approval_of",
    "case_type_of",
    "clinic_of",
    "event_of",
    "event_row",
    "facts_of",
    "folded",
    "grant_of",
    "iso",
    "json_text",
    "like_pattern",
    "record_row",
    "residents_of",
    "sqlite_instant_reader",
]

NO_FACTS = DecisionFacts(None, None, None, None)
#: :func:`json_text`'s encoder, as ``json.dumps`` with these options builds it, built once.
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def json_text(data: Any) -> str | None:
    """Canonical JSON text (sorted keys, no spaces, UTF-8 as is), or None for None."""
    if data is None:
        return None
    return _CANONICAL_JSON.encode(data)


def iso(value: object) -> str:
    """Dates and aware datetimes in JSON, as PostgreSQL reads them (ISO 8601 with the offset)."""
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def folded(name: str | None) -> str | None:
    """The search form a name is stored with (:func:`careaccess.names.fold`); None stays None."""
    return None if name is None else fold(name)


def like_pattern(text: str, *, at: Literal["start", "end", "anywhere"]) -> str:
    """A LIKE pattern (escape character ``\\``) matching *text* literally at the start, the end or anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"start": f"{escaped}%", "end": f"%{escaped}", "anywhere": f"%{escaped}%"}[at]


# -- records to rows ---------------------------------------------------------------------


def record_row(record: Record) -> dict[str, Any]:
    """The row (column name -> value) that stores *record* in its table."""
    if isinstance(record, Clinic):
        area = json_text(converter.unstructure(record.service_area))
        return {"id": record.id, "name": record.name, "service_area": area}
    if isinstance(record, CaseType):
        return {
            "clinic_id": record.clinic_id,
            "id": record.id,
            "name": record.name,
            "restricted": record.restricted,
        }
    if isinstance(record, Approval):
        return {
            "clinic_id": record.clinic_id,
            "pnr": record.pnr.digits,
            "name": record.name,
            "name_folded": folded(record.name),
            "approved_at": record.approved_at,
            "approved_by": record.approved_by,
            "pnr_tail": pnr_tail(record.pnr.digits),
        }
    return {
        "clinic_id": record.clinic_id,
        "pnr": record.pnr.digits,
        "case_type_id": record.case_type_id,
        "until": record.until,
        "version": record.version,
        "granted_at": record.granted_at,
        "granted_by": record.granted_by,
        "changed_at": record.changed_at,
        "name": record.name,
        "name_folded": folded(record.name),
        "pnr_tail": pnr_tail(record.pnr.digits),
    }


def event_row(draft: EventDraft) -> dict[str, Any]:
    """The events row of *draft*, without its id."""
    return {
        "at": draft.at,
        "actor_id": draft.actor_id,
        "action": draft.action.value,
        "clinic_id": draft.clinic_id,
        "pnr": None if draft.pnr is None else draft.pnr.digits,
        "case_type_id": draft.case_type_id,
        "before_data": json_text(draft.before),
        "after_data": json_text(draft.after),
    }


# -- rows to records ---------------------------------------------------------------------


def _service_area(text: str) -> ServiceArea:
    """A stored service area, parsed."""
    return converter.structure(json.loads(text), ServiceArea)


@functools.lru_cache(maxsize=4096)
def clinic_of(clinic_id: str, name: str, service_area: str) -> Clinic:
    """The (immutable) clinic of these stored values, built once per distinct value (clinics are few)."""
    return Clinic(clinic_id, name, _service_area(service_area))


@functools.lru_cache(maxsize=16384)
def case_type_of(clinic_id: str, case_type_id: str, name: str, restricted: bool) -> CaseType:
    """The (immutable) case type of these stored values, built once per distinct value."""
    return CaseType(clinic_id, case_type_id, name, restricted)


def approval_of(clinic_id: str, pnr: PersonalIdentityNumber, row: Sequence[Any], at: int) -> Approval | None:
    """The approval in the approval columns of *row* starting at *at*; None when they are empty."""
    if row[at] is None:
        return None
    return Approval(clinic_id, pnr, row[at + 1], row[at + 2], row[at + 3])


def grant_of(clinic_id: str, pnr: PersonalIdentityNumber, row: Sequence[Any], at: int) -> Grant | None:
    """The grant in the grant columns of *row* starting at *at*; None when they are empty."""
    if row[at] is None:
        return None
    return Grant(clinic_id, pnr, row[at], row[at + 1], row[at + 2], row[at + 3], row[at + 4], row[at + 5], row[at + 6])


def facts_of(request: FactsRequest, row: Sequence[Any], at: int) -> DecisionFacts:
    """Every fact in the columns of one (converted) row starting at *at*: clinic, case type, approval, grant.

    Complete whatever the case type (the grant is looked up by the requested id even
    when no such case type exists): judging them is the core's business.
    """
    if row[at] is None:
        return NO_FACTS
    clinic_id = request.clinic_id
    clinic = clinic_of(clinic_id, row[at], row[at + 1])
    case_type = None if row[at + 2] is None else case_type_of(clinic_id, row[at + 2], row[at + 3], bool(row[at + 4]))
    if row[at + 5] is None and row[at + 9] is None:
        return DecisionFacts(clinic, case_type, None, None)
    pnr = request.person if request.person is not None else PersonalIdentityNumber.from_digits(request.digits)
    return DecisionFacts(
        clinic, case_type, approval_of(clinic_id, pnr, row, at + 5), grant_of(clinic_id, pnr, row, at + 9)
    )


#: The facts columns (Statements' clinic, case type, approval and grant columns) that
#: carry a value to convert, counted from the first: restricted, approved_at, until,
#: granted_at, changed_at. Every other column comes from the driver as the record holds it.
_RESTRICTED, _APPROVED_AT, _UNTIL, _GRANTED_AT, _CHANGED_AT = 4, 7, 10, 12, 14
_FACTS_COLUMNS = 16


#: A named tuple built as its own ``__new__`` builds it, without that Python frame.
_new_facts: Callable[[type[DecisionFacts], tuple[Any, ...]], DecisionFacts] = tuple.__new__


def _as_is(value: Any) -> Any:
    return value


_from_iso = dt.datetime.fromisoformat
#: The length of an instant as SQLAlchemy stores it in SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff``.
_STORED_INSTANT = 26


def sqlite_instant_reader(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite: what *processor* (:class:`~careaccess_sql.schema.UtcDateTime`'s, over SQLite's
    ``DATETIME``) makes of a stored instant, in a tenth of its time.

    SQLite keeps an instant as its naive UTC wall clock in ISO 8601 text,
    ``YYYY-MM-DD HH:MM:SS.ffffff`` as SQLAlchemy writes it, which SQLAlchemy parses
    (``datetime.fromisoformat``) and ``UtcDateTime`` then marks as UTC with
    ``replace(tzinfo=UTC)``, the slower step by far. Such a text with ``+00:00`` appended
    parses straight into the same aware datetime (``tzinfo`` is ``datetime.UTC`` itself).
    Anything else (None, any other form, a text with an offset of its own) goes to
    *processor*, so the result is always *processor*'s.
    """

    def read(value: Any) -> Any:
        if type(value) is str and len(value) == _STORED_INSTANT and value[19] == ".":
            try:
                return _from_iso(value + "+00:00")
            except ValueError:
                pass  # not an instant after all: as SQLAlchemy reads it
        return processor(value)

    return read


class FactsReader:
    """:func:`facts_of` of rows as the driver returns them, converting only what a record uses.

    :param processors: SQLAlchemy's result processor of each column of the rows (None: as
        is), e.g. :attr:`careaccess_sql.driverquery.DriverQuery.processors`.
    :param at: where the facts columns start in a row.
    :param types: the columns' SQL types, if known: where the three instants (approved,
        granted, changed) share one type, a value equal to one already converted in the
        row is not converted again (a grant not changed since it was given, records
        written by one change).
    :param sqlite_instants: the rows are SQLite's and their three instants are
        :class:`~careaccess_sql.schema.UtcDateTime` columns: read by :func:`sqlite_instant_reader`.

    The same facts as :func:`facts_of` of the converted row; a processor is run only on a
    value a record is built from (none for the columns of an absent approval or grant). A
    row whose other columns need converting is converted whole first.
    """

    def __init__(
        self,
        processors: Sequence[Callable[[Any], Any] | None],
        at: int,
        types: Sequence[object] | None = None,
        *,
        sqlite_instants: bool = False,
    ) -> None:
        self.at = at
        own = processors[at : at + _FACTS_COLUMNS]
        used = {_RESTRICTED, _APPROVED_AT, _UNTIL, _GRANTED_AT, _CHANGED_AT}
        others = [(i, p) for i, p in enumerate(processors) if p is not None and not at <= i < at + _FACTS_COLUMNS]
        others += [(at + i, p) for i, p in enumerate(own) if p is not None and i not in used]
        #: Processors of other columns: then every row is converted whole, and read as such.
        self._whole = others
        self._restricted = own[_RESTRICTED] or _as_is
        self._until = own[_UNTIL] or _as_is
        instants = (_APPROVED_AT, _GRANTED_AT, _CHANGED_AT)
        #: The three instants are of one type, so one processor gives equal values equal results.
        self._one_instant_type = types is not None and len({type(types[at + i]) for i in instants}) == 1 and not others
        readers = [own[i] or _as_is for i in instants]
        if sqlite_instants:
            readers = [sqlite_instant_reader(reader) for reader in readers]
        self._instant, self._granted_at, self._changed_at = readers

    def __call__(self, request: FactsRequest, row: Sequence[Any]) -> DecisionFacts:
        """The facts of *request* in *row* (a row as the driver returns it)."""
        at = self.at
        if row[at] is None:
            return NO_FACTS
        if self._whole:
            values = list(row)
            for index, processor in self._whole:
                values[index] = processor(values[index])
            row = values
        clinic_id = request.clinic_id
        clinic = clinic_of(clinic_id, row[at], row[at + 1])
        type_id = row[at + 2]
        case_type = (
            None
            if type_id is None
            else case_type_of(clinic_id, type_id, row[at + 3], bool(self._restricted(row[at + _RESTRICTED])))
        )
        approved = row[at + 5] is not None
        grant_type = row[at + 9]
        if not approved and grant_type is None:
            return _new_facts(DecisionFacts, (clinic, case_type, None, None))
        pnr = request.person
        if pnr is None:
            pnr = PersonalIdentityNumber.from_digits(request.digits)
        approval = None
        if approved:
            approved_text = row[at + _APPROVED_AT]
            approved_at = self._instant(approved_text)
            approval = Approval(clinic_id, pnr, row[at + 6], approved_at, row[at + 8])
        if grant_type is None:
            return _new_facts(DecisionFacts, (clinic, case_type, approval, None))
        granted_text = row[at + _GRANTED_AT]
        changed_text = row[at + _CHANGED_AT]
        if not self._one_instant_type:
            granted_at = self._granted_at(granted_text)
            changed_at = self._changed_at(changed_text)
        else:
            granted_at = approved_at if approved and granted_text == approved_text else self._instant(granted_text)
            changed_at = granted_at if changed_text == granted_text else self._instant(changed_text)
        grant = Grant(
            clinic_id,
            pnr,
            grant_type,
            self._until(row[at + _UNTIL]),
            row[at + 11],
            granted_at,
            row[at + 13],
            changed_at,
            row[at + 15],
        )
        return _new_facts(DecisionFacts, (clinic, case_type, approval, grant))


def residents_of(clinic_id: str, rows: Sequence[Sequence[Any]]) -> list[ResidentAccess]:
    """Residents from listing rows (pnr, approval columns, grant columns), grouped by pnr in order."""
    listed: list[ResidentAccess] = []
    current: str | None = None
    pnr: PersonalIdentityNumber | None = None
    approval: Approval | None = None
    grants: list[Grant] = []
    for row in rows:
        if row[0] != current:
            if pnr is not None:
                listed.append(ResidentAccess.of(pnr, approval, grants))
            current = row[0]
            pnr = PersonalIdentityNumber.from_digits(row[0])
            approval = approval_of(clinic_id, pnr, row, 1)
            grants = []
        assert pnr is not None
        grant = grant_of(clinic_id, pnr, row, 5)
        if grant is not None:
            grants.append(grant)
    if pnr is not None:
        listed.append(ResidentAccess.of(pnr, approval, grants))
    return listed


def event_of(row: Any) -> Event:
    """The event an events row stores (its id as 16 digits)."""
    return Event(
        f"{row.id:016d}",
        row.at,
        row.actor_id,
        Action(row.action),
        row.clinic_id,
        None if row.pnr is None else PersonalIdentityNumber.from_digits(row.pnr),
        row.case_type_id,
        None if row.before_data is None else json.loads(row.before_data),
        None if row.after_data is None else json.loads(row.after_data),
    )
