"""``careaccess.converter``: JSON-ready data and back, for every record the API returns."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import cattrs
from hypothesis import given
from hypothesis import strategies as st

import careaccess
from careaccess import (
    Actor,
    AreaRule,
    CaseType,
    Clinic,
    Decision,
    Event,
    Gender,
    Page,
    Residence,
    Resident,
    ResidentAccess,
    ServiceArea,
    StaticDirectory,
    connect,
    converter,
    make_converter,
)
from careaccess.memory import MemoryStore
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

ADMIN = Actor("admin", frozenset({"c1"}))


def round_trip(value: Any, type_: Any) -> Any:
    data = converter.unstructure(value, type_)
    text = json.dumps(data)  # must be JSON-ready as is
    return converter.structure(json.loads(text), type_)


@given(
    birth=st.dates(dt.date(1930, 1, 1), dt.date(2010, 12, 31)),
    serial=st.integers(1, 999),
    moment=st.datetimes(
        dt.datetime(2020, 1, 1),
        dt.datetime(2030, 1, 1),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=2))]),
    ),
    until=st.none() | st.dates(dt.date(2030, 1, 2), dt.date(2040, 1, 1)),
    name=st.none() | st.text(min_size=1, max_size=30),
)
def test_workflow_records_round_trip(
    birth: dt.date, serial: int, moment: dt.datetime, until: dt.date | None, name: str | None
) -> None:
    pnr = make_pnr(f"{birth:%Y%m%d}", serial)
    access = connect(
        MemoryStore(),
        clock=FrozenClock(moment),
        plugins=[StaticDirectory([Resident(pnr, name, Residence("01", "0180"))])],
    )
    area = ServiceArea((AreaRule(region="01", municipality="0180", gender=Gender.FEMALE, min_age=1, max_age=99),))
    access.put_clinic(ADMIN, Clinic("c1", "Mottagningen", area))
    access.put_case_type(ADMIN, CaseType("c1", "t", "KBT", restricted=True))
    access.approve_resident(ADMIN, "c1", pnr)
    access.grant_case_type(ADMIN, "c1", pnr, "t", until=until)
    page = access.list_residents(ADMIN, "c1")
    assert round_trip(page, Page[ResidentAccess]) == page
    events = access.events()
    assert round_trip(events, list[Event]) == events
    decisions = access.decide_many([(pnr, "c1", "t"), (pnr, "c1", "x"), (pnr, "x", "t")])
    assert round_trip(decisions, list[Decision]) == decisions
    resident = access.lookup_resident(pnr)
    assert round_trip(resident, Resident) == resident
    assert round_trip(ADMIN, Actor) == ADMIN
    assert round_trip(access.clinic("c1"), Clinic) == access.clinic("c1")


def test_shapes_are_stable() -> None:
    pnr = make_pnr("19121212", 121)
    moment = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    access = connect(MemoryStore(), clock=FrozenClock(moment))
    access.put_clinic(ADMIN, Clinic("c1", "Mottagningen"))
    access.put_case_type(ADMIN, CaseType("c1", "t", "KBT", restricted=True))
    grant = access.grant_case_type(ADMIN, "c1", pnr, "t", until=dt.date(2026, 4, 1))
    assert converter.unstructure(grant) == {
        "clinic_id": "c1",
        "pnr": "191212121212",
        "case_type_id": "t",
        "until": "2026-04-01",
        "version": 1,
        "granted_at": "2026-03-29T01:30:00+00:00",
        "granted_by": "admin",
        "changed_at": "2026-03-29T01:30:00+00:00",
        "name": None,
    }
    decision = converter.unstructure(access.decide(pnr, "c1", "t"))
    assert decision["reason"] == "granted"
    assert type(decision["reason"]) is str
    assert decision["pnr"] == "191212121212"
    event = converter.unstructure(access.events()[-1])
    assert event["action"] == "case_type_granted"
    assert type(event["action"]) is str
    assert event["after"]["until"] == "2026-04-01"
    assert "pnr" not in event["after"]
    assert converter.unstructure(Actor("a", frozenset({"b", "a"}))) == {"id": "a", "clinics": ["a", "b"]}
    assert converter.unstructure(AreaRule(gender=Gender.MALE))["gender"] == "male"


def test_private_converter() -> None:
    assert converter is not cattrs.global_converter
    mine = make_converter()
    assert mine is not converter
    assert mine.unstructure(make_pnr("19121212", 121)) == "191212121212"
    assert careaccess.converter is converter
