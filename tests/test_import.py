"""Bulk import through the service: what the conformance suite cannot see from a store."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from careaccess import Action, Actor, Approval, CaseType, Clinic, Event, Grant, InvalidRequest, connect, hookimpl
from careaccess.memory import MemoryStore
from careaccess.store import (
    MAX_IMPORT,
    CaseTypeKey,
    CaseTypeRestricted,
    Changeset,
    ClinicKey,
    MustBeAbsent,
    MustExist,
    Put,
    key_of,
)
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

ADMIN = Actor("admin", frozenset({"c1"}))
WHEN = dt.datetime(2025, 5, 1, 8, 0, tzinfo=dt.UTC)


def approvals(count: int) -> list[Approval]:
    births = [dt.date(1950, 1, 1) + dt.timedelta(days=i // 900) for i in range(count)]
    return [
        Approval("c1", make_pnr(f"{born:%Y%m%d}", 100 + i % 900), None, WHEN, "legacy") for i, born in enumerate(births)
    ]


def test_at_most_max_import_records_per_call() -> None:
    access = connect("memory://", clock=FrozenClock(WHEN))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    with pytest.raises(InvalidRequest) as refused:
        access.import_residents(ADMIN, "c1", approvals(MAX_IMPORT + 1))
    assert refused.value.code == "import_too_large"
    assert len(access.import_residents(ADMIN, "c1", approvals(MAX_IMPORT))) == MAX_IMPORT
    assert len(access.list_residents(ADMIN, "c1", limit=1000).items) == 1000


def test_only_approvals_and_grants_are_imported() -> None:
    access = connect("memory://", clock=FrozenClock(WHEN))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    with pytest.raises(InvalidRequest) as refused:
        access.import_residents(ADMIN, "c1", [CaseType("c1", "x", "X")])  # type: ignore[list-item]
    assert refused.value.code == "invalid_record"


def test_every_imported_event_is_told_after_commit() -> None:
    told: list[Event] = []

    class Listener:
        @hookimpl
        def careaccess_notify(self, event: Event) -> None:
            told.append(event)

    access = connect("memory://", plugins=[Listener()], clock=FrozenClock(WHEN))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    access.put_case_type(ADMIN, CaseType("c1", "kbt", "KBT", restricted=True))
    people = approvals(3)
    grant = Grant("c1", people[0].pnr, "kbt", None, 1, WHEN, "legacy", WHEN)
    told.clear()
    events = access.import_residents(ADMIN, "c1", people, [grant])
    assert told == events
    assert [e.action for e in told] == [Action.RESIDENT_APPROVED] * 3 + [Action.CASE_TYPE_GRANTED]


def test_an_import_is_one_changeset_of_the_clinic() -> None:
    seen: list[Changeset] = []

    class Recording(MemoryStore):
        def apply(self, changeset: Changeset) -> list[Event]:
            seen.append(changeset)
            return super().apply(changeset)

    access = connect(Recording(), clock=FrozenClock(WHEN))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    for kind in "ab":
        access.put_case_type(ADMIN, CaseType("c1", kind, kind.upper(), restricted=True))
    people = approvals(3)
    grants = [Grant("c1", p.pnr, t, None, 1, WHEN, "x", WHEN) for p, t in zip(people, "bab", strict=True)]
    records: list[Approval | Grant] = [*people, *grants]
    seen.clear()
    access.import_residents(ADMIN, "c1", people, grants)
    (changeset,) = seen
    assert changeset.clinic_id == "c1"
    assert changeset.preconditions == (
        MustExist(ClinicKey("c1")),
        CaseTypeRestricted(CaseTypeKey("c1", "a")),
        CaseTypeRestricted(CaseTypeKey("c1", "b")),
        *(MustBeAbsent(key_of(r)) for r in records),
    )
    assert changeset.writes == tuple(Put(r) for r in records)
    assert len(changeset.events) == 6


def test_imported_names_are_stored_normalized() -> None:
    access = connect("memory://", clock=FrozenClock(WHEN))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    (person,) = approvals(1)
    access.import_residents(ADMIN, "c1", [attrs.evolve(person, name="A\u030asa")])
    assert access.resident_access(ADMIN, "c1", person.pnr).name == "\u00c5sa"
