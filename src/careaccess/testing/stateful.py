"""A stateful model check for any Store: random workflows beside a plain reference model.

:class:`CareAccessMachine` drives a store through the public API — approve, revoke,
grant, change, remove, put and remove case types, import in bulk (on stores that can),
move the clock — and keeps a
deliberately plain model of what must be true, written from DESIGN.md without using
the core's decision code. After every step it checks that decisions, the resident list
(paged) and the event feed agree with the model.

Use it for a backend by subclassing and giving a store factory::

    from careaccess.testing.stateful import CareAccessMachine

    class MyStoreMachine(CareAccessMachine):
        def make_store(self):
            return MyStore("...")

    TestMyStore = MyStoreMachine.TestCase
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from careaccess.directory import StaticDirectory
from careaccess.errors import CareAccessError
from careaccess.identity import PersonalIdentityNumber
from careaccess.memory import MemoryStore
from careaccess.models import Actor, Approval, AreaRule, CaseType, Clinic, Grant, Residence, Resident, ServiceArea
from careaccess.service import CareAccess, connect
from careaccess.store import Store
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

__all__ = ["CareAccessMachine"]

ZONE = ZoneInfo("Europe/Stockholm")
START = dt.datetime(2026, 3, 27, 21, 0, tzinfo=dt.UTC)  # two days before daylight saving time starts
CLINICS = ("c-area", "c-plain")
CASE_TYPES = ("open-a", "open-b", "restr-a", "restr-b")
PEOPLE = (
    (make_pnr("19121212", 121), Residence("01", "0180")),  # man, in the area
    (make_pnr("19800314", 242), Residence("03", "0380")),  # woman, outside it
    (make_pnr("20080410", 353), Residence("01", "0114")),  # turns 18 in April 2026: leaves the area rule
    (make_pnr("19700175", 464), None),  # coordination number, residence unknown
)
ADMIN = Actor("admin", frozenset(CLINICS))
AREA = ServiceArea((AreaRule(region="01", max_age=17), AreaRule(region="01", municipality="0180")))

people = st.sampled_from([p for p, _ in PEOPLE])
clinics = st.sampled_from(CLINICS)
case_types = st.sampled_from(CASE_TYPES)
ends = st.none() | st.integers(-2, 40)  # days from today: negative ones must be refused


class CareAccessMachine(RuleBasedStateMachine):
    """Random workflows on a real store, checked against a plain model after every step."""

    def make_store(self) -> Store:
        """A fresh, empty store. Subclasses override this."""
        return MemoryStore()

    def close_store(self, store: Store) -> None:
        """Release the store after a run (override to also drop test data)."""
        store.close()

    def __init__(self) -> None:
        super().__init__()
        self.clock = FrozenClock(START)
        directory = StaticDirectory(Resident(p, f"Invånare {i}", r) for i, (p, r) in enumerate(PEOPLE))
        self.store = self.make_store()
        self.access: CareAccess = connect(self.store, plugins=[directory], clock=self.clock)
        # The model: plain dicts of what must be stored.
        self.restricted: dict[tuple[str, str], bool] = {}
        self.approved: set[tuple[str, str]] = set()
        self.grants: dict[tuple[str, str, str], tuple[dt.date | None, int]] = {}
        self.log: list[tuple[str, str, str | None, str | None]] = []
        for clinic in CLINICS:
            self.access.put_clinic(ADMIN, Clinic(clinic, clinic, AREA if clinic == "c-area" else ServiceArea()))
            self.log.append(("clinic_saved", clinic, None, None))
            for case_type in CASE_TYPES:
                restricted = case_type.startswith("restr")
                self.access.put_case_type(ADMIN, CaseType(clinic, case_type, case_type, restricted=restricted))
                self.restricted[clinic, case_type] = restricted
                self.log.append(("case_type_saved", clinic, None, case_type))

    def teardown(self) -> None:
        self.close_store(self.store)

    # -- helpers -----------------------------------------------------------------------

    def today(self) -> dt.date:
        return self.clock().astimezone(ZONE).date()

    def expect(self, code: str | None, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Run *call*; it must fail with *code*, or succeed when *code* is None."""
        try:
            result = call(*args, **kwargs)
        except CareAccessError as error:
            # Not pytest.raises: the model decides at run time whether a call must fail.
            assert code is not None, f"unexpected {error!r}"  # noqa: PT017
            assert error.code == code, f"expected {code}, got {error!r}"  # noqa: PT017
            return None
        assert code is None, f"expected {code}, but it succeeded"
        return result

    def until(self, offset: int | None) -> dt.date | None:
        return None if offset is None else self.today() + dt.timedelta(days=offset)

    def grant_check(self, clinic: str, pnr: PersonalIdentityNumber, case_type: str) -> str | None:
        if (clinic, case_type) not in self.restricted:
            return "unknown_case_type"
        if (clinic, pnr.digits, case_type) not in self.grants:
            return "grant_not_found"
        return None

    # -- rules -------------------------------------------------------------------------

    @rule(clinic=clinics, pnr=people)
    def approve(self, clinic: str, pnr: PersonalIdentityNumber) -> None:
        self.expect(None, self.access.approve_resident, ADMIN, clinic, pnr)
        if (clinic, pnr.digits) not in self.approved:
            self.approved.add((clinic, pnr.digits))
            self.log.append(("resident_approved", clinic, pnr.digits, None))

    @rule(clinic=clinics, pnr=people)
    def revoke(self, clinic: str, pnr: PersonalIdentityNumber) -> None:
        known = (clinic, pnr.digits) in self.approved
        self.expect(None if known else "approval_not_found", self.access.revoke_approval, ADMIN, clinic, pnr)
        if known:
            self.approved.discard((clinic, pnr.digits))
            self.log.append(("approval_revoked", clinic, pnr.digits, None))

    @rule(clinic=clinics, pnr=people, case_type=case_types, offset=ends)
    def grant(self, clinic: str, pnr: PersonalIdentityNumber, case_type: str, offset: int | None) -> None:
        until = self.until(offset)
        code = None
        if until is not None and until < self.today():
            code = "end_date_in_past"
        elif (clinic, case_type) not in self.restricted:
            code = "unknown_case_type"
        elif not self.restricted[clinic, case_type]:
            code = "case_type_not_restricted"
        elif (clinic, pnr.digits, case_type) in self.grants:
            code = "grant_exists"
        self.expect(code, self.access.grant_case_type, ADMIN, clinic, pnr, case_type, until=until)
        if code is None:
            self.grants[clinic, pnr.digits, case_type] = (until, 1)
            self.log.append(("case_type_granted", clinic, pnr.digits, case_type))

    @rule(
        clinic=clinics,
        pnr=people,
        case_type=case_types,
        offset=ends,
        stale=st.sampled_from([None, "current", "stale"]),
    )
    def change(
        self, clinic: str, pnr: PersonalIdentityNumber, case_type: str, offset: int | None, stale: str | None
    ) -> None:
        until = self.until(offset)
        current = self.grants.get((clinic, pnr.digits, case_type))
        version = None if current is None or stale is None else current[1] + (stale == "stale")
        code = None
        if until is not None and until < self.today():
            code = "end_date_in_past"
        elif current is None:
            code = "grant_not_found"
        elif stale == "stale":
            code = "version_mismatch"
        changed = self.expect(
            code, self.access.change_grant, ADMIN, clinic, pnr, case_type, until=until, expected_version=version
        )
        if code is None:
            assert current is not None
            assert changed.version == current[1] + 1
            self.grants[clinic, pnr.digits, case_type] = (until, current[1] + 1)
            self.log.append(("grant_changed", clinic, pnr.digits, case_type))

    @rule(clinic=clinics, pnr=people, case_type=case_types)
    def remove_grant(self, clinic: str, pnr: PersonalIdentityNumber, case_type: str) -> None:
        code = "grant_not_found" if (clinic, pnr.digits, case_type) not in self.grants else None
        self.expect(code, self.access.remove_grant, ADMIN, clinic, pnr, case_type)
        if code is None:
            del self.grants[clinic, pnr.digits, case_type]
            self.log.append(("grant_removed", clinic, pnr.digits, case_type))

    @rule(clinic=clinics, case_type=case_types, restricted=st.booleans())
    def put_case_type(self, clinic: str, case_type: str, restricted: bool) -> None:
        before = self.restricted.get((clinic, case_type))
        in_use = any(k[0] == clinic and k[2] == case_type for k in self.grants)
        code = "case_type_in_use" if in_use and not restricted and before is not False else None
        self.expect(code, self.access.put_case_type, ADMIN, CaseType(clinic, case_type, case_type, restricted))
        if code is None and before != restricted:
            self.restricted[clinic, case_type] = restricted
            self.log.append(("case_type_saved", clinic, None, case_type))

    @rule(clinic=clinics, case_type=case_types)
    def remove_case_type(self, clinic: str, case_type: str) -> None:
        code = None
        if (clinic, case_type) not in self.restricted:
            code = "unknown_case_type"
        elif any(k[0] == clinic and k[2] == case_type for k in self.grants):
            code = "case_type_in_use"
        self.expect(code, self.access.remove_case_type, ADMIN, clinic, case_type)
        if code is None:
            del self.restricted[clinic, case_type]
            self.log.append(("case_type_removed", clinic, None, case_type))

    @rule(
        clinic=clinics,
        approve=st.lists(people, max_size=2, unique=True),
        grant=st.dictionaries(st.tuples(people, case_types), st.tuples(ends, st.integers(1, 3)), max_size=2),
    )
    def import_residents(
        self,
        clinic: str,
        approve: list[PersonalIdentityNumber],
        grant: dict[tuple[PersonalIdentityNumber, str], tuple[int | None, int]],
    ) -> None:
        now = self.clock()
        approvals = [Approval(clinic, p, "Importerad", now, "legacy") for p in approve]
        # Imported grants keep their end date, even one already passed.
        grants = [
            Grant(clinic, p, t, self.until(offset), version, now, "legacy", now, "Importerad")
            for (p, t), (offset, version) in grant.items()
        ]
        codes: set[str] = set()
        for g in grants:
            if (clinic, g.case_type_id) not in self.restricted:
                codes = {"unknown_case_type"}
                break
            if not self.restricted[clinic, g.case_type_id]:
                codes = {"case_type_not_restricted"}
                break
        else:
            if any((clinic, a.pnr.digits) in self.approved for a in approvals):
                codes.add("approval_exists")
            if any((clinic, g.pnr.digits, g.case_type_id) in self.grants for g in grants):
                codes.add("grant_exists")
        try:
            self.access.import_residents(ADMIN, clinic, approvals, grants)
        except CareAccessError as error:
            assert error.code in codes, f"expected one of {codes}, got {error!r}"  # noqa: PT017
            return
        assert not codes, f"expected one of {codes}, but it succeeded"
        for a in approvals:
            self.approved.add((clinic, a.pnr.digits))
            self.log.append(("resident_approved", clinic, a.pnr.digits, None))
        for g in grants:
            self.grants[clinic, g.pnr.digits, g.case_type_id] = (g.until, g.version)
            self.log.append(("case_type_granted", clinic, g.pnr.digits, g.case_type_id))

    @rule(hours=st.sampled_from([1, 5, 23, 24, 24 * 7, 24 * 30]))
    def advance_clock(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @precondition(lambda self: self.clock() > START)
    @rule()
    def step_back_to_a_midnight(self) -> None:
        # Exactly local midnight: the first instant a grant ending yesterday has expired.
        local = self.clock().astimezone(ZONE)
        self.clock.set(local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC))

    # -- the reference decision ---------------------------------------------------------

    def expected_reason(self, pnr: PersonalIdentityNumber, clinic: str, case_type: str) -> str:
        if (clinic, case_type) not in self.restricted:
            return "unknown_case_type"
        today = self.today()
        if self.restricted[clinic, case_type]:
            held = self.grants.get((clinic, pnr.digits, case_type))
            if held is None:
                return "not_granted"
            return "granted" if held[0] is None or today <= held[0] else "grant_expired"
        if (clinic, pnr.digits) in self.approved:
            return "approved"
        residence = dict(PEOPLE)[pnr]
        if clinic == "c-area" and residence is not None and residence.region == "01":
            born = pnr.birth_date
            age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
            if age <= 17 or residence.municipality == "0180":
                return "service_area"
        return "not_approved"

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def decisions_agree(self) -> None:
        requests = [(p, c, t) for p, _ in PEOPLE for c in CLINICS for t in CASE_TYPES]
        for decision, (pnr, clinic, case_type) in zip(self.access.decide_many(requests), requests, strict=True):
            expected = self.expected_reason(pnr, clinic, case_type)
            assert decision.reason == expected, (clinic, case_type, decision, self.grants)
        single = self.access.decide(PEOPLE[0][0], CLINICS[0], CASE_TYPES[2])
        assert single.reason == self.expected_reason(PEOPLE[0][0], CLINICS[0], CASE_TYPES[2])

    @invariant()
    def resident_pages_agree(self) -> None:
        for clinic in CLINICS:
            listed: list[str] = []
            cursor = None
            while True:
                page = self.access.list_residents(ADMIN, clinic, limit=2, cursor=cursor)
                for item in page.items:
                    listed.append(item.pnr.digits)
                    assert (item.approval is not None) == ((clinic, item.pnr.digits) in self.approved)
                    held = {k[2]: v for k, v in self.grants.items() if k[0] == clinic and k[1] == item.pnr.digits}
                    assert {g.case_type_id: (g.until, g.version) for g in item.grants} == held
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            expected = {p for c, p in self.approved if c == clinic} | {p for c, p, _ in self.grants if c == clinic}
            assert listed == sorted(expected)

    @invariant()
    def event_feed_agrees(self) -> None:
        events = []
        after = None
        while batch := self.access.events(after=after, limit=50):
            events.extend(batch)
            after = batch[-1].id
        seen = [(e.action.value, e.clinic_id, e.pnr.digits if e.pnr else None, e.case_type_id) for e in events]
        assert seen == self.log

    @invariant()
    def clinics_for_agrees(self) -> None:
        """The resident's side: for everyone the feed names, clinics_for is decide on every clinic and case type."""
        people: dict[str, PersonalIdentityNumber] = {}
        after = None
        while batch := self.access.events(after=after, limit=500):
            people.update((e.pnr.digits, e.pnr) for e in batch if e.pnr is not None)
            after = batch[-1].id
        kinds = [(c.id, t.id) for c in self.access.list_clinics(limit=1000).items for t in self.access.case_types(c.id)]
        for pnr in people.values():
            found = self.access.clinics_for(pnr)
            listed = {(a.clinic.id, d.case_type_id): d for a in found for d in a.decisions}
            decided = dict(zip(kinds, self.access.decide_many([(pnr, c, t) for c, t in kinds]), strict=True))
            assert listed == {kind: d for kind, d in decided.items() if d.allowed}
