"""The clinic's resident list: order, pages, cursors, search."""

from __future__ import annotations

import datetime as dt
import itertools
import unicodedata

import pytest

from careaccess import (
    Actor,
    CareAccess,
    InvalidRequest,
    NotFound,
)
from careaccess.identity import PersonalIdentityNumber
from careaccess.testing.conformance.fixtures import (
    ASA,
    C1,
    C2,
    COORD,
    KAJSA,
    NILS,
    RESTRICTED,
    RESTRICTED2,
    TOLVAN,
    ConformanceBase,
    assert_same_list,
    make_pnr,
)


class ListingTests(ConformanceBase):
    """The clinic's resident list: order, pages, cursors, search."""

    # == the resident list =============================================================

    def test_resident_access_of_unlisted_resident(self, world: CareAccess, admin: Actor) -> None:
        access = world.resident_access(admin, C1, TOLVAN)
        assert (access.pnr, access.name, access.approval, access.grants) == (TOLVAN, "Tolvan Tolvansson", None, ())
        with pytest.raises(NotFound) as raised:
            world.resident_access(Actor("admin-2", {"ghost"}), "ghost", TOLVAN)
        assert raised.value.code == "unknown_clinic"

    def test_list_shows_approved_or_granted_residents(self, world: CareAccess, admin: Actor) -> None:
        world.approve_resident(admin, C1, TOLVAN)
        world.grant_case_type(admin, C1, ASA, RESTRICTED)
        world.grant_case_type(admin, C1, ASA, RESTRICTED2, until=dt.date(2026, 3, 1))
        world.approve_resident(admin, C1, KAJSA)
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        world.approve_resident(admin, C2, NILS)  # another clinic's resident
        page = world.list_residents(admin, C1)
        assert [r.pnr for r in page.items] == sorted([TOLVAN, ASA, KAJSA])
        assert page.next_cursor is None
        by_pnr = {r.pnr: r for r in page.items}
        assert by_pnr[ASA].name == "Åsa Öberg-Ärlig"
        assert by_pnr[ASA].approval is None
        assert [g.case_type_id for g in by_pnr[ASA].grants] == sorted([RESTRICTED, RESTRICTED2])
        assert by_pnr[KAJSA].approval is not None
        assert len(by_pnr[KAJSA].grants) == 1
        assert by_pnr[TOLVAN].grants == ()

    def test_list_pages_with_cursor(self, world: CareAccess, admin: Actor) -> None:
        people = [make_pnr(f"19{50 + i:02d}0101", 100 + i) for i in range(23)]
        for person in reversed(people):
            world.approve_resident(admin, C2, person)
        seen: list[PersonalIdentityNumber] = []
        cursor = None
        pages = 0
        while True:
            page = world.list_residents(admin, C2, limit=5, cursor=cursor)
            pages += 1
            seen.extend(r.pnr for r in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert_same_list(seen, sorted(people), "the list, page after page")
        assert pages == 5

    def test_exact_page_has_no_next_cursor(self, world: CareAccess, admin: Actor) -> None:
        for person in (TOLVAN, ASA):
            world.approve_resident(admin, C2, person)
        assert world.list_residents(admin, C2, limit=2).next_cursor is None
        assert world.list_residents(admin, C2, limit=1).next_cursor is not None

    def test_pagination_neither_repeats_nor_skips_under_writes(self, world: CareAccess, admin: Actor) -> None:
        stable = [make_pnr(f"19{40 + 2 * i:02d}0505", 200 + i) for i in range(20)]
        for person in stable:
            world.approve_resident(admin, C2, person)
        extra = iter(make_pnr(f"19{41 + 2 * i:02d}0505", 300 + i) for i in range(20))
        seen: list[PersonalIdentityNumber] = []
        cursor = None
        while True:
            page = world.list_residents(admin, C2, limit=4, cursor=cursor)
            seen.extend(r.pnr for r in page.items)
            # Between pages: residents appear before and after the cursor, others leave.
            world.approve_resident(admin, C2, next(extra))
            world.grant_case_type(admin, C2, next(extra), RESTRICTED)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(seen) == len(set(seen))
        assert set(stable) <= set(seen)
        assert seen == sorted(seen)

    def test_next_page_goes_on_after_the_cursor_resident_has_left(self, world: CareAccess, admin: Actor) -> None:
        people = sorted(make_pnr(f"19{60 + i:02d}0909", 600 + i) for i in range(10))
        for person in people:
            world.approve_resident(admin, C2, person)
        first = world.list_residents(admin, C2, limit=3)
        assert [r.pnr for r in first.items] == people[:3]
        assert first.next_cursor is not None
        world.revoke_approval(admin, C2, people[2])  # the resident the cursor points after
        world.revoke_approval(admin, C2, people[3])  # and the one who would have come next
        second = world.list_residents(admin, C2, limit=3, cursor=first.next_cursor)
        assert [r.pnr for r in second.items] == people[4:7]

    def test_search_finds_coordination_numbers_by_the_digits_as_written(self, world: CareAccess, admin: Actor) -> None:
        born_on_day = make_pnr("19700115", 571)  # day 15: the person COORD's day 75 sits beside
        for person in (COORD, born_on_day):
            world.approve_resident(admin, C1, person)

        def found(search: str) -> list[PersonalIdentityNumber]:
            return [r.pnr for r in world.list_residents(admin, C1, search=search).items]

        written = COORD.digits
        for search in (written[:8], written[2:8], written[:10], written[2:10], f"{written[2:8]}-{written[8:11]}"):
            assert found(search) == [COORD], search
        assert found(born_on_day.digits[:8]) == [born_on_day]
        assert found(written[2:6]) == sorted([COORD, born_on_day])

    def test_search_by_number_in_every_written_form(self, world: CareAccess, admin: Actor) -> None:
        stranger = make_pnr("19661010", 800)  # approved without a name
        for person in (TOLVAN, ASA, KAJSA, COORD):
            world.approve_resident(admin, C1, person)
        world.approve_resident(admin, C1, stranger, name=None)
        assert world.resident_access(admin, C1, stranger).name is None

        def found(search: str) -> list[PersonalIdentityNumber]:
            return [r.pnr for r in world.list_residents(admin, C1, search=search).items]

        everyone = sorted([TOLVAN, ASA, KAJSA, COORD, stranger])
        for person in (TOLVAN, ASA, KAJSA, COORD):
            short = person.short(world.today())  # "+" for Tolvan, 100 years or older
            for text in (short, short.replace("-", "").replace("+", ""), str(person), person.digits):
                assert found(text) == [person], text
        assert "+" in TOLVAN.short(world.today())
        assert found("91212") == []  # neither form of any number starts so
        assert found("–") == everyone  # a dash alone filters nothing, names or none
        assert found("- ") == everyone

    def test_search_by_last_four_digits_finds_exactly_those_who_share_them(
        self, world: CareAccess, admin: Actor
    ) -> None:
        days = (dt.date(1980, 1, 1) + dt.timedelta(days=n) for n in range(1000))
        born = (make_pnr(f"{day:%Y%m%d}", 121) for day in days)
        share = [TOLVAN, *itertools.islice((p for p in born if p.digits[-4:] == TOLVAN.digits[-4:]), 2)]
        other = make_pnr("19121212", 122)
        # The last three digits alike, the fourth from the end not: found by neither's last four.
        near = (
            make_pnr(f"{day:%Y%m%d}", 221) for day in (dt.date(1950, 1, 1) + dt.timedelta(days=n) for n in range(99))
        )
        world.approve_resident(admin, C2, next(p for p in near if p.digits[-3:] == TOLVAN.digits[-3:]))
        for person in (*share, other):
            world.approve_resident(admin, C2, person)
        last_four = share[0].digits[-4:]
        assert [r.pnr for r in world.list_residents(admin, C2, search=f"-{last_four}").items] == sorted(share)
        assert [r.pnr for r in world.list_residents(admin, C2, search=f"-{other.digits[-4:]}").items] == [other]

    @pytest.mark.parametrize(
        ("names", "search", "strangers"),
        [
            (("Strauß", "STRAUSS", "Johann Strauss"), "strauss", ("Straus",)),
            (("Strauß", "STRAUSS"), "STRAUẞ", ("Sträuss",)),
            (("Åsa Öberg", unicodedata.normalize("NFD", "Åsa Öberg"), "ÅSA-ÖBERG"), "åsa öberg", ("Asa Oberg",)),
            (("Åsa Öberg", "ÅSA ÖBERG"), unicodedata.normalize("NFD", "Åsa"), ("Aasa Oberg",)),
            (("Öberg-Ärlig", "ÖBERG–ÄRLIG", "Öberg  Ärlig"), "öberg ärlig", ("Öbergärlig",)),
            (("Σίσυφος", "ΣΊΣΥΦΟΣ"), "σίσυφοσ", ("Σισυφος",)),
        ],
    )
    def test_search_by_name_folds_case_normalization_and_separators(
        self, world: CareAccess, admin: Actor, names: tuple[str, ...], search: str, strangers: tuple[str, ...]
    ) -> None:
        people = [make_pnr(f"19{50 + i:02d}0303", 700 + i) for i in range(len(names) + len(strangers))]
        for person, name in zip(people, names + strangers, strict=True):
            world.approve_resident(admin, C1, person, name=name)
        listed = world.list_residents(admin, C1, search=search).items
        assert [r.pnr for r in listed] == people[: len(names)]
        # Stored in normal form C whatever form the name came in.
        assert [r.name for r in listed] == [unicodedata.normalize("NFC", n) for n in names]

    def test_search_by_number_prefix_and_name(self, world: CareAccess, admin: Actor) -> None:
        for person in (TOLVAN, ASA, KAJSA, COORD):
            world.approve_resident(admin, C1, person)

        def found(search: str) -> list[PersonalIdentityNumber]:
            return [r.pnr for r in world.list_residents(admin, C1, search=search).items]

        assert found("1912") == [TOLVAN]
        assert found("121212") == [TOLVAN]
        assert found("19800314-") == [ASA]
        assert found("800314-2") == [ASA]
        assert found("åsa") == [ASA]
        assert found("ÖBERG") == [ASA]
        assert found("anka") == [KAJSA]
        assert found("ångström") == [COORD]
        assert found("ingen alls") == []
        assert found("  ") == sorted([TOLVAN, ASA, KAJSA, COORD])

    def test_search_by_name_finds_grant_only_residents_and_pages(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, ASA, RESTRICTED)
        people = [make_pnr(f"19{60 + i:02d}0202", 400 + i) for i in range(6)]
        for person in people:
            world.approve_resident(admin, C1, person, name=f"Sven Svensson {person.birth_year}")
        assert [r.pnr for r in world.list_residents(admin, C1, search="åSA").items] == [ASA]
        first = world.list_residents(admin, C1, limit=4, search="svensson")
        assert first.next_cursor is not None
        rest = world.list_residents(admin, C1, limit=4, search="svensson", cursor=first.next_cursor)
        assert [r.pnr for r in first.items + rest.items] == people
        assert rest.next_cursor is None

    @pytest.mark.parametrize("cursor", ["", "garbage", "cjE6MTIz", "!!!"])
    def test_invalid_cursor(self, world: CareAccess, admin: Actor, cursor: str) -> None:
        with pytest.raises(InvalidRequest) as raised:
            world.list_residents(admin, C1, cursor=cursor)
        assert raised.value.code == "invalid_cursor"

    @pytest.mark.parametrize("limit", [0, -1, 1001])
    def test_invalid_limit(self, world: CareAccess, admin: Actor, limit: int) -> None:
        with pytest.raises(InvalidRequest) as raised:
            world.list_residents(admin, C1, limit=limit)
        assert raised.value.code == "invalid_limit"
        with pytest.raises(InvalidRequest):
            world.events(limit=limit)

    def test_non_ascii_names_round_trip(self, world: CareAccess, admin: Actor) -> None:
        names = ["Åsa Öberg-Ärlig", "Zoë Ångström", "Ülle Ñúñez", "李小龍", "Ŋiellá Sámi"]
        people = [make_pnr(f"19{70 + i:02d}0707", 500 + i) for i in range(len(names))]
        for person, name in zip(people, names, strict=True):
            world.approve_resident(admin, C2, person, name=name)
        assert [r.name for r in world.list_residents(admin, C2).items] == names
        assert world.resident_access(admin, C2, people[3]).name == "李小龍"
