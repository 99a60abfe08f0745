"""Store-level promises of the reads, checked by calling the store's methods directly.

Each test writes its records with :meth:`~careaccess.store.Store.apply` alone and reads
them back with one read method, named in the test's name, so a failure names the method
that broke. The data is adversarial (:mod:`careaccess.testing.adversarial`): residents
who share a birth date, the last four digits or the 10 digits a century apart, a
coordination number beside the person born 60 days earlier in the day's numbering, ids
that are prefixes, case variants and look-alikes of one another, and batches with
repeats past every chunk size.
"""

from __future__ import annotations

import datetime as dt

import attrs

from careaccess import Action, CareAccess, CaseType, Clinic
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval, Grant
from careaccess.names import fold
from careaccess.store import Changeset, Delete, EventDraft, FactsRequest, GrantKey, Put, Record, ResidentQuery, Store
from careaccess.testing.adversarial import CHUNK_SIZES, neighbours
from careaccess.testing.conformance.fixtures import (
    C1,
    C2,
    COORD,
    KAJSA,
    OPEN,
    RESTRICTED,
    RESTRICTED2,
    TOLVAN,
    ConformanceBase,
    assert_same_list,
    at_local,
    make_pnr,
)

WHEN = at_local(2026, 1, 10, 8, 0)
#: Case type ids a careless index confuses: prefixes, an extension, a case variant, look-alikes.
LOOK_ALIKES = ("kbt", "kbt-barn", "kb", "KBT", "kbt\u0430", "k\u03bat")


def put(store: Store, clinic_id: str, *records: Record) -> None:
    """Write *records* of one clinic with one changeset (no preconditions), one event each."""
    drafts = tuple(
        EventDraft(
            WHEN,
            "admin-1",
            Action.CASE_TYPE_GRANTED if isinstance(r, Grant) else Action.RESIDENT_APPROVED,
            clinic_id,
            r.pnr,
            r.case_type_id if isinstance(r, Grant) else None,
        )
        if isinstance(r, Approval | Grant)
        else EventDraft(WHEN, "admin-1", Action.CASE_TYPE_SAVED, clinic_id, None, r.id)
        if isinstance(r, CaseType)
        else EventDraft(WHEN, "admin-1", Action.CLINIC_SAVED, clinic_id)
        for r in records
    )
    store.apply(Changeset(clinic_id, (), tuple(Put(r) for r in records), drafts))


def approval(clinic_id: str, person: PersonalIdentityNumber, name: str | None = None) -> Approval:
    return Approval(clinic_id, person, name, WHEN, "admin-1")


def grant(clinic_id: str, person: PersonalIdentityNumber, case_type_id: str, version: int = 1) -> Grant:
    return Grant(clinic_id, person, case_type_id, None, version, WHEN, "admin-1", WHEN)


class StoreReadTests(ConformanceBase):
    """One promise of one read method per test, on records written with ``apply``."""

    # -- load_facts / load_facts_many ---------------------------------------------------

    def test_load_facts_keeps_residents_who_collide_apart(self, world: CareAccess) -> None:
        family = [KAJSA, *neighbours(KAJSA, today=dt.date(2026, 1, 15)).values()]
        approved, granted = family[0::2], family[1::2]
        put(world.store, C2, *(approval(C2, p) for p in approved), *(grant(C2, p, RESTRICTED) for p in granted))
        requests = [FactsRequest(p.digits, C2, t) for p in family for t in (OPEN, RESTRICTED)]
        for facts in (world.store.load_facts_many(requests), [world.store.load_facts(r) for r in requests]):
            for request, found in zip(requests, facts, strict=True):
                mine = approval(C2, PersonalIdentityNumber.from_digits(request.digits))
                assert found.approval == (mine if mine.pnr in approved else None), request
                wanted = request.case_type_id == RESTRICTED and mine.pnr in granted
                assert found.grant == (grant(C2, mine.pnr, RESTRICTED) if wanted else None), request

    def test_load_facts_matches_ids_exactly(self, world: CareAccess) -> None:
        store = world.store
        put(store, C1, *(CaseType(C1, kind, kind, restricted=True) for kind in LOOK_ALIKES))
        put(store, C1, grant(C1, KAJSA, "kbt-barn"))
        requests = [FactsRequest(KAJSA.digits, C1, kind) for kind in LOOK_ALIKES]
        for facts in (store.load_facts_many(requests), [store.load_facts(r) for r in requests]):
            assert [f.case_type.id if f.case_type else None for f in facts] == list(LOOK_ALIKES)
            assert [f.grant is not None for f in facts] == [kind == "kbt-barn" for kind in LOOK_ALIKES]
        # Clinic ids too: a case variant or a prefix of a clinic is another clinic (or none).
        for clinic in ("VC-OST", "vc-os", "vc", "vc-ost-2"):
            assert store.load_facts(FactsRequest(KAJSA.digits, clinic, "kbt-barn")).clinic is None, clinic

    def test_load_facts_many_keeps_order_and_repeats_past_every_chunk(self, world: CareAccess) -> None:
        store = world.store
        family = [KAJSA, *neighbours(KAJSA, today=dt.date(2026, 1, 15)).values()]
        put(store, C1, *(grant(C1, p, RESTRICTED) for p in family[::2]))
        pool = [FactsRequest(p.digits, c, t) for p in family for c in (C1, C2, "x") for t in (OPEN, RESTRICTED)]
        single = {r: store.load_facts(r) for r in pool}
        size = 2 * max(CHUNK_SIZES) + 1
        batch = [pool[(i * 7 + i // len(pool)) % len(pool)] for i in range(size)]
        assert_same_list(store.load_facts_many(batch), [single[r] for r in batch], "load_facts_many")
        assert store.load_facts_many([]) == []

    # -- get_resident_access --------------------------------------------------------------

    def test_get_resident_access_orders_grants_by_case_type_id(self, world: CareAccess) -> None:
        store = world.store
        put(store, C1, *(CaseType(C1, kind, kind, restricted=True) for kind in LOOK_ALIKES))
        put(store, C1, *(grant(C1, KAJSA, kind) for kind in reversed(LOOK_ALIKES)))
        found = store.get_resident_access(C1, KAJSA.digits)
        assert found is not None
        assert [g.case_type_id for g in found.grants] == sorted(LOOK_ALIKES)
        assert (found.pnr, found.approval) == (KAJSA, None)

    def test_get_resident_access_is_none_for_the_unlisted(self, world: CareAccess) -> None:
        store = world.store
        family = [KAJSA, *neighbours(KAJSA, today=dt.date(2026, 1, 15)).values()]
        put(store, C1, approval(C1, KAJSA, "Kajsa"))
        assert store.get_resident_access(C1, KAJSA.digits) is not None
        for other in family[1:]:
            assert store.get_resident_access(C1, other.digits) is None, other
        assert store.get_resident_access(C2, KAJSA.digits) is None
        assert store.get_resident_access("nowhere", KAJSA.digits) is None

    # -- list_residents ---------------------------------------------------------------------

    def test_list_residents_goes_on_after_a_number_not_listed(self, world: CareAccess) -> None:
        store = world.store
        people = sorted(make_pnr(f"19{60 + 2 * i:02d}0404", 300 + i) for i in range(6))
        put(store, C2, *(approval(C2, p) for p in people))
        gone = make_pnr("19650404", 900)  # sorts between people[2] and people[3], never listed
        listed = store.list_residents(ResidentQuery(C2, 2, after=gone.digits))
        assert [r.pnr for r in listed] == people[3:5]
        assert store.list_residents(ResidentQuery(C2, 10, after=people[-1].digits)) == []

    def test_list_residents_matches_the_digits_as_written(self, world: CareAccess) -> None:
        store = world.store
        beside = make_pnr("19700115", 571)  # day 15; COORD is day 75 of the same month
        family = [KAJSA, *neighbours(KAJSA, today=dt.date(2026, 1, 15)).values()]
        put(store, C1, *(approval(C1, p) for p in (COORD, beside, *family)))

        def listed(**query: object) -> list[PersonalIdentityNumber]:
            return [r.pnr for r in store.list_residents(ResidentQuery(C1, 100, **query))]  # type: ignore[arg-type]

        assert listed(digit_prefixes=(COORD.digits[:8],)) == [COORD]
        assert listed(digit_prefixes=(beside.digits[:8],)) == [beside]
        assert listed(digit_prefixes=(COORD.digits[:8], beside.digits[:8])) == sorted([COORD, beside])
        born = KAJSA.digits[:8]
        assert listed(digit_prefixes=(born,)) == sorted(p for p in family if p.digits.startswith(born))
        four = KAJSA.digits[-4:]
        assert listed(digit_suffix=four) == sorted(p for p in family if p.digits.endswith(four))
        assert listed(digit_suffix=four, digit_prefixes=(born,)) == sorted(
            p for p in family if p.digits.startswith(born) and p.digits.endswith(four)
        )

    def test_list_residents_matches_the_names_of_the_records_stored_now(self, world: CareAccess) -> None:
        store = world.store

        def named(text: str, limit: int = 10) -> list[PersonalIdentityNumber]:
            return [r.pnr for r in store.list_residents(ResidentQuery(C1, limit, name_contains=fold(text)))]

        put(store, C1, approval(C1, KAJSA, "Åsa Andersson"), approval(C1, TOLVAN, "Åsa Tolvan"))
        put(store, C1, attrs.evolve(grant(C1, KAJSA, RESTRICTED), name="Bertil Berg"))
        assert (named("åsa"), named("bertil")) == (sorted([KAJSA, TOLVAN]), [KAJSA])
        assert named("åsa", limit=1) == sorted([KAJSA, TOLVAN])[:1]
        put(store, C1, grant(C1, KAJSA, RESTRICTED, version=2))  # the grant again, without a name
        assert (named("åsa"), named("bertil")) == (sorted([KAJSA, TOLVAN]), [])
        key = GrantKey(C1, KAJSA.digits, RESTRICTED)
        draft = EventDraft(WHEN, "admin-1", Action.GRANT_REMOVED, C1, KAJSA, RESTRICTED)
        store.apply(Changeset(C1, (), (Delete(key),), (draft,)))  # a grant without a name, removed
        put(store, C1, attrs.evolve(grant(C1, KAJSA, RESTRICTED2), name="Cecilia"))
        store.apply(Changeset(C1, (), (Delete(GrantKey(C1, KAJSA.digits, RESTRICTED2)),), (draft,)))
        assert (named("åsa"), named("cecilia")) == (sorted([KAJSA, TOLVAN]), [])

    def test_list_residents_and_apply_past_every_chunk_size(self, world: CareAccess) -> None:
        store = world.store
        size = 2 * max(CHUNK_SIZES) + 1
        days = [dt.date(1940, 1, 1) + dt.timedelta(days=n) for n in range(size)]
        people = [make_pnr(f"{day:%Y%m%d}", 100 + n % 800) for n, day in enumerate(days)]
        earlier = len(store.read_events(None, 1000, C2))
        put(store, C2, *(approval(C2, p, f"Invånare {n}") for n, p in enumerate(people)))
        seen: list[PersonalIdentityNumber] = []
        after: str | None = None
        # Bounded, so a store whose pages never end fails here instead of looping forever.
        for _ in range(len(people) // 1000 + 3):
            page = store.list_residents(ResidentQuery(C2, 1000, after=after))
            if not page:
                break
            seen.extend(r.pnr for r in page)
            assert after is None or page[-1].pnr.digits > after, "list_residents: a page did not move on"
            after = page[-1].pnr.digits
        assert_same_list(seen, sorted(people), "list_residents, page after page")
        events = []
        last: str | None = None
        for _ in range((earlier + len(people)) // 1000 + 3):
            feed = store.read_events(last, 1000, C2)
            if not feed:
                break
            events.extend(feed)
            assert last is None or feed[-1].id != last, "read_events: a page did not move on"
            last = feed[-1].id
        assert_same_list([e.pnr for e in events[earlier:]], people, "read_events, page after page")

    # -- read_events ---------------------------------------------------------------------------

    def test_read_events_goes_on_from_another_clinics_event(self, world: CareAccess) -> None:
        store = world.store
        for person in (TOLVAN, KAJSA, COORD):
            put(store, C1, approval(C1, person))
            put(store, C2, approval(C2, person))
        everything = store.read_events(None, 1000, None)
        for index, event in enumerate(everything):
            for clinic in (C1, C2):
                later = [e for e in everything[index + 1 :] if e.clinic_id == clinic]
                assert store.read_events(event.id, 1000, clinic) == later, (index, clinic)
                assert store.read_events(event.id, 2, clinic) == later[:2], (index, clinic)
            assert store.read_events(event.id, 3, None) == everything[index + 1 : index + 4]

    def test_read_events_of_an_unknown_clinic_is_empty(self, world: CareAccess) -> None:
        store = world.store
        first = store.read_events(None, 1, None)[0]
        assert store.read_events(None, 10, "nowhere") == []
        assert store.read_events(first.id, 10, "nowhere") == []
        assert store.read_events(None, 10, C1.upper()) == []

    # -- cursor_key ----------------------------------------------------------------------------

    def test_cursor_key_does_not_change_with_writes(self, world: CareAccess) -> None:
        store = world.store
        key = store.cursor_key()
        put(store, C1, approval(C1, KAJSA), Clinic(C1, "Nytt namn"))
        assert store.cursor_key() == key
        assert len(key) == 32
