"""A stateful model check for any Store: random workflows beside a plain reference model.

:class:`CareAccessMachine` drives a store through the public API — approve, revoke,
grant, change, remove, put and remove case types, import in bulk,
move the clock — and keeps a
deliberately plain model of what must be true, written from DESIGN.md without using
the core's decision code. After every step it checks that decisions, the resident list
(paged, and searched by name, birth date and last four digits) and the event feed agree
with the model.

Each run draws its cast from :mod:`careaccess.testing.adversarial`: residents who share a
birth date, the last four digits or the 10 digits a century apart, a coordination number
beside the person born 60 days earlier in the day's numbering, clinic and case-type ids
that are prefixes, case variants and look-alikes of one another, and names that differ
only by case folding or normalization (beside look-alike names that must not match).

Use it for a backend by subclassing and giving a store factory::

    from careaccess.testing.stateful import CareAccessMachine

    class MyStoreMachine(CareAccessMachine):
        def make_store(self):
            return MyStore("...")

    TestMyStore = MyStoreMachine.TestCase
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from careaccess.directory import StaticDirectory
from careaccess.errors import CareAccessError
from careaccess.identity import PersonalIdentityNumber
from careaccess.memory import MemoryStore
from careaccess.models import Actor, Approval, AreaRule, CaseType, Clinic, Grant, Residence, Resident, ServiceArea
from careaccess.service import CareAccess, connect
from careaccess.store import Store
from careaccess.testing.adversarial import NameFamily, colliding_identity_numbers, colliding_ids, colliding_names
from careaccess.testing.clock import FrozenClock

__all__ = ["CareAccessMachine"]

ZONE = ZoneInfo("Europe/Stockholm")
START = dt.datetime(2026, 3, 27, 21, 0, tzinfo=dt.UTC)  # two days before daylight saving time starts
#: Residences handed out to the drawn residents in turn: in the area, outside it, in the
#: area's region but another municipality, unknown.
RESIDENCES = (Residence("01", "0180"), Residence("03", "0380"), Residence("01", "0114"), None)
AREA = ServiceArea((AreaRule(region="01", max_age=17), AreaRule(region="01", municipality="0180")))

#: Rules pick residents, clinics and case types by index into what the run drew.
people = st.integers(0, 5)
clinics = st.integers(0, 1)
case_types = st.integers(0, 3)
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
        self.directory = StaticDirectory()
        self.store = self.make_store()
        self.access: CareAccess = connect(self.store, plugins=[self.directory], clock=self.clock)
        # The model: plain dicts of what must be stored.
        self.restricted: dict[tuple[str, str], bool] = {}
        self.approved: set[tuple[str, str]] = set()
        self.grants: dict[tuple[str, str, str], tuple[dt.date | None, int]] = {}
        self.log: list[tuple[str, str, str | None, str | None]] = []
        # The cast, drawn by `cast` below.
        self.people: list[PersonalIdentityNumber] = []
        self.residence: dict[str, Residence | None] = {}
        self.clinic_ids: list[str] = []
        self.case_type_ids: list[str] = []
        self.family = NameFamily((), "", ())
        self.name: dict[str, str] = {}
        self.admin = Actor("admin", frozenset())

    @initialize(
        numbers=colliding_identity_numbers(min_size=4, max_size=6, today=START.date()),
        clinic_ids=colliding_ids(min_size=2, max_size=2),
        case_type_ids=colliding_ids(min_size=4, max_size=4),
        family=colliding_names(),
    )
    def cast(
        self,
        numbers: list[PersonalIdentityNumber],
        clinic_ids: list[str],
        case_type_ids: list[str],
        family: NameFamily,
    ) -> None:
        self.people = numbers
        self.clinic_ids = clinic_ids
        self.case_type_ids = case_type_ids
        self.family = family
        names = [*family.names, *family.strangers]
        for index, pnr in enumerate(numbers):
            self.residence[pnr.digits] = RESIDENCES[index % len(RESIDENCES)]
            self.name[pnr.digits] = unicodedata.normalize("NFC", names[index % len(names)])
            self.directory.add(Resident(pnr, names[index % len(names)], self.residence[pnr.digits]))
        self.admin = Actor("admin", frozenset(clinic_ids))
        for index, clinic in enumerate(clinic_ids):
            self.access.put_clinic(self.admin, Clinic(clinic, clinic, AREA if index == 0 else ServiceArea()))
            self.log.append(("clinic_saved", clinic, None, None))
            for position, case_type in enumerate(case_type_ids):
                restricted = position % 2 == 1  # ids that nearly collide differ in kind too
                self.access.put_case_type(self.admin, CaseType(clinic, case_type, case_type, restricted=restricted))
                self.restricted[clinic, case_type] = restricted
                self.log.append(("case_type_saved", clinic, None, case_type))

    def teardown(self) -> None:
        self.close_store(self.store)

    # -- helpers -----------------------------------------------------------------------

    def person(self, who: int) -> PersonalIdentityNumber:
        return self.people[who % len(self.people)]

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

    @rule(clinic_at=clinics, who=people)
    def approve(self, clinic_at: int, who: int) -> None:
        clinic, pnr = self.clinic_ids[clinic_at], self.person(who)
        self.expect(None, self.access.approve_resident, self.admin, clinic, pnr)
        if (clinic, pnr.digits) not in self.approved:
            self.approved.add((clinic, pnr.digits))
            self.log.append(("resident_approved", clinic, pnr.digits, None))

    @rule(clinic_at=clinics, who=people)
    def revoke(self, clinic_at: int, who: int) -> None:
        clinic, pnr = self.clinic_ids[clinic_at], self.person(who)
        known = (clinic, pnr.digits) in self.approved
        self.expect(None if known else "approval_not_found", self.access.revoke_approval, self.admin, clinic, pnr)
        if known:
            self.approved.discard((clinic, pnr.digits))
            self.log.append(("approval_revoked", clinic, pnr.digits, None))

    @rule(clinic_at=clinics, who=people, kind=case_types, offset=ends)
    def grant(self, clinic_at: int, who: int, kind: int, offset: int | None) -> None:
        clinic, pnr, case_type = self.clinic_ids[clinic_at], self.person(who), self.case_type_ids[kind]
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
        self.expect(code, self.access.grant_case_type, self.admin, clinic, pnr, case_type, until=until)
        if code is None:
            self.grants[clinic, pnr.digits, case_type] = (until, 1)
            self.log.append(("case_type_granted", clinic, pnr.digits, case_type))

    @rule(
        clinic_at=clinics,
        who=people,
        kind=case_types,
        offset=ends,
        stale=st.sampled_from([None, "current", "stale"]),
    )
    def change(self, clinic_at: int, who: int, kind: int, offset: int | None, stale: str | None) -> None:
        clinic, pnr, case_type = self.clinic_ids[clinic_at], self.person(who), self.case_type_ids[kind]
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
            code, self.access.change_grant, self.admin, clinic, pnr, case_type, until=until, expected_version=version
        )
        if code is None:
            assert current is not None
            assert changed.version == current[1] + 1
            self.grants[clinic, pnr.digits, case_type] = (until, current[1] + 1)
            self.log.append(("grant_changed", clinic, pnr.digits, case_type))

    @rule(clinic_at=clinics, who=people, kind=case_types)
    def remove_grant(self, clinic_at: int, who: int, kind: int) -> None:
        clinic, pnr, case_type = self.clinic_ids[clinic_at], self.person(who), self.case_type_ids[kind]
        code = "grant_not_found" if (clinic, pnr.digits, case_type) not in self.grants else None
        self.expect(code, self.access.remove_grant, self.admin, clinic, pnr, case_type)
        if code is None:
            del self.grants[clinic, pnr.digits, case_type]
            self.log.append(("grant_removed", clinic, pnr.digits, case_type))

    @rule(clinic_at=clinics, kind=case_types, restricted=st.booleans())
    def put_case_type(self, clinic_at: int, kind: int, restricted: bool) -> None:
        clinic, case_type = self.clinic_ids[clinic_at], self.case_type_ids[kind]
        before = self.restricted.get((clinic, case_type))
        in_use = any(k[0] == clinic and k[2] == case_type for k in self.grants)
        code = "case_type_in_use" if in_use and not restricted and before is not False else None
        self.expect(code, self.access.put_case_type, self.admin, CaseType(clinic, case_type, case_type, restricted))
        if code is None and before != restricted:
            self.restricted[clinic, case_type] = restricted
            self.log.append(("case_type_saved", clinic, None, case_type))

    @rule(clinic_at=clinics, kind=case_types)
    def remove_case_type(self, clinic_at: int, kind: int) -> None:
        clinic, case_type = self.clinic_ids[clinic_at], self.case_type_ids[kind]
        code = None
        if (clinic, case_type) not in self.restricted:
            code = "unknown_case_type"
        elif any(k[0] == clinic and k[2] == case_type for k in self.grants):
            code = "case_type_in_use"
        self.expect(code, self.access.remove_case_type, self.admin, clinic, case_type)
        if code is None:
            del self.restricted[clinic, case_type]
            self.log.append(("case_type_removed", clinic, None, case_type))

    @rule(
        clinic_at=clinics,
        approve=st.lists(people, max_size=2, unique=True),
        grant=st.dictionaries(st.tuples(people, case_types), st.tuples(ends, st.integers(1, 3)), max_size=2),
    )
    def import_residents(
        self,
        clinic_at: int,
        approve: list[int],
        grant: dict[tuple[int, int], tuple[int | None, int]],
    ) -> None:
        clinic, now = self.clinic_ids[clinic_at], self.clock()
        chosen = {self.person(who).digits: self.person(who) for who in approve}
        approvals = [Approval(clinic, p, self.name[p.digits], now, "legacy") for p in chosen.values()]
        # Imported grants keep their end date, even one already passed.
        granted = {(self.person(who), self.case_type_ids[kind]): held for (who, kind), held in grant.items()}
        grants = [
            Grant(clinic, p, t, self.until(offset), version, now, "legacy", now, self.name[p.digits])
            for (p, t), (offset, version) in granted.items()
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
            self.access.import_residents(self.admin, clinic, approvals, grants)
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
        residence = self.residence[pnr.digits]
        if clinic == self.clinic_ids[0] and residence is not None and residence.region == "01":
            age = pnr.age(on=today)
            if (age is not None and age <= 17) or residence.municipality == "0180":
                return "service_area"
        return "not_approved"

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def decisions_agree(self) -> None:
        requests = [(p, c, t) for p in self.people for c in self.clinic_ids for t in self.case_type_ids]
        for decision, (pnr, clinic, case_type) in zip(self.access.decide_many(requests), requests, strict=True):
            expected = self.expected_reason(pnr, clinic, case_type)
            assert decision.reason == expected, (clinic, case_type, decision, self.grants)
            if expected in {"granted", "grant_expired"}:  # the grant that decided is the stored one
                assert decision.grant is not None
                held = self.grants[clinic, pnr.digits, case_type]
                assert (decision.grant.until, decision.grant.version) == held, (decision.grant, held)
        for pnr in self.people:
            single = self.access.decide(pnr, self.clinic_ids[0], self.case_type_ids[1])
            assert single.reason == self.expected_reason(pnr, self.clinic_ids[0], self.case_type_ids[1])

    @invariant()
    def resident_pages_agree(self) -> None:
        for clinic in self.clinic_ids:
            listed: list[str] = []
            cursor = None
            while True:
                page = self.access.list_residents(self.admin, clinic, limit=2, cursor=cursor)
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

    def listed(self, clinic: str) -> list[str]:
        """The model's resident list of *clinic*: 12-digit numbers, in order."""
        return sorted({p for c, p in self.approved if c == clinic} | {p for c, p, _ in self.grants if c == clinic})

    def search(self, clinic: str, text: str) -> list[str]:
        found = self.access.list_residents(self.admin, clinic, limit=1000, search=text).items
        return [r.pnr.digits for r in found]

    @invariant()
    def searches_agree(self) -> None:
        anchor = self.people[0].digits
        for clinic in self.clinic_ids:
            listed = self.listed(clinic)
            # Birth date as written (coordination day kept), in the 12- and the 10-digit form:
            # digits match the start of either form.
            for typed in (anchor[:8], anchor[2:8]):
                assert self.search(clinic, typed) == [
                    p for p in listed if typed in (p[: len(typed)], p[2 : 2 + len(typed)])
                ]
            assert self.search(clinic, "-" + anchor[-4:]) == [p for p in listed if p.endswith(anchor[-4:])]
            named = [p for p in listed if self.name[p] in {unicodedata.normalize("NFC", n) for n in self.family.names}]
            assert self.search(clinic, self.family.query) == named, (self.family, [self.name[p] for p in listed])

    @invariant()
    def event_feed_agrees(self) -> None:
        events = []
        after = None
        for _ in range(len(self.log) // 50 + 2):  # bounded: a feed that repeats fails, not hangs
            batch = self.access.events(after=after, limit=50)
            if not batch:
                break
            events.extend(batch)
            after = batch[-1].id
        seen = [(e.action.value, e.clinic_id, e.pnr.digits if e.pnr else None, e.case_type_id) for e in events]
        assert seen == self.log

    @invariant()
    def clinics_for_agrees(self) -> None:
        """The resident's side: for everyone the feed names, clinics_for is decide on every clinic and case type."""
        people: dict[str, PersonalIdentityNumber] = {}
        after = None
        for _ in range(len(self.log) // 500 + 2):
            batch = self.access.events(after=after, limit=500)
            if not batch:
                break
            people.update((e.pnr.digits, e.pnr) for e in batch if e.pnr is not None)
            after = batch[-1].id
        kinds = [(c.id, t.id) for c in self.access.list_clinics(limit=1000).items for t in self.access.case_types(c.id)]
        for pnr in people.values():
            found = self.access.clinics_for(pnr)
            listed = {(a.clinic.id, d.case_type_id): d for a in found for d in a.decisions}
            decided = dict(zip(kinds, self.access.decide_many([(pnr, c, t) for c, t in kinds]), strict=True))
            assert listed == {kind: d for kind, d in decided.items() if d.allowed}
