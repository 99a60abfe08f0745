"""Bulk import: many records and their events in one atomic step."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from careaccess import (
    Action,
    Actor,
    CareAccess,
    CaseType,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Reason,
)
from careaccess.models import Approval, Grant
from careaccess.store import (
    CaseTypeKey,
    CaseTypeRestricted,
    Changeset,
    ClinicKey,
    EventDraft,
    MustBeAbsent,
    MustExist,
    Precondition,
    Put,
    key_of,
)
from careaccess.testing.conformance.fixtures import (
    C1,
    C2,
    OPEN,
    RESTRICTED,
    ConformanceBase,
    at_local,
    everyone,
    make_pnr,
)


class ImportTests(ConformanceBase):
    """Bulk import: many records and their events in one atomic step."""

    # == bulk import ===================================================================

    @pytest.fixture
    def importing(self, world: CareAccess) -> CareAccess:
        return world

    @staticmethod
    def imported_records(count: int, clinic_id: str = C1) -> tuple[list[Approval], list[Grant]]:
        """*count* residents, each approved, every other one also granted (one expired)."""
        when = at_local(2025, 6, 1, 8, 0)
        approvals: list[Approval] = []
        grants: list[Grant] = []
        for index in range(count):
            person = make_pnr(f"19{50 + index // 300:02d}{1 + index // 28 % 12:02d}{1 + index % 28:02d}", 100 + index)
            name = f"Invånare {index} Åström"
            approvals.append(Approval(clinic_id, person, name, when, "legacy"))
            if index % 2 == 0:
                until = dt.date(2026, 1, 1) if index == 0 else None
                grants.append(Grant(clinic_id, person, RESTRICTED, until, 3, when, "legacy", when, name))
        return approvals, grants

    def test_import_writes_records_and_events(self, importing: CareAccess, admin: Actor) -> None:
        approvals, grants = self.imported_records(40)
        after = importing.events(limit=1000)[-1].id
        events = importing.import_residents(admin, C1, approvals, grants)
        assert [e.action for e in events] == [Action.RESIDENT_APPROVED] * 40 + [Action.CASE_TYPE_GRANTED] * 20
        assert importing.events(after=after, limit=1000) == events
        assert all(e.actor_id == admin.id and e.clinic_id == C1 and e.before is None for e in events)
        records: list[Approval | Grant] = [*approvals, *grants]
        assert [e.pnr for e in events] == [r.pnr for r in records]
        assert [e.case_type_id for e in events[40:]] == [RESTRICTED] * 20
        # Records keep their own history: times, authors, versions, end dates.
        listed = importing.list_residents(admin, C1, limit=1000).items
        assert [r.pnr for r in listed] == sorted(a.pnr for a in approvals)
        by_pnr = {r.pnr: r for r in listed}
        for approval in approvals:
            assert by_pnr[approval.pnr].approval == approval
            assert by_pnr[approval.pnr].name == approval.name
        for grant in grants:
            assert by_pnr[grant.pnr].grants == (grant,)
        first, second = grants[0], grants[1]
        assert importing.decide(first.pnr, C1, RESTRICTED).reason is Reason.GRANT_EXPIRED
        assert importing.decide(second.pnr, C1, RESTRICTED).reason is Reason.GRANTED
        assert importing.decide(approvals[1].pnr, C1, RESTRICTED).reason is Reason.NOT_GRANTED
        assert importing.decide(approvals[1].pnr, C2, OPEN).reason is Reason.NOT_APPROVED
        # Imported grants behave like any other: the version goes on from where it was.
        changed = importing.change_grant(admin, C1, second.pnr, RESTRICTED, until=None, expected_version=3)
        assert changed.version == 4

    def test_import_by_clinic_feed(self, importing: CareAccess, admin: Actor) -> None:
        approvals, grants = self.imported_records(6, C2)
        events = importing.import_residents(admin, C2, approvals, grants)
        feed = importing.events(clinic_id=C2, limit=1000)
        assert feed[-len(events) :] == events
        assert all(e.clinic_id == C1 for e in importing.events(clinic_id=C1, limit=1000))

    def test_import_conflict_writes_nothing(self, importing: CareAccess, admin: Actor) -> None:
        approvals, grants = self.imported_records(30)
        importing.approve_resident(admin, C1, approvals[17].pnr)
        before = self.snapshot(importing)
        with pytest.raises(Conflict) as raised:
            importing.import_residents(admin, C1, approvals, grants)
        assert raised.value.code == "approval_exists"
        assert self.snapshot(importing) == before

    def test_import_existing_grant_conflicts(self, importing: CareAccess, admin: Actor) -> None:
        approvals, grants = self.imported_records(10)
        importing.grant_case_type(admin, C1, grants[-1].pnr, RESTRICTED)
        before = self.snapshot(importing)
        with pytest.raises(Conflict) as raised:
            importing.import_residents(admin, C1, approvals, grants)
        assert raised.value.code == "grant_exists"
        assert self.snapshot(importing) == before

    def test_import_batch_preconditions_hold_in_the_store(self, importing: CareAccess, admin: Actor) -> None:
        # Checked by the store itself, for a caller racing a change of the case type.
        approvals, grants = self.imported_records(4)
        store = importing.store
        records: tuple[Approval | Grant, ...] = (*approvals, *grants)
        drafts = tuple(
            EventDraft(
                at_local(2026, 1, 15),
                admin.id,
                Action.RESIDENT_APPROVED if isinstance(r, Approval) else Action.CASE_TYPE_GRANTED,
                C1,
                r.pnr,
                getattr(r, "case_type_id", None),
            )
            for r in records
        )

        def planned(clinic_id: str, some: tuple[Approval | Grant, ...], events: tuple[EventDraft, ...]) -> Changeset:
            """What the core plans for an import: the store checks it, knowing no import rule."""
            kinds = sorted({r.case_type_id for r in some if isinstance(r, Grant)})
            guards: list[Precondition] = [MustExist(ClinicKey(clinic_id))]
            guards += [CaseTypeRestricted(CaseTypeKey(clinic_id, t)) for t in kinds]
            guards += [MustBeAbsent(key_of(r)) for r in some]
            return Changeset(clinic_id, tuple(guards), tuple(Put(r) for r in some), events)

        importing.put_case_type(admin, CaseType(C1, RESTRICTED, "Nu öppen", restricted=False))
        with pytest.raises(Conflict) as raised:
            store.apply(planned(C1, records, drafts))
        assert raised.value.code == "case_type_no_longer_restricted"
        importing.remove_case_type(admin, C1, RESTRICTED)
        with pytest.raises(Conflict) as raised:
            store.apply(planned(C1, records, drafts))
        assert raised.value.code == "case_type_no_longer_restricted"
        moved = tuple(attrs.evolve(r, clinic_id="gone") for r in approvals)
        gone_drafts = tuple(attrs.evolve(d, clinic_id="gone") for d in drafts[: len(moved)])
        with pytest.raises(Conflict) as raised:
            store.apply(planned("gone", moved, gone_drafts))
        assert raised.value.code == "clinic_missing"
        assert store.list_residents(everyone(C1)) == []
        assert importing.events(limit=1000)[-1].action is Action.CASE_TYPE_REMOVED

    def test_import_is_validated_and_authorized(self, importing: CareAccess, admin: Actor, outsider: Actor) -> None:
        approvals, grants = self.imported_records(4)
        before = self.snapshot(importing)
        with pytest.raises(PermissionDenied):
            importing.import_residents(outsider, C1, approvals, grants)
        with pytest.raises(NotFound) as unknown:
            importing.import_residents(admin, C1, (), [attrs.evolve(grants[0], case_type_id="nope")])
        assert unknown.value.code == "unknown_case_type"
        cases = {
            "case_type_not_restricted": ((), [attrs.evolve(grants[0], case_type_id=OPEN)]),
            "import_mixed_clinics": ([*approvals, attrs.evolve(approvals[0], clinic_id=C2)], ()),
            "import_duplicate": ([*approvals, approvals[2]], ()),
            "invalid_version": ((), [attrs.evolve(grants[0], version=0)]),
        }
        wrong: Any = (1.5, None, 5)  # values the types forbid, as an untyped caller may send
        for bad in (
            ("invalid_version", (), [attrs.evolve(grants[0], version=wrong[0])]),
            ("invalid_version", (), [attrs.evolve(grants[0], version=True)]),
            ("invalid_version", (), [attrs.evolve(grants[0], version=2**63)]),
            ("invalid_record", (), [attrs.evolve(grants[0], granted_by=wrong[1])]),
            ("invalid_record", [attrs.evolve(approvals[0], approved_by="")], ()),
            ("invalid_record", [attrs.evolve(approvals[0], name=wrong[2])], ()),
        ):
            with pytest.raises(InvalidRequest) as invalid:
                importing.import_residents(admin, C1, bad[1], bad[2])
            assert invalid.value.code == bad[0]
        for code, (some_approvals, some_grants) in cases.items():
            with pytest.raises(InvalidRequest) as invalid:
                importing.import_residents(admin, C1, some_approvals, some_grants)
            assert invalid.value.code == code
        assert self.snapshot(importing) == before
        assert importing.import_residents(admin, C1) == []
