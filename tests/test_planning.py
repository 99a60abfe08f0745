"""Change planning without a store: facts and a request in, a changeset or a refusal out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from careaccess import Action, Approval, CaseType, Clinic, Conflict, Grant, InvalidRequest, NotFound
from careaccess import planning as p
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
    GrantKey,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Put,
)
from careaccess.testing.conformance import make_pnr

NOW = dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 1)
PERSON = make_pnr("19800314", 242)
CLINIC = Clinic("c1", "Vårdcentralen")
OPEN = CaseType("c1", "open", "Fråga")
KBT = CaseType("c1", "kbt", "KBT", restricted=True)
APPROVAL = Approval("c1", PERSON, "Åsa", NOW, "admin")
GRANT = Grant("c1", PERSON, "kbt", None, 3, NOW, "admin", NOW, "Åsa")
NO_NAME = lambda: None  # noqa: E731 -- a directory that knows nobody


def facts(**given: Any) -> DecisionFacts:
    return DecisionFacts(given.get("clinic"), given.get("case_type"), given.get("approval"), given.get("grant"))


def refused(kind: type[Exception], code: str, plan: Any, *args: Any) -> None:
    with pytest.raises(kind) as raised:
        plan(*args)
    assert getattr(raised.value, "code", None) == code


def test_put_clinic_new_changed_and_unchanged() -> None:
    new = p.plan_put_clinic("admin", None, CLINIC, NOW)
    assert new is not None
    assert new.preconditions == (MustBeAbsent(ClinicKey("c1")),)
    assert new.writes == (Put(CLINIC),)
    assert [(e.action, e.before, e.actor_id) for e in new.events] == [(Action.CLINIC_SAVED, None, "admin")]
    renamed = attrs.evolve(CLINIC, name="Nytt")
    changed = p.plan_put_clinic("admin", CLINIC, renamed, NOW)
    assert changed is not None
    assert changed.preconditions == (MustExist(ClinicKey("c1")),)
    assert p.plan_put_clinic("admin", CLINIC, CLINIC, NOW) is None


def test_opening_a_case_type_requires_it_unused() -> None:
    opened = p.plan_put_case_type("admin", CLINIC, KBT, attrs.evolve(KBT, restricted=False), NOW)
    assert opened is not None
    assert CaseTypeUnused(CaseTypeKey("c1", "kbt")) in opened.preconditions
    restricted = p.plan_put_case_type("admin", CLINIC, None, KBT, NOW)
    assert restricted is not None
    assert restricted.preconditions == (MustExist(ClinicKey("c1")), MustBeAbsent(CaseTypeKey("c1", "kbt")))
    assert p.plan_put_case_type("admin", CLINIC, KBT, KBT, NOW) is None
    refused(NotFound, "unknown_clinic", p.plan_put_case_type, "admin", None, None, KBT, NOW)


def test_remove_case_type() -> None:
    removed = p.plan_remove_case_type("admin", CLINIC, KBT, "kbt", NOW)
    key = CaseTypeKey("c1", "kbt")
    assert (removed.preconditions, removed.writes) == ((MustExist(key), CaseTypeUnused(key)), (Delete(key),))
    refused(NotFound, "unknown_clinic", p.plan_remove_case_type, "admin", None, None, "kbt", NOW)
    refused(NotFound, "unknown_case_type", p.plan_remove_case_type, "admin", CLINIC, None, "kbt", NOW)


def test_approve_is_idempotent_and_asks_the_name_only_when_needed() -> None:
    asked: list[str] = []

    def name_of() -> str:
        asked.append("asked")
        return "A\u030asa"  # decomposed: stored composed

    assert p.plan_approve("admin", facts(clinic=CLINIC, approval=APPROVAL), "c1", PERSON, name_of, NOW) is APPROVAL
    assert asked == []
    planned = p.plan_approve("admin", facts(clinic=CLINIC), "c1", PERSON, name_of, NOW)
    assert isinstance(planned, Changeset)
    assert asked == ["asked"]
    (write,) = planned.writes
    assert write == Put(Approval("c1", PERSON, "\u00c5sa", NOW, "admin"))
    assert planned.preconditions == (MustExist(ClinicKey("c1")), MustBeAbsent(ApprovalKey("c1", PERSON.digits)))
    assert planned.events[0].pnr == PERSON
    assert planned.events[0].after is not None
    assert "pnr" not in planned.events[0].after
    refused(NotFound, "unknown_clinic", p.plan_approve, "admin", facts(), "c1", PERSON, NO_NAME, NOW)


def test_revoke() -> None:
    planned = p.plan_revoke_approval("admin", facts(clinic=CLINIC, approval=APPROVAL), "c1", PERSON, NOW)
    key = ApprovalKey("c1", PERSON.digits)
    assert (planned.preconditions, planned.writes) == ((MustExist(key),), (Delete(key),))
    assert planned.events[0].before is not None
    refused(NotFound, "approval_not_found", p.plan_revoke_approval, "admin", facts(clinic=CLINIC), "c1", PERSON, NOW)


def test_grant_rules_in_order() -> None:
    def plan(known: DecisionFacts, until: dt.date | None = None, case_type_id: str = "kbt") -> Changeset:
        return p.plan_grant("admin", known, "c1", PERSON, case_type_id, until, NO_NAME, NOW, TODAY)

    granted = plan(facts(clinic=CLINIC, case_type=KBT), until=TODAY)
    key = GrantKey("c1", PERSON.digits, "kbt")
    assert granted.preconditions == (CaseTypeRestricted(CaseTypeKey("c1", "kbt")), MustBeAbsent(key))
    assert granted.writes == (Put(Grant("c1", PERSON, "kbt", TODAY, 1, NOW, "admin", NOW, None)),)
    yesterday = TODAY - dt.timedelta(days=1)
    refused(InvalidRequest, "end_date_in_past", plan, facts(), yesterday)  # dates first
    refused(InvalidRequest, "invalid_date", plan, facts(), NOW)
    refused(NotFound, "unknown_clinic", plan, facts())
    refused(NotFound, "unknown_case_type", plan, facts(clinic=CLINIC))
    refused(InvalidRequest, "case_type_not_restricted", plan, facts(clinic=CLINIC, case_type=OPEN), None, "open")
    refused(Conflict, "grant_exists", plan, facts(clinic=CLINIC, case_type=KBT, grant=GRANT))


def test_change_and_remove_grant() -> None:
    changed = p.plan_change_grant("admin", GRANT, TODAY, 3, NOW, TODAY)
    key = GrantKey("c1", PERSON.digits, "kbt")
    assert changed.preconditions == (MustHaveVersion(key, 3),)
    assert changed.writes == (Put(attrs.evolve(GRANT, until=TODAY, version=4, changed_at=NOW)),)
    assert p.plan_change_grant("admin", GRANT, None, None, NOW, TODAY).events[0].action is Action.GRANT_CHANGED
    refused(Conflict, "version_mismatch", p.plan_change_grant, "admin", GRANT, None, 2, NOW, TODAY)
    refused(NotFound, "grant_not_found", p.plan_change_grant, "admin", None, None, None, NOW, TODAY)
    last = attrs.evolve(GRANT, version=MAX_VERSION)
    refused(InvalidRequest, "invalid_version", p.plan_change_grant, "admin", last, None, None, NOW, TODAY)
    removed = p.plan_remove_grant("admin", GRANT, None, NOW)
    assert (removed.preconditions, removed.writes) == ((MustHaveVersion(key, 3),), (Delete(key),))
    refused(Conflict, "version_mismatch", p.plan_remove_grant, "admin", GRANT, 4, NOW)
    refused(NotFound, "grant_not_found", p.plan_remove_grant, "admin", None, None, NOW)


@pytest.mark.parametrize("version", [0, -1, MAX_VERSION + 1, 2**63, True, 1.0, "3"])
def test_versions_outside_the_range_are_refused(version: object) -> None:
    refused(InvalidRequest, "invalid_version", p.check_version, version)
    refused(InvalidRequest, "invalid_version", p.plan_remove_grant, "admin", GRANT, version, NOW)


@given(st.integers(1, MAX_VERSION))
def test_versions_in_the_range_are_kept(version: int) -> None:
    assert p.check_version(version) == version


def test_import_plan() -> None:
    other = make_pnr("19121212", 121)
    approvals = [APPROVAL, attrs.evolve(APPROVAL, pnr=other, name="O\u0308lle")]
    grants = [GRANT]
    planned = p.plan_import("admin", CLINIC, [OPEN, KBT], [*approvals, *grants], NOW)
    assert planned is not None
    assert planned.preconditions[:2] == (MustExist(ClinicKey("c1")), CaseTypeRestricted(CaseTypeKey("c1", "kbt")))
    assert len(planned.preconditions) == 2 + 3
    assert [w.record.name for w in planned.writes if isinstance(w, Put)] == ["Åsa", "\u00d6lle", "Åsa"]
    assert [e.action for e in planned.events] == [Action.RESIDENT_APPROVED] * 2 + [Action.CASE_TYPE_GRANTED]
    assert p.plan_import("admin", CLINIC, [], [], NOW) is None
    cases: list[tuple[type[Exception], str, Any, list[Any]]] = [
        (NotFound, "unknown_clinic", None, [APPROVAL]),
        (InvalidRequest, "import_duplicate", CLINIC, [APPROVAL, APPROVAL]),
        (InvalidRequest, "import_mixed_clinics", CLINIC, [attrs.evolve(APPROVAL, clinic_id="c2")]),
        (InvalidRequest, "invalid_record", CLINIC, [OPEN]),
        (InvalidRequest, "invalid_record", CLINIC, [attrs.evolve(APPROVAL, approved_by="x" * 201)]),
        (InvalidRequest, "invalid_version", CLINIC, [attrs.evolve(GRANT, version=MAX_VERSION + 1)]),
        (NotFound, "unknown_case_type", CLINIC, [attrs.evolve(GRANT, case_type_id="x")]),
        (InvalidRequest, "case_type_not_restricted", CLINIC, [attrs.evolve(GRANT, case_type_id="open")]),
        (InvalidRequest, "import_too_large", CLINIC, [APPROVAL] * (MAX_IMPORT + 1)),
    ]
    for kind, code, clinic, records in cases:
        refused(kind, code, p.plan_import, "admin", clinic, [OPEN, KBT], records, NOW)


def test_a_changeset_is_of_one_clinic_and_bounded() -> None:
    planned = p.plan_put_clinic("admin", None, CLINIC, NOW)
    assert planned is not None
    for code, change in [
        ("changeset_spans_clinics", {"clinic_id": "c2"}),
        ("changeset_spans_clinics", {"writes": (Put(Clinic("c2", "x")),)}),
        ("changeset_spans_clinics", {"preconditions": (MustExist(ClinicKey("c2")),)}),
        ("changeset_without_event", {"events": ()}),
        ("changeset_too_large", {"writes": (Put(CLINIC),) * 5001}),
    ]:
        refused(InvalidRequest, code, lambda change=change: attrs.evolve(planned, **change))
