"""Store-level promises, checked by calling the store's methods directly."""

from __future__ import annotations

import pytest

from careaccess import (
    Action,
    Actor,
    CareAccess,
    CaseType,
    Clinic,
    Conflict,
)
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    Delete,
    EventDraft,
    FactsRequest,
    GrantKey,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
)
from careaccess.testing.conformance.fixtures import (
    ASA,
    C1,
    KAJSA,
    NILS,
    OPEN,
    RESTRICTED,
    RESTRICTED2,
    TOLVAN,
    ConformanceBase,
)


class StoreContractTests(ConformanceBase):
    """Store-level promises, checked by calling the store's methods directly."""

    # == atomicity at the store level ==================================================

    def _draft(self, access: CareAccess, clinic: str = C1) -> EventDraft:
        return EventDraft(access.now(), "admin-1", Action.RESIDENT_APPROVED, clinic, TOLVAN)

    def test_failed_precondition_writes_nothing(self, world: CareAccess, admin: Actor) -> None:
        grant = world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        world.approve_resident(admin, C1, TOLVAN)
        approval = Approval(C1, ASA, "Åsa", world.now(), "admin-1")
        failing: list[tuple[Precondition, str]] = [
            (MustExist(ApprovalKey(C1, NILS.digits)), "approval_missing"),
            (MustBeAbsent(ApprovalKey(C1, TOLVAN.digits)), "approval_exists"),
            (MustExist(ClinicKey("nowhere")), "clinic_missing"),
            (MustBeAbsent(ClinicKey(C1)), "clinic_exists"),
            (MustExist(CaseTypeKey(C1, "nothing")), "case_type_missing"),
            (MustBeAbsent(GrantKey(C1, KAJSA.digits, RESTRICTED)), "grant_exists"),
            (MustExist(GrantKey(C1, KAJSA.digits, RESTRICTED2)), "grant_missing"),
            (MustHaveVersion(GrantKey(C1, KAJSA.digits, RESTRICTED), grant.version + 1), "version_mismatch"),
            (MustHaveVersion(GrantKey(C1, ASA.digits, RESTRICTED), 1), "version_mismatch"),
            (CaseTypeUnused(CaseTypeKey(C1, RESTRICTED)), "case_type_in_use"),
            (CaseTypeRestricted(CaseTypeKey(C1, OPEN)), "case_type_not_restricted"),
            (CaseTypeRestricted(CaseTypeKey(C1, "nothing")), "case_type_not_restricted"),
        ]
        for precondition, code in failing:
            before = self.snapshot(world)
            holding: list[Precondition] = [MustExist(ClinicKey(C1)), MustBeAbsent(ApprovalKey(C1, ASA.digits))]
            changeset = Changeset(
                (*holding, precondition),
                (
                    Put(approval),
                    Delete(ApprovalKey(C1, TOLVAN.digits)),
                    Delete(GrantKey(C1, KAJSA.digits, RESTRICTED)),
                    Put(Clinic(C1, "Ändrad")),
                ),
                self._draft(world),
            )
            with pytest.raises(Conflict) as raised:
                world.store.apply(changeset)
            assert raised.value.code == code, precondition
            assert self.snapshot(world) == before, precondition

    def test_holding_preconditions_apply_all_writes(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        approval = Approval(C1, ASA, "Åsa", world.now(), "admin-1")
        event = world.store.apply(
            Changeset(
                (
                    MustExist(ClinicKey(C1)),
                    MustBeAbsent(ApprovalKey(C1, ASA.digits)),
                    MustHaveVersion(GrantKey(C1, KAJSA.digits, RESTRICTED), 1),
                    CaseTypeUnused(CaseTypeKey(C1, RESTRICTED2)),
                    CaseTypeRestricted(CaseTypeKey(C1, RESTRICTED)),
                ),
                (Put(approval), Delete(GrantKey(C1, KAJSA.digits, RESTRICTED))),
                self._draft(world),
            )
        )
        assert world.events()[-1] == event
        assert world.resident_access(admin, C1, ASA).approval == approval
        assert world.resident_access(admin, C1, KAJSA).grants == ()

    def test_load_facts(self, world: CareAccess, admin: Actor) -> None:
        approval = world.approve_resident(admin, C1, KAJSA)
        grant = world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        store = world.store
        facts = store.load_facts(FactsRequest(KAJSA.digits, C1, RESTRICTED))
        assert facts.clinic == world.clinic(C1)
        assert facts.case_type == CaseType(C1, RESTRICTED, "KBT-behandling", restricted=True)
        assert facts.grant == grant
        assert facts.approval in (approval, None)  # a store may skip it for restricted types
        open_facts = store.load_facts(FactsRequest(KAJSA.digits, C1, OPEN))
        assert open_facts.approval == approval
        assert open_facts.grant is None
        none = store.load_facts(FactsRequest(KAJSA.digits, "nowhere", OPEN))
        assert (none.clinic, none.case_type, none.approval, none.grant) == (None, None, None, None)
        requests = [FactsRequest(p.digits, C1, t) for p in (KAJSA, TOLVAN) for t in (OPEN, RESTRICTED, "x")]
        assert store.load_facts_many(requests) == [store.load_facts(r) for r in requests]
        # The parsed number, when given, changes nothing but the work.
        parsed = [r._replace(person=PersonalIdentityNumber.from_digits(r.pnr)) for r in requests]
        assert [store.load_facts(r) for r in parsed] == [store.load_facts(r) for r in requests]
        assert store.load_facts_many(parsed) == store.load_facts_many(requests)
