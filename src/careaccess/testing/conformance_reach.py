"""Conformance of the resident's side: ``clinics_for`` and ``list_clinics`` on any store.

Subclass :class:`ReachConformance` beside :class:`~careaccess.testing.conformance.StoreConformance`
with the same ``store`` fixture (a fresh, empty store)::

    class TestMyStoreReach(ReachConformance):
        expects_reach_capability = True  # the store implements ReachStore natively

        @pytest.fixture
        def store(self):
            ...

Every store answers through the core's fallback; a store that implements
:class:`~careaccess.reachstore.ReachStore` is also checked method by method against it.

Capability flags (class attributes):

- ``expects_reach_capability``: fail unless the store implements ``ReachStore`` (default False).
- ``directory_clinics``: how many clinics the concurrent directory paging test creates (default 1000).
- ``agreement_examples``: generated worlds in the agreement property (default: the
  hypothesis profile's ``max_examples``; at least 200 under ``CI=true``, see
  :mod:`careaccess.testing.conformance.reachagreement`).
- ``supports_threads``: the store may be shared by several threads (default True).

.. versionadded:: 0.2
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import pytest

from careaccess import (
    Actor,
    AreaRule,
    CareAccess,
    CaseType,
    Clinic,
    Gender,
    InvalidIdentityNumber,
    InvalidRequest,
    Reason,
    Residence,
    Resident,
    ServiceArea,
    StaticDirectory,
    connect,
    hookimpl,
)
from careaccess.names import fold
from careaccess.reach import area_keys, residence_keys
from careaccess.reachstore import (
    ClinicQuery,
    ReachRequest,
    ReachStore,
    list_clinics_fallback,
    load_reach_fallback,
)
from careaccess.store import Store
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr
from careaccess.testing.conformance.reachagreement import AgreementTests, PlainStore, reach_worlds
from careaccess.testing.world import WORLD_TIMEZONE

__all__ = ["PlainStore", "ReachConformance", "reach_worlds"]


class _Authorize:
    """Allows ``allow`` (None: every clinic) and denies ``deny`` to everybody, whatever ``actor.clinics`` says."""

    def __init__(self, allow: frozenset[str] | None, deny: frozenset[str]) -> None:
        self.allow = allow
        self.deny = deny

    @hookimpl
    def careaccess_authorize(self, actor: Actor, action: str, clinic_id: str) -> bool | None:
        if clinic_id in self.deny:
            return False
        return True if self.allow is None or clinic_id in self.allow else None


A, B, C, D = "ra-nord", "rb-syd", "rc-land", "rd-ingen"
OPEN, RESTRICTED = "fraga", "kbt"
ANNA = make_pnr("19800101", 242)  # woman
BO = make_pnr("19851212", 131)  # man
COORD = make_pnr("19700175", 571)  # coordination number
START = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
ADMIN = Actor("admin-r", frozenset({A, B, C, D}))


class ReachConformance(AgreementTests):
    """Generic tests of the resident's side; subclasses provide the ``store`` fixture."""

    expects_reach_capability: ClassVar[bool] = False
    directory_clinics: ClassVar[int] = 1000
    supports_threads: ClassVar[bool] = True

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        raise NotImplementedError("subclass ReachConformance and provide a `store` fixture")

    @pytest.fixture
    def clock(self) -> FrozenClock:
        return FrozenClock(START)

    @pytest.fixture
    def directory(self) -> StaticDirectory:
        return StaticDirectory(
            [
                Resident(ANNA, "Anna", Residence("01", "0180")),
                Resident(BO, "Bo", Residence("03", "0380")),
                Resident(COORD, "Zoë", None),
            ]
        )

    @pytest.fixture
    def access(self, store: Store, clock: FrozenClock, directory: StaticDirectory) -> CareAccess:
        return connect(store, plugins=[directory], clock=clock)

    @pytest.fixture
    def plain(self, store: Store, clock: FrozenClock, directory: StaticDirectory) -> CareAccess:
        """The same store, answered through the core's fallback."""
        return connect(PlainStore(store), plugins=[directory], clock=clock)

    @pytest.fixture
    def standard(self, access: CareAccess) -> CareAccess:
        """A: Stockholm county; B: women of Uppsala municipality; C: the whole country aged 18-70; D: no area."""
        areas = {
            A: ServiceArea([AreaRule("01")]),
            B: ServiceArea([AreaRule("03", "0380", gender=Gender.FEMALE)]),
            C: ServiceArea([AreaRule(min_age=18, max_age=70)]),
            D: ServiceArea(),
        }
        names = {A: "Vårdcentralen Norr", B: "Vårdcentralen Syd", C: "Nätdoktorn Sverige", D: "Vårdcentralen Öst-Ängen"}
        for clinic_id, area in areas.items():
            access.put_clinic(ADMIN, Clinic(clinic_id, names[clinic_id], area))
            access.put_case_type(ADMIN, CaseType(clinic_id, OPEN, "Fråga om vård"))
            access.put_case_type(ADMIN, CaseType(clinic_id, RESTRICTED, "KBT", restricted=True))
        return access

    # == the capability ===============================================================

    def test_capability_is_claimed(self, store: Store) -> None:
        if self.expects_reach_capability:
            assert isinstance(store, ReachStore)

    # == clinics_for ===================================================================

    def test_clinics_for_reasons_and_order(self, standard: CareAccess) -> None:
        standard.approve_resident(ADMIN, D, BO)
        standard.grant_case_type(ADMIN, B, BO, RESTRICTED, until=dt.date(2026, 2, 1))
        found = standard.clinics_for(BO)
        assert [(a.clinic.id, [(d.case_type_id, d.reason) for d in a.decisions]) for a in found] == [
            (B, [(RESTRICTED, Reason.GRANTED)]),
            (C, [(OPEN, Reason.SERVICE_AREA)]),
            (D, [(OPEN, Reason.APPROVED)]),
        ]
        anna = standard.clinics_for(ANNA)
        assert [a.clinic.id for a in anna] == [A, C]
        assert all(d == standard.decide(ANNA, a.clinic.id, d.case_type_id) for a in anna for d in a.decisions)

    def test_clinics_for_with_given_or_unknown_residence(self, standard: CareAccess) -> None:
        assert [a.clinic.id for a in standard.clinics_for(BO, residence=Residence("01"))] == [A, C]
        assert [a.clinic.id for a in standard.clinics_for(COORD, residence=Residence("03", "0380"))] == [C]
        # No residence known: only rules that name no place may match, as decide says.
        unknown = [a.clinic.id for a in standard.clinics_for(COORD)]
        assert unknown == ([C] if standard.decide(COORD, C, OPEN) else [])

    def test_grant_expiry_boundary_in_local_time(self, standard: CareAccess, clock: FrozenClock) -> None:
        standard.grant_case_type(ADMIN, D, COORD, RESTRICTED, until=dt.date(2026, 2, 1))
        home = Residence("12")
        last = dt.datetime(2026, 2, 1, 23, 59, 59, 999999, WORLD_TIMEZONE)
        assert [a.clinic.id for a in standard.clinics_for(COORD, at=last, residence=home)] == [C, D]
        later = last + dt.timedelta(microseconds=1)
        assert [a.clinic.id for a in standard.clinics_for(COORD, at=later, residence=home)] == [C]
        denied = standard.clinics_for(COORD, at=later, residence=home, include_denied=True)
        assert [a.clinic.id for a in denied] == [C, D]  # A and B name other places: not candidates
        by_clinic = {a.clinic.id: a for a in denied}
        assert [(d.case_type_id, d.reason) for d in by_clinic[D].decisions] == [
            (OPEN, Reason.NOT_APPROVED),
            (RESTRICTED, Reason.GRANT_EXPIRED),
        ]
        assert not by_clinic[D].reachable
        assert [d.reason for d in by_clinic[C].allowed] == [Reason.SERVICE_AREA]

    def test_revoked_and_removed_records_no_longer_reach(self, standard: CareAccess) -> None:
        home = Residence("12")
        standard.approve_resident(ADMIN, D, COORD)
        standard.grant_case_type(ADMIN, D, COORD, RESTRICTED)
        assert [a.clinic.id for a in standard.clinics_for(COORD, residence=home)] == [C, D]
        standard.revoke_approval(ADMIN, D, COORD)
        assert [[d.reason for d in a.decisions] for a in standard.clinics_for(COORD, residence=home)] == [
            [Reason.SERVICE_AREA],
            [Reason.GRANTED],
        ]
        standard.remove_grant(ADMIN, D, COORD, RESTRICTED)
        assert [a.clinic.id for a in standard.clinics_for(COORD, residence=home)] == [C]

    def test_changed_service_area_is_seen(self, standard: CareAccess) -> None:
        assert A not in [a.clinic.id for a in standard.clinics_for(BO)]
        standard.put_clinic(ADMIN, Clinic(A, "Vårdcentralen A", ServiceArea([AreaRule("03")])))
        assert A in [a.clinic.id for a in standard.clinics_for(BO)]
        assert A not in [a.clinic.id for a in standard.clinics_for(ANNA)]
        standard.put_clinic(ADMIN, Clinic(A, "Vårdcentralen A", ServiceArea()))
        assert A not in [a.clinic.id for a in standard.clinics_for(BO)]

    def test_clinics_for_rejects_malformed_input(self, standard: CareAccess) -> None:
        with pytest.raises(InvalidRequest) as raised:
            standard.clinics_for(ANNA, at=dt.datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose
        assert raised.value.code == "naive_datetime"
        with pytest.raises(InvalidIdentityNumber):
            standard.clinics_for("19800101-0000")

    def test_fallback_answers_the_same(self, standard: CareAccess, plain: CareAccess) -> None:
        standard.approve_resident(ADMIN, D, BO)
        standard.grant_case_type(ADMIN, A, COORD, RESTRICTED)
        for person in (ANNA, BO, COORD):
            for include_denied in (False, True):
                native = standard.clinics_for(person, include_denied=include_denied)
                assert plain.clinics_for(person, include_denied=include_denied) == native

    def test_native_candidates_cover_the_fallback(self, standard: CareAccess) -> None:
        store = standard.store
        if not isinstance(store, ReachStore):
            return
        standard.approve_resident(ADMIN, D, BO)
        for person, residence in ((BO, Residence("03", "0380")), (ANNA, None), (COORD, Residence("01"))):
            request = ReachRequest(person.digits, residence_keys(residence))
            native = store.load_reach(request)
            every = load_reach_fallback(store, request)
            found = {c.id for c in native.clinics}
            # Every clinic the resident is listed at, or whose area names the place, is a candidate.
            needed = {a.clinic_id for a in every.approvals} | {g.clinic_id for g in every.grants}
            needed |= {c.id for c in every.clinics if _names_place(c, residence)}
            assert needed <= found
            kinds = {(t.clinic_id, t.id) for t in native.case_types}
            assert {(t.clinic_id, t.id) for t in every.case_types if t.clinic_id in found} == kinds
            assert {a for a in every.approvals if a.clinic_id in found} == set(native.approvals)
            assert {g for g in every.grants if g.clinic_id in found} == set(native.grants)

    # == list_clinics ==================================================================

    def test_list_clinics_filters(self, standard: CareAccess) -> None:
        def ids(**kwargs: Any) -> list[str]:
            return [c.id for c in standard.list_clinics(**kwargs).items]

        assert ids() == [A, B, C, D]
        assert ids(region="01") == [A]
        assert ids(region="03") == [B]
        assert ids(municipality="0380") == [B]
        assert ids(municipality="0180") == [A]  # covered by A's county-wide rule
        assert ids(region="03", municipality="0380") == [B]
        assert ids(municipality="0305") == []
        assert ids(search="nätdoktorn") == [C]
        assert ids(search="  VÅRDCENTRALEN ") == [A, B, D]
        assert ids(search="ÖST\u2013ÄNGEN") == [D]
        assert ids(search="öst  ängen") == [D]
        assert ids(region="01", search="syd") == []

    def test_list_clinics_pages_with_opaque_cursor(self, standard: CareAccess) -> None:
        first = standard.list_clinics(limit=3)
        assert [c.id for c in first.items] == [A, B, C]
        assert first.next_cursor is not None
        assert A not in first.next_cursor
        assert C not in first.next_cursor
        second = standard.list_clinics(limit=3, cursor=first.next_cursor)
        assert [c.id for c in second.items] == [D]
        assert second.next_cursor is None
        assert standard.list_clinics(limit=4).next_cursor is None
        with pytest.raises(InvalidRequest) as raised:
            standard.list_clinics(limit=3, cursor=first.next_cursor, region="01")  # another query's cursor
        assert raised.value.code == "invalid_cursor"

    @pytest.mark.parametrize("cursor", ["", "garbage", "azE", "a" * 80])
    def test_list_clinics_invalid_cursor(self, standard: CareAccess, cursor: str) -> None:
        with pytest.raises(InvalidRequest) as raised:
            standard.list_clinics(cursor=cursor)
        assert raised.value.code == "invalid_cursor"

    @pytest.mark.parametrize(
        ("kwargs", "code"),
        [
            ({"limit": 0}, "invalid_limit"),
            ({"limit": 100_000}, "invalid_limit"),
            ({"region": "99"}, "unknown_region"),
            ({"municipality": "9999"}, "unknown_municipality"),
            ({"region": "01", "municipality": "0380"}, "municipality_outside_region"),
            ({"search": "x" * 201}, "invalid_search"),
        ],
    )
    def test_list_clinics_refuses(self, standard: CareAccess, kwargs: dict[str, Any], code: str) -> None:
        with pytest.raises(InvalidRequest) as raised:
            standard.list_clinics(**kwargs)
        assert raised.value.code == code

    def test_list_clinics_for_an_actor(self, standard: CareAccess, store: Store, clock: FrozenClock) -> None:
        admin = Actor("admin-b", frozenset({B, D, "elsewhere"}))
        assert [c.id for c in standard.list_clinics(actor=admin).items] == [B, D]
        page = standard.list_clinics(actor=admin, limit=1)
        assert [c.id for c in page.items] == [B]
        assert [c.id for c in standard.list_clinics(actor=admin, limit=1, cursor=page.next_cursor).items] == [D]
        # Authorization hooks may widen or narrow what actor.clinics says.
        hooked = connect(store, plugins=[_Authorize(frozenset({A}), frozenset({D}))], clock=clock)
        assert [c.id for c in hooked.list_clinics(actor=admin).items] == [A, B]
        first = hooked.list_clinics(actor=admin, limit=1)
        assert [c.id for c in first.items] == [A]
        assert [c.id for c in hooked.list_clinics(actor=admin, limit=1, cursor=first.next_cursor).items] == [B]

    def test_list_clinics_fallback_and_native_agree(self, standard: CareAccess, plain: CareAccess) -> None:
        queries: list[dict[str, Any]] = [
            {},
            {"region": "01"},
            {"municipality": "0380"},
            {"search": "centralen"},
            {"actor": Actor("x", frozenset({A, C}))},
        ]
        for query in queries:
            for limit in (1, 2, 50):
                assert _all_pages(plain, limit, **query) == _all_pages(standard, limit, **query)
        store = standard.store
        if isinstance(store, ReachStore):
            for clinic_query in (
                ClinicQuery(10, after=A),
                ClinicQuery(10, region="03"),
                ClinicQuery(10, name_contains=fold("Vårdcentralen Öst")),
                ClinicQuery(2, clinic_ids=frozenset({B, D, "nope"})),
            ):
                assert store.list_clinics(clinic_query) == list_clinics_fallback(store, clinic_query)

    def test_list_clinics_pages_without_repeats_or_gaps_under_concurrent_writes(
        self, access: CareAccess, store: Store, clock: FrozenClock
    ) -> None:
        count = self.directory_clinics
        owner = connect(store, plugins=[_Authorize(None, frozenset())], clock=clock)
        stable = [Clinic(f"d{i:05d}", f"Hälsocentral {i}", ServiceArea([AreaRule("01")])) for i in range(0, count, 2)]
        movers = [Clinic(f"d{i:05d}", f"Hälsocentral {i}") for i in range(1, count, 2)]
        for clinic in (*stable, *movers):
            owner.put_clinic(ADMIN_ALL, clinic)
        stop = threading.Event()
        failures: list[BaseException] = []

        def write() -> None:
            try:
                for round_ in itertools.count():
                    if stop.is_set():
                        return
                    # New clinics before and after the cursor, and a renamed one that leaves the search.
                    owner.put_clinic(ADMIN_ALL, Clinic(f"d{round_ % count:05d}x", "Hälsocentral ny"))
                    mover = movers[round_ % len(movers)]
                    owner.put_clinic(ADMIN_ALL, attrs.evolve(mover, name=f"Flyttad {round_}"))
            except BaseException as error:  # pragma: no cover - reported below
                failures.append(error)

        writer = threading.Thread(target=write) if self.supports_threads else None
        if writer is not None:
            writer.start()
        try:
            seen: list[str] = []
            cursor = None
            while True:
                page = access.list_clinics(search="hälsocentral", limit=97, cursor=cursor)
                seen.extend(c.id for c in page.items)
                if writer is None:
                    owner.put_clinic(ADMIN_ALL, Clinic(f"d{len(seen):05d}y", "Hälsocentral mellan"))
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        finally:
            stop.set()
            if writer is not None:
                writer.join()
        assert not failures
        assert seen == sorted(set(seen))
        assert {c.id for c in stable} <= set(seen)


ADMIN_ALL = Actor("admin-all")


def _all_pages(access: CareAccess, limit: int, **query: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = access.list_clinics(limit=limit, cursor=cursor, **query)
        seen.extend(c.id for c in page.items)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def _names_place(clinic: Clinic, residence: Residence | None) -> bool:
    return bool(area_keys(clinic.service_area.rules) & set(residence_keys(residence)))
