"""Validation at construction, and the small behaviours of the records."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from careaccess import (
    Actor,
    Approval,
    AreaRule,
    CaseType,
    Clinic,
    Decision,
    Grant,
    InvalidRequest,
    Reason,
    Residence,
    Resident,
    ResidentAccess,
    ServiceArea,
)
from careaccess.testing.conformance import make_pnr

PNR = make_pnr("19800314", 242)
NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: Residence("99"), "unknown_region"),
        (lambda: Residence("01", "9999"), "unknown_municipality"),
        (lambda: Residence("03", "0180"), "municipality_outside_region"),
        (lambda: AreaRule(municipality="0180"), "municipality_outside_region"),
        (lambda: AreaRule(region="01", municipality="0380"), "municipality_outside_region"),
        (lambda: AreaRule(min_age=-1), "invalid_age"),
        (lambda: AreaRule(max_age=151), "invalid_age"),
        (lambda: AreaRule(min_age=True), "invalid_age"),
        (lambda: AreaRule(min_age=40, max_age=39), "invalid_age"),
        (lambda: Clinic("", "Tom"), "invalid_identifier"),
        (lambda: Clinic(" c1", "Blanksteg"), "invalid_identifier"),
        (lambda: Clinic("c" * 201, "Lång"), "invalid_identifier"),
        (lambda: CaseType("c1", "", "Tom"), "invalid_identifier"),
        (lambda: Actor(""), "invalid_identifier"),
        (lambda: Resident("191212121212"), "invalid_identifier"),  # type: ignore[arg-type]
        (lambda: Approval("c1", PNR, None, dt.datetime(2026, 1, 1), "a"), "naive_datetime"),
        (lambda: Grant("c1", PNR, "t", NOW, 1, NOW, "a", NOW), "invalid_date"),
    ],
)
def test_invalid_records_are_refused(build: object, code: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        build()  # type: ignore[operator]
    assert raised.value.code == code
    assert raised.value.message_sv != raised.value.message_en


def test_valid_areas() -> None:
    assert Residence("01", "0180").municipality == "0180"
    assert AreaRule(region="01", municipality="0180", min_age=18, max_age=18).max_age == 18
    assert ServiceArea([AreaRule()]).rules == (AreaRule(),)  # lists become tuples


def test_records_are_frozen() -> None:
    clinic = Clinic("c1", "Mottagningen")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        clinic.name = "Annan"  # type: ignore[misc]
    assert Actor("a", ["c1", "c1"]).clinics == frozenset({"c1"})


def test_grant_validity_is_inclusive() -> None:
    grant = Grant("c1", PNR, "t", dt.date(2026, 2, 1), 1, NOW, "a", NOW)
    assert grant.is_valid_on(dt.date(2026, 2, 1))
    assert not grant.is_valid_on(dt.date(2026, 2, 2))
    assert attrs.evolve(grant, until=None).is_valid_on(dt.date(9999, 12, 31))


def test_resident_access_name_and_expired_grants() -> None:
    old = Grant("c1", PNR, "b", dt.date(2026, 1, 1), 1, NOW, "a", NOW, name="Från utdelning")
    current = Grant("c1", PNR, "a", None, 1, NOW, "a", NOW)
    access = ResidentAccess.of(PNR, None, [old, current])
    assert access.name == "Från utdelning"
    assert [g.case_type_id for g in access.grants] == ["a", "b"]
    assert access.expired_grants(dt.date(2026, 1, 2)) == (old,)
    approval = Approval("c1", PNR, "Från godkännande", NOW, "a")
    assert ResidentAccess.of(PNR, approval, [old]).name == "Från godkännande"
    assert ResidentAccess.of(PNR, None, []).name is None


def test_decision_truthiness() -> None:
    yes = Decision(True, Reason.APPROVED, PNR, "c1", "t", NOW)
    no = Decision(False, Reason.NOT_APPROVED, PNR, "c1", "t", NOW)
    assert yes
    assert not no
    assert Reason("grant_expired") is Reason.GRANT_EXPIRED
    assert [r.value for r in Reason] == [
        "unknown_clinic",
        "unknown_case_type",
        "granted",
        "grant_expired",
        "not_granted",
        "approved",
        "service_area",
        "not_approved",
    ]
