"""Change planning: every workflow's rules as pure functions, stored facts in, changeset out.

Each ``plan_*`` function takes the facts the service loaded, the request and the
moment (``now``, and ``today``, its local date in the configured zone) and returns the
:class:`~careaccess.store.Changeset` that makes the change — the writes, the events
and the preconditions that keep it safe when someone else acts at the same time — or
raises the refusal. Nothing here reads storage, a clock or a hook, so each rule is
tested without a store, as :func:`careaccess.decision.decide` is.

Rules and their homes (DESIGN.md, "Workflows"):

- grants only on restricted case types; opening a restricted case type needs it unused;
- end dates today or later (local date), versions from 1 to
  :data:`~careaccess.store.MAX_VERSION`;
- approving is idempotent; an import writes only new records of one clinic.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from careaccess import refusals
from careaccess.errors import InvalidRequest
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Action, Approval, CaseType, Clinic, Grant
from careaccess.names import normalize
from careaccess.serialization import converter
from careaccess.store import (
    MAX_IMPORT,
    MAX_VERSION,
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    DecisionFacts,
    Delete,
    EventDraft,
    GrantKey,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    Record,
    key_of,
)
from careaccess.validation import check_name, is_id

__all__ = [
    "MAX_AUTHOR_LENGTH",
    "check_until",
    "check_version",
    "plan_approve",
    "plan_change_grant",
    "plan_grant",
    "plan_import",
    "plan_put_case_type",
    "plan_put_clinic",
    "plan_remove_case_type",
    "plan_remove_grant",
    "plan_revoke_approval",
    "snapshot",
]

#: The longest author (``approved_by``/``granted_by``) an imported record may carry.
MAX_AUTHOR_LENGTH = 200

NameOf = Callable[[], str | None]


def snapshot(record: Record | None) -> dict[str, Any] | None:
    """A record as event data: JSON-ready, without the identity number (the event has it)."""
    if record is None:
        return None
    data: dict[str, Any] = converter.unstructure(record)
    data.pop("pnr", None)
    return data


def _imported_snapshot(record: Approval | Grant) -> dict[str, Any] | None:
    """:func:`snapshot` of an imported approval or grant: the same dict, in the same key
    order, built directly (an import makes thousands); a subclass goes through the converter."""
    if type(record) is Approval:
        return {
            "clinic_id": record.clinic_id,
            "name": record.name,
            "approved_at": record.approved_at.isoformat(),
            "approved_by": record.approved_by,
        }
    if type(record) is Grant:
        return {
            "clinic_id": record.clinic_id,
            "case_type_id": record.case_type_id,
            "until": None if record.until is None else record.until.isoformat(),
            "version": record.version,
            "granted_at": record.granted_at.isoformat(),
            "granted_by": record.granted_by,
            "changed_at": record.changed_at.isoformat(),
            "name": record.name,
        }
    return snapshot(record)


def _one(
    actor_id: str,
    action: Action,
    clinic_id: str,
    preconditions: Iterable[Precondition],
    write: Put | Delete,
    now: dt.datetime,
    *,
    before: Record | None,
    after: Record | None,
    pnr: PersonalIdentityNumber | None = None,
    case_type_id: str | None = None,
) -> Changeset:
    """A changeset of one write and its one event."""
    draft = EventDraft(now, actor_id, action, clinic_id, pnr, case_type_id, snapshot(before), snapshot(after))
    return Changeset(clinic_id, tuple(preconditions), (write,), (draft,))


# -- checks shared by workflows ----------------------------------------------------------


def check_until(until: object, today: dt.date) -> dt.date | None:
    """*until* if it is None or a date on or after *today*.

    :raises InvalidRequest: ``invalid_date`` (not a date), ``end_date_in_past``.
    """
    if until is None:
        return None
    if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
        raise InvalidRequest(
            "invalid_date", "until must be a date or None.", "Slutdatum måste vara ett datum eller tills vidare."
        )
    if until < today:
        raise InvalidRequest(
            "end_date_in_past",
            "The end date lies in the past; choose today or later, or until further notice.",
            "Slutdatumet har redan passerat; välj i dag eller senare, eller tills vidare.",
        )
    return until


def check_version(version: object) -> int:
    """*version* if it is a whole number from 1 to :data:`~careaccess.store.MAX_VERSION`.

    :raises InvalidRequest: ``invalid_version``.
    """
    if type(version) is not int or not 1 <= version <= MAX_VERSION:
        raise InvalidRequest(
            "invalid_version",
            f"A grant's version is a whole number from 1 to {MAX_VERSION}.",
            f"En utdelnings version är ett heltal från 1 till {MAX_VERSION}.",
        )
    return version


# -- clinics and case types --------------------------------------------------------------


def plan_put_clinic(actor_id: str, before: Clinic | None, clinic: Clinic, now: dt.datetime) -> Changeset | None:
    """Create or update *clinic*; None when it is stored exactly so already."""
    if before == clinic:
        return None
    key = ClinicKey(clinic.id)
    guard = MustBeAbsent(key) if before is None else MustExist(key)
    return _one(actor_id, Action.CLINIC_SAVED, clinic.id, [guard], Put(clinic), now, before=before, after=clinic)


def plan_put_case_type(
    actor_id: str, clinic: Clinic | None, before: CaseType | None, case_type: CaseType, now: dt.datetime
) -> Changeset | None:
    """Create or update *case_type* of the stored *clinic*; None when nothing changes.

    :raises NotFound: ``unknown_clinic``.
    """
    if clinic is None:
        raise refusals.unknown_clinic()
    if before == case_type:
        return None
    key = CaseTypeKey(case_type.clinic_id, case_type.id)
    guards: list[Precondition] = [MustExist(ClinicKey(case_type.clinic_id))]
    guards.append(MustBeAbsent(key) if before is None else MustExist(key))
    if not case_type.restricted:
        guards.append(CaseTypeUnused(key))  # grants only make sense on restricted case types
    return _one(
        actor_id,
        Action.CASE_TYPE_SAVED,
        case_type.clinic_id,
        guards,
        Put(case_type),
        now,
        before=before,
        after=case_type,
        case_type_id=case_type.id,
    )


def plan_remove_case_type(
    actor_id: str, clinic: Clinic | None, before: CaseType | None, case_type_id: str, now: dt.datetime
) -> Changeset:
    """Remove the stored case type *before* (of *clinic*).

    :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
    """
    if clinic is None:
        raise refusals.unknown_clinic()
    if before is None:
        raise refusals.unknown_case_type()
    key = CaseTypeKey(clinic.id, case_type_id)
    return _one(
        actor_id,
        Action.CASE_TYPE_REMOVED,
        clinic.id,
        [MustExist(key), CaseTypeUnused(key)],
        Delete(key),
        now,
        before=before,
        after=None,
        case_type_id=case_type_id,
    )


# -- approvals -----------------------------------------------------------------------------


def plan_approve(
    actor_id: str,
    facts: DecisionFacts,
    clinic_id: str,
    person: PersonalIdentityNumber,
    name_of: NameOf,
    now: dt.datetime,
) -> Approval | Changeset:
    """Approve *person* at the clinic: the existing approval if there is one (idempotent),
    else the changeset that stores a new one named ``name_of()`` (asked only then, NFC).

    :raises NotFound: ``unknown_clinic``.
    """
    if facts.clinic is None:
        raise refusals.unknown_clinic()
    if facts.approval is not None:
        return facts.approval
    name = name_of()
    approval = Approval(clinic_id, person, None if name is None else normalize(name), now, actor_id)
    key = ApprovalKey(clinic_id, person.digits)
    return _one(
        actor_id,
        Action.RESIDENT_APPROVED,
        clinic_id,
        [MustExist(ClinicKey(clinic_id)), MustBeAbsent(key)],
        Put(approval),
        now,
        before=None,
        after=approval,
        pnr=person,
    )


def plan_revoke_approval(
    actor_id: str, facts: DecisionFacts, clinic_id: str, person: PersonalIdentityNumber, now: dt.datetime
) -> Changeset:
    """Remove the approval; grants stay.

    :raises NotFound: ``approval_not_found``.
    """
    if facts.approval is None:
        raise refusals.approval_not_found()
    key = ApprovalKey(clinic_id, person.digits)
    return _one(
        actor_id,
        Action.APPROVAL_REVOKED,
        clinic_id,
        [MustExist(key)],
        Delete(key),
        now,
        before=facts.approval,
        after=None,
        pnr=person,
    )


# -- grants --------------------------------------------------------------------------------


def plan_grant(
    actor_id: str,
    facts: DecisionFacts,
    clinic_id: str,
    person: PersonalIdentityNumber,
    case_type_id: str,
    until: dt.date | None,
    name_of: NameOf,
    now: dt.datetime,
    today: dt.date,
) -> Changeset:
    """Grant the restricted case type through *until* (inclusive) or until further notice.

    :raises InvalidRequest: ``invalid_date``, ``end_date_in_past``, ``case_type_not_restricted``.
    :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
    :raises Conflict: ``grant_exists``.
    """
    until = check_until(until, today)
    if facts.clinic is None:
        raise refusals.unknown_clinic()
    if facts.case_type is None:
        raise refusals.unknown_case_type()
    if not facts.case_type.restricted:
        raise refusals.case_type_not_restricted()
    key = GrantKey(clinic_id, person.digits, case_type_id)
    if facts.grant is not None:
        raise MustBeAbsent(key).conflict()
    name = name_of()
    grant = Grant(
        clinic_id, person, case_type_id, until, 1, now, actor_id, now, None if name is None else normalize(name)
    )
    return _one(
        actor_id,
        Action.CASE_TYPE_GRANTED,
        clinic_id,
        [CaseTypeRestricted(CaseTypeKey(clinic_id, case_type_id)), MustBeAbsent(key)],
        Put(grant),
        now,
        before=None,
        after=grant,
        pnr=person,
        case_type_id=case_type_id,
    )


def _current(grant: Grant | None, expected_version: int | None) -> Grant:
    if grant is None:
        raise refusals.grant_not_found()
    if expected_version is not None:
        check_version(expected_version)
        if grant.version != expected_version:
            raise MustHaveVersion(
                GrantKey(grant.clinic_id, grant.pnr.digits, grant.case_type_id), expected_version
            ).conflict()
    return grant


def plan_change_grant(
    actor_id: str,
    grant: Grant | None,
    until: dt.date | None,
    expected_version: int | None,
    now: dt.datetime,
    today: dt.date,
) -> Changeset:
    """Change how long the stored *grant* holds; the new grant's version is one higher.

    :raises InvalidRequest: ``invalid_date``, ``end_date_in_past``, ``invalid_version``
        (an expected version, or a grant already at :data:`~careaccess.store.MAX_VERSION`).
    :raises NotFound: ``grant_not_found``.
    :raises Conflict: ``version_mismatch``.
    """
    until = check_until(until, today)
    before = _current(grant, expected_version)
    after = attrs.evolve(before, until=until, version=check_version(before.version + 1), changed_at=now)
    key = GrantKey(before.clinic_id, before.pnr.digits, before.case_type_id)
    return _one(
        actor_id,
        Action.GRANT_CHANGED,
        before.clinic_id,
        [MustHaveVersion(key, before.version)],
        Put(after),
        now,
        before=before,
        after=after,
        pnr=before.pnr,
        case_type_id=before.case_type_id,
    )


def plan_remove_grant(actor_id: str, grant: Grant | None, expected_version: int | None, now: dt.datetime) -> Changeset:
    """Remove the stored *grant* (also how expired grants are purged).

    :raises InvalidRequest: ``invalid_version``.
    :raises NotFound: ``grant_not_found``.
    :raises Conflict: ``version_mismatch``.
    """
    before = _current(grant, expected_version)
    key = GrantKey(before.clinic_id, before.pnr.digits, before.case_type_id)
    return _one(
        actor_id,
        Action.GRANT_REMOVED,
        before.clinic_id,
        [MustHaveVersion(key, before.version)],
        Delete(key),
        now,
        before=before,
        after=None,
        pnr=before.pnr,
        case_type_id=before.case_type_id,
    )


# -- import --------------------------------------------------------------------------------


def _check_imported_fields(record: Approval | Grant) -> None:
    """The fields the workflows set themselves, which an imported record brings along."""
    author = record.approved_by if isinstance(record, Approval) else record.granted_by
    if not is_id(author) or len(author) > MAX_AUTHOR_LENGTH:  # an actor's id, by the id rules
        raise InvalidRequest(
            "invalid_record",
            f"Who approved or granted must be given as an id (printable text without surrounding spaces, "
            f"at most {MAX_AUTHOR_LENGTH} characters).",
            f"Vem som godkände eller delade ut måste anges som ett id (skrivbar text utan omgivande blanksteg, "
            f"högst {MAX_AUTHOR_LENGTH} tecken).",
        )
    if record.name is not None and not isinstance(record.name, str):
        raise InvalidRequest("invalid_record", "A name must be text.", "Ett namn måste vara text.")
    check_name(record.name, "name")
    if isinstance(record, Grant):
        check_version(record.version)


def plan_import(
    actor_id: str,
    clinic: Clinic | None,
    case_types: Sequence[CaseType],
    records: Sequence[object],
    now: dt.datetime,
) -> Changeset | None:
    """Write many new approvals and grants of *clinic* at once; None for no records.

    *case_types* are the clinic's stored case types. The changeset: the clinic exists,
    each granted case type (by sorted id) exists and is restricted, each record's key
    is free; a ``Put`` and an event per record, in the order given; names in NFC.

    :raises InvalidRequest: ``import_too_large``, ``invalid_record``, ``invalid_name``,
        ``import_mixed_clinics``, ``import_duplicate``, ``invalid_version``,
        ``case_type_not_restricted``.
    :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
    """
    if len(records) > MAX_IMPORT:
        raise InvalidRequest(
            "import_too_large",
            f"Import at most {MAX_IMPORT} records at a time.",
            f"Importera högst {MAX_IMPORT} poster åt gången.",
        )
    if clinic is None:
        raise refusals.unknown_clinic()
    restricted = {c.id: c.restricted for c in case_types}
    seen: set[tuple[str, ...]] = set()
    checked: list[Approval | Grant] = []
    for record in records:
        if not isinstance(record, Approval | Grant):
            raise InvalidRequest(
                "invalid_record",
                "Only approvals and grants can be imported.",
                "Endast godkännanden och utdelade ärendetyper kan importeras.",
            )
        _check_imported_fields(record)
        if record.clinic_id != clinic.id:
            raise InvalidRequest(
                "import_mixed_clinics",
                "Every imported record must belong to the clinic imported into.",
                "Alla importerade poster måste höra till mottagningen som importeras till.",
            )
        seen_key = (record.pnr.digits,) if isinstance(record, Approval) else (record.pnr.digits, record.case_type_id)
        if seen_key in seen:
            raise InvalidRequest(
                "import_duplicate",
                "The import holds the same approval or grant twice.",
                "Importen innehåller samma godkännande eller utdelning två gånger.",
            )
        seen.add(seen_key)
        if isinstance(record, Grant):
            if record.case_type_id not in restricted:
                raise refusals.unknown_case_type()
            if not restricted[record.case_type_id]:
                raise refusals.case_type_not_restricted()
        name = None if record.name is None else normalize(record.name)
        # A name already in NFC comes back as the very same object: the record is then stored as is.
        checked.append(record if name is record.name else attrs.evolve(record, name=name))
    if not checked:
        return None
    granted = sorted({r.case_type_id for r in checked if isinstance(r, Grant)})
    guards: list[Precondition] = [MustExist(ClinicKey(clinic.id))]
    guards += [CaseTypeRestricted(CaseTypeKey(clinic.id, t)) for t in granted]
    guards += [MustBeAbsent(key_of(r)) for r in checked]
    drafts = tuple(
        EventDraft(
            now,
            actor_id,
            Action.RESIDENT_APPROVED if isinstance(r, Approval) else Action.CASE_TYPE_GRANTED,
            clinic.id,
            r.pnr,
            None if isinstance(r, Approval) else r.case_type_id,
            None,
            _imported_snapshot(r),
        )
        for r in checked
    )
    return Changeset(clinic.id, tuple(guards), tuple(Put(r) for r in checked), drafts)
