"""Bulk actions ("Hantera invånare" -> tick residents -> "Ta bort markerade"): planning and result.

Each bulk action is one :class:`~careaccess.store.Changeset` (all or nothing, one event
per record), planned here as a pure function of the loaded facts, like the single
workflows in :mod:`careaccess.planning`. Items of the selection that no longer apply
(a resident revoked by someone else meanwhile, a grant already removed, a resident who
already holds the case type) are reported as *stale*, not refused.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from attrs import frozen

from careaccess import refusals
from careaccess.errors import InvalidRequest
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Action, Event, Grant
from careaccess.names import normalize
from careaccess.planning import check_until, snapshot
from careaccess.store import (
    MAX_BULK,
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    Changeset,
    DecisionFacts,
    Delete,
    EventDraft,
    GrantKey,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    Write,
)

__all__ = ["BulkResult", "check_bulk_size", "plan_grant_many", "plan_remove_grants", "plan_revoke_approvals"]

#: One selected item with the facts loaded for it.
Selected = tuple[PersonalIdentityNumber, DecisionFacts]


@frozen
class BulkResult:
    """What a bulk action did.

    :ivar events: the committed events, one per record changed, in selection order.
    :ivar stale: the selected items that no longer applied, in selection order:
        identity numbers (for approvals) or ``(identity number, case type id)`` pairs
        (for grants).
    """

    events: tuple[Event, ...]
    stale: tuple[PersonalIdentityNumber | tuple[PersonalIdentityNumber, str], ...]


def check_bulk_size(count: int) -> None:
    """:raises InvalidRequest: ``bulk_too_large`` above :data:`~careaccess.store.MAX_BULK` items."""
    if count > MAX_BULK:
        raise InvalidRequest(
            "bulk_too_large",
            f"Select at most {MAX_BULK} residents at a time.",
            f"Markera högst {MAX_BULK} invånare åt gången.",
        )


def _require_clinic(facts: Iterable[DecisionFacts]) -> None:
    """:raises NotFound: ``unknown_clinic`` when the facts (all of one clinic) have no clinic."""
    first = next(iter(facts), None)
    if first is not None and first.clinic is None:
        raise refusals.unknown_clinic()


def _changeset(
    clinic_id: str, guards: list[Precondition], writes: list[Write], drafts: list[EventDraft]
) -> Changeset | None:
    return Changeset(clinic_id, tuple(guards), tuple(writes), tuple(drafts)) if drafts else None


def plan_revoke_approvals(
    actor_id: str, clinic_id: str, selected: Sequence[Selected], now: dt.datetime
) -> tuple[Changeset | None, list[PersonalIdentityNumber]]:
    """Revoke the approval of every selected resident who has one; grants stay.

    :returns: the changeset (None when nothing is left to do) and the stale residents.
    :raises NotFound: ``unknown_clinic``.
    """
    _require_clinic(f for _, f in selected)
    guards: list[Precondition] = []
    writes: list[Write] = []
    drafts: list[EventDraft] = []
    stale: list[PersonalIdentityNumber] = []
    for person, facts in selected:
        if facts.approval is None:
            stale.append(person)
            continue
        key = ApprovalKey(clinic_id, person.digits)
        guards.append(MustExist(key))
        writes.append(Delete(key))
        before = snapshot(facts.approval)
        drafts.append(EventDraft(now, actor_id, Action.APPROVAL_REVOKED, clinic_id, person, None, before, None))
    return _changeset(clinic_id, guards, writes, drafts), stale


def plan_remove_grants(
    actor_id: str,
    clinic_id: str,
    selected: Sequence[tuple[PersonalIdentityNumber, str, DecisionFacts]],
    now: dt.datetime,
) -> tuple[Changeset | None, list[tuple[PersonalIdentityNumber, str]]]:
    """Remove every selected grant that still exists, each at the version loaded.

    :returns: the changeset (None when nothing is left to do) and the stale grants.
    :raises NotFound: ``unknown_clinic``.
    """
    _require_clinic(f for _, _, f in selected)
    guards: list[Precondition] = []
    writes: list[Write] = []
    drafts: list[EventDraft] = []
    stale: list[tuple[PersonalIdentityNumber, str]] = []
    for person, case_type_id, facts in selected:
        grant = facts.grant
        if grant is None:
            stale.append((person, case_type_id))
            continue
        key = GrantKey(clinic_id, person.digits, case_type_id)
        guards.append(MustHaveVersion(key, grant.version))
        writes.append(Delete(key))
        drafts.append(
            EventDraft(now, actor_id, Action.GRANT_REMOVED, clinic_id, person, case_type_id, snapshot(grant), None)
        )
    return _changeset(clinic_id, guards, writes, drafts), stale


def plan_grant_many(
    actor_id: str,
    clinic_id: str,
    case_type_id: str,
    selected: Sequence[Selected],
    until: dt.date | None,
    name_of: Callable[[PersonalIdentityNumber], str | None],
    now: dt.datetime,
    today: dt.date,
) -> tuple[Changeset | None, list[tuple[PersonalIdentityNumber, str]]]:
    """Grant the restricted case type to every selected resident who does not hold it yet.

    *selected* holds each resident's facts for ``case_type_id`` (so the clinic and the
    case type are in every one); ``name_of`` is asked for each new grant's name.

    :returns: the changeset (None when nothing is left to do) and the stale residents
        (who already hold the case type).
    :raises InvalidRequest: ``invalid_date``, ``end_date_in_past``, ``case_type_not_restricted``.
    :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
    """
    until = check_until(until, today)
    if not selected:
        return None, []
    first = selected[0][1]
    if first.clinic is None:
        raise refusals.unknown_clinic()
    if first.case_type is None:
        raise refusals.unknown_case_type()
    if not first.case_type.restricted:
        raise refusals.case_type_not_restricted()
    guards: list[Precondition] = [CaseTypeRestricted(CaseTypeKey(clinic_id, case_type_id))]
    writes: list[Write] = []
    drafts: list[EventDraft] = []
    stale: list[tuple[PersonalIdentityNumber, str]] = []
    for person, facts in selected:
        if facts.grant is not None:
            stale.append((person, case_type_id))
            continue
        name = name_of(person)
        grant = Grant(
            clinic_id, person, case_type_id, until, 1, now, actor_id, now, None if name is None else normalize(name)
        )
        guards.append(MustBeAbsent(GrantKey(clinic_id, person.digits, case_type_id)))
        writes.append(Put(grant))
        drafts.append(
            EventDraft(now, actor_id, Action.CASE_TYPE_GRANTED, clinic_id, person, case_type_id, None, snapshot(grant))
        )
    return _changeset(clinic_id, guards, writes, drafts), stale
