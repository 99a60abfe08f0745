"""The pure resident's side: ``clinics_reachable`` agrees with ``decide`` without any store."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
from hypothesis import given
from hypothesis import strategies as st

from careaccess import AreaRule, CaseType, Clinic, Decision, Gender, Reason, Residence, ServiceArea
from careaccess.area import rule_matches
from careaccess.decision import decide
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval, Grant
from careaccess.names import fold
from careaccess.reach import COUNTRY, ClinicAccess, ReachFacts, area_keys, clinics_reachable, residence_keys
from careaccess.reachstore import ClinicQuery, clinic_matches
from careaccess.store import DecisionFacts
from careaccess.testing.conformance import make_pnr
from careaccess.testing.strategies import area_rules, identity_numbers, residences, worlds
from careaccess.testing.world import World

STOCKHOLM = ZoneInfo("Europe/Stockholm")
AT = dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.UTC)
PERSON = make_pnr("19800101", 123)
NOON = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
SOMEWHERE = Residence("01", "0180")


def _no_directory(pnr: PersonalIdentityNumber) -> Residence | None:
    raise AssertionError("the directory must not be asked when the residence is given")


def _facts_of(world: World) -> ReachFacts:
    return ReachFacts(world.clinics, world.case_types, world.approvals, world.grants)


def _decide_all(
    world: World, pnr: PersonalIdentityNumber, at: dt.datetime, residence: Residence | None
) -> dict[tuple[str, str], Decision]:
    """Every (clinic, case type) of the world decided one at a time, as load_facts would feed decide."""
    result: dict[tuple[str, str], Decision] = {}
    for case_type in world.case_types:
        clinic = next(c for c in world.clinics if c.id == case_type.clinic_id)
        approval = next((a for a in world.approvals if a.clinic_id == clinic.id and a.pnr == pnr), None)
        grant = next(
            (g for g in world.grants if g.clinic_id == clinic.id and g.case_type_id == case_type.id and g.pnr == pnr),
            None,
        )
        facts = DecisionFacts(clinic, case_type, approval, grant)
        result[clinic.id, case_type.id] = decide(
            facts, pnr, clinic.id, case_type.id, at, STOCKHOLM, residence, lambda _: None
        )
    return result


@st.composite
def worlds_with_a_resident(draw: st.DrawFn) -> tuple[World, PersonalIdentityNumber, dt.datetime, Residence | None]:
    world = draw(worlds(max_clinics=4, max_residents=4))
    pool = [Residence("01", "0180"), Residence("01", "0114"), Residence("03", "0380"), Residence("03")]
    rules = area_rules(region=None) | st.builds(
        AreaRule,
        region=st.sampled_from(["01", "03"]),
        gender=st.none() | st.sampled_from(Gender),
        min_age=st.none() | st.integers(0, 60),
    )
    rules = rules | st.sampled_from([AreaRule("01", "0180"), AreaRule("03", "0380", max_age=40)])
    clinics = tuple(
        attrs.evolve(clinic, service_area=ServiceArea(draw(st.lists(rules, max_size=3)))) for clinic in world.clinics
    )
    world = attrs.evolve(world, clinics=clinics)
    people = [r.pnr for r in world.residents]
    pnr = draw(st.sampled_from(people)) if people else draw(identity_numbers(max_birth_date=world.today))
    day = draw(st.sampled_from([world.today - dt.timedelta(days=1), world.today, world.today + dt.timedelta(days=1)]))
    at = dt.datetime.combine(day, draw(st.sampled_from([dt.time(0), dt.time(12), dt.time(23, 59, 59)])), STOCKHOLM)
    residence = draw(st.none() | st.sampled_from(pool))
    return world, pnr, at, residence


@given(worlds_with_a_resident(), st.booleans())
def test_agrees_with_decide_for_every_clinic_and_case_type(
    case: tuple[World, PersonalIdentityNumber, dt.datetime, Residence | None], include_denied: bool
) -> None:
    world, pnr, at, residence = case
    expected = _decide_all(world, pnr, at, residence)
    found = clinics_reachable(
        _facts_of(world), pnr, at, STOCKHOLM, residence, lambda _: None, include_denied=include_denied
    )
    listed = {(access.clinic.id, d.case_type_id): d for access in found for d in access.decisions}
    if include_denied:
        allowed = {key: d for key, d in expected.items() if d.allowed}
        assert allowed.items() <= listed.items() <= expected.items()
        shown = {clinic_id for clinic_id, _ in listed}
        assert {key for key in expected if key[0] in shown} == listed.keys()
    else:
        assert listed == {key: d for key, d in expected.items() if d.allowed}
        assert all(access.reachable for access in found)
    assert [a.clinic.id for a in found] == sorted({a.clinic.id for a in found})
    for access in found:
        assert [d.case_type_id for d in access.decisions] == sorted(d.case_type_id for d in access.decisions)


@given(area_rules(), residences(), identity_numbers(max_birth_date=dt.date(2025, 1, 1)))
def test_area_keys_never_leave_out_a_matching_rule(rule: AreaRule, residence: Residence, pnr: object) -> None:
    assert isinstance(pnr, PersonalIdentityNumber)
    if rule_matches(rule, residence, pnr, dt.date(2026, 1, 1)):
        assert area_keys([rule]) & set(residence_keys(residence))


def test_area_keys_by_narrowest_place() -> None:
    rules = [AreaRule("01", "0180"), AreaRule("03"), AreaRule(gender=Gender.FEMALE)]
    assert area_keys(rules) == {("municipality", "0180"), ("region", "03"), COUNTRY}
    assert residence_keys(None) == (COUNTRY,)
    assert residence_keys(Residence("01")) == (COUNTRY, ("region", "01"))
    assert residence_keys(SOMEWHERE) == (COUNTRY, ("region", "01"), ("municipality", "0180"))


def _clinic(clinic_id: str, *rules: AreaRule, name: str = "Vårdcentralen") -> Clinic:
    return Clinic(clinic_id, name, ServiceArea(rules))


def test_order_reasons_and_records() -> None:
    approval = Approval("b", PERSON, "Ann", NOON, "admin")
    grant = Grant("a", PERSON, "kbt", dt.date(2026, 3, 1), 1, NOON, "admin", NOON)
    facts = ReachFacts(
        [_clinic("b"), _clinic("a"), _clinic("c", AreaRule("01"))],
        [
            CaseType("b", "z", "Fråga"),
            CaseType("b", "y", "Recept"),
            CaseType("b", "kbt", "KBT", restricted=True),
            CaseType("a", "kbt", "KBT", restricted=True),
            CaseType("a", "open", "Fråga"),
            CaseType("c", "open", "Fråga"),
        ],
        [approval],
        [grant],
    )
    found = clinics_reachable(facts, PERSON, AT, STOCKHOLM, SOMEWHERE, _no_directory)
    assert [(a.clinic.id, [(d.case_type_id, d.reason) for d in a.decisions]) for a in found] == [
        ("a", [("kbt", Reason.GRANTED)]),
        ("b", [("y", Reason.APPROVED), ("z", Reason.APPROVED)]),
        ("c", [("open", Reason.SERVICE_AREA)]),
    ]
    assert found[0].decisions[0].grant == grant
    assert found[1].decisions[0].approval == approval
    assert found[2].decisions[0].rule == AreaRule("01")


def test_grant_ends_at_the_end_of_its_local_day() -> None:
    grant = Grant("a", PERSON, "kbt", dt.date(2026, 3, 1), 1, NOON, "admin", NOON)
    facts = ReachFacts([_clinic("a")], [CaseType("a", "kbt", "KBT", restricted=True)], [], [grant])
    last = dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=STOCKHOLM)
    assert clinics_reachable(facts, PERSON, last, STOCKHOLM, None, lambda _: None)
    after = last + dt.timedelta(seconds=1)
    assert clinics_reachable(facts, PERSON, after, STOCKHOLM, None, lambda _: None) == []
    denied = clinics_reachable(facts, PERSON, after, STOCKHOLM, None, lambda _: None, include_denied=True)
    assert [d.reason for d in denied[0].decisions] == [Reason.GRANT_EXPIRED]
    assert not denied[0].reachable
    assert denied[0].allowed == ()


def test_other_residents_records_are_ignored() -> None:
    other = make_pnr("19900101", 124)
    facts = ReachFacts(
        [_clinic("a")], [CaseType("a", "open", "Fråga")], [Approval("a", other, None, NOON, "admin")], []
    )
    assert clinics_reachable(facts, PERSON, AT, STOCKHOLM, None, lambda _: None) == []


def test_directory_asked_at_most_once_and_only_when_needed() -> None:
    asked: list[PersonalIdentityNumber] = []

    def directory(pnr: PersonalIdentityNumber) -> Residence | None:
        asked.append(pnr)
        return SOMEWHERE

    facts = ReachFacts(
        [_clinic(c, AreaRule("01")) for c in "abc"], [CaseType(c, "open", "Fråga") for c in "abc"], [], []
    )
    found = clinics_reachable(facts, PERSON, AT, STOCKHOLM, None, directory)
    assert [a.clinic.id for a in found] == ["a", "b", "c"]
    assert asked == [PERSON]
    asked.clear()
    approved = ReachFacts(
        [_clinic("a")], [CaseType("a", "open", "Fråga")], [Approval("a", PERSON, None, NOON, "x")], []
    )
    assert clinics_reachable(approved, PERSON, AT, STOCKHOLM, None, directory)
    assert asked == []


def test_clinic_without_case_types_is_never_listed() -> None:
    facts = ReachFacts([_clinic("a")], [], [Approval("a", PERSON, None, NOON, "x")], [])
    assert clinics_reachable(facts, PERSON, AT, STOCKHOLM, None, lambda _: None, include_denied=True) == []


def test_clinic_access_is_a_frozen_record() -> None:
    decision = decide(
        DecisionFacts(_clinic("a"), CaseType("a", "t", "T"), None, None),
        PERSON,
        "a",
        "t",
        AT,
        STOCKHOLM,
        None,
        lambda _: None,
    )
    access = ClinicAccess(_clinic("a"), [decision])
    assert access.decisions == (decision,)
    assert not access.reachable


def test_fold() -> None:
    assert fold("  Vårdcentralen  Öst–Norr ") == "vårdcentralen öst norr"
    assert fold("STRASSE") == fold("Straße")
    assert fold("Å") == "å"


def test_clinic_matches_places_and_names() -> None:
    clinic = _clinic("a", AreaRule("01", "0180"), AreaRule("03"), name="Vårdcentralen Öst")
    everywhere = _clinic("b", AreaRule(), name="Nätläkare")
    assert clinic_matches(clinic, ClinicQuery(10, region="01"))
    assert clinic_matches(clinic, ClinicQuery(10, region="03"))
    assert not clinic_matches(clinic, ClinicQuery(10, region="12"))
    assert clinic_matches(clinic, ClinicQuery(10, municipality="0180"))
    assert not clinic_matches(clinic, ClinicQuery(10, municipality="0114"))
    assert clinic_matches(clinic, ClinicQuery(10, municipality="0380"))  # the region-wide rule covers it
    assert not clinic_matches(everywhere, ClinicQuery(10, region="01"))
    assert clinic_matches(clinic, ClinicQuery(10, name_contains="centralen öst"))
    assert not clinic_matches(clinic, ClinicQuery(10, name_contains="väst"))
    assert not clinic_matches(clinic, ClinicQuery(10, clinic_ids=frozenset({"b"})))


def test_include_denied_lists_candidates_only() -> None:
    facts = ReachFacts(
        [_clinic("far", AreaRule("12")), _clinic("near", AreaRule("01", max_age=10)), _clinic("none")],
        [CaseType(c, "open", "Fråga") for c in ("far", "near", "none")],
        [],
        [],
    )
    found = clinics_reachable(facts, PERSON, AT, STOCKHOLM, SOMEWHERE, _no_directory, include_denied=True)
    assert [(a.clinic.id, [d.reason for d in a.decisions]) for a in found] == [("near", [Reason.NOT_APPROVED])]
