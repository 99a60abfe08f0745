"""Limits met exactly, the names and events of an import: gaps in the change planning's tests.

Mutation testing (``nox -s mutation``, docs/testing.md) showed that no test planned a
grant at exactly :data:`~careaccess.store.MAX_VERSION`, imported an author of exactly
:data:`~careaccess.planning.MAX_AUTHOR_LENGTH` characters or a record with a bad name, or
read the moment and the ``after`` of an import's events.
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from careaccess import Approval, CaseType, Clinic, Grant, InvalidRequest
from careaccess import planning as p
from careaccess.store import MAX_VERSION
from careaccess.testing.conformance import make_pnr
from careaccess.testing.strategies import records

NOW = dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.UTC)
PERSON = make_pnr("19800314", 242)
CLINIC = Clinic("c1", "Vårdcentralen")
KBT = CaseType("c1", "kbt", "KBT", restricted=True)
APPROVAL = Approval("c1", PERSON, "Åsa", NOW, "admin")
GRANT = Grant("c1", PERSON, "kbt", None, 3, NOW, "admin", NOW, "Åsa")


def test_the_highest_version_is_in_the_range() -> None:
    assert p.check_version(MAX_VERSION) == MAX_VERSION
    planned = p.plan_import("admin", CLINIC, [KBT], [attrs.evolve(GRANT, version=MAX_VERSION)], NOW)
    assert planned is not None


def test_an_author_of_the_longest_length_is_imported() -> None:
    longest = "a" * p.MAX_AUTHOR_LENGTH
    approval = attrs.evolve(APPROVAL, approved_by=longest)
    grant = attrs.evolve(GRANT, granted_by=longest)
    planned = p.plan_import("admin", CLINIC, [KBT], [approval, grant], NOW)
    assert planned is not None
    assert len(planned.writes) == 2


@pytest.mark.parametrize("name", ["", "Å\x00sa", "x" * 10_000])
def test_an_imported_record_with_a_bad_name_is_refused_naming_the_field(name: str) -> None:
    for record in (attrs.evolve(APPROVAL, name=name), attrs.evolve(GRANT, name=name)):
        with pytest.raises(InvalidRequest) as raised:
            p.plan_import("admin", CLINIC, [KBT], [record], NOW)
        assert raised.value.code == "invalid_name"
        assert raised.value.message_en.startswith("name ")
        assert raised.value.message_sv.startswith("name ")


def test_each_imported_record_has_an_event_at_the_moment_given_with_the_record_after() -> None:
    other = make_pnr("19121212", 121)
    records: list[Approval | Grant] = [APPROVAL, attrs.evolve(APPROVAL, pnr=other, name=None), GRANT]
    planned = p.plan_import("admin", CLINIC, [KBT], records, NOW)
    assert planned is not None
    assert [(e.at, e.actor_id, e.clinic_id, e.pnr) for e in planned.events] == [
        (NOW, "admin", "c1", PERSON),
        (NOW, "admin", "c1", other),
        (NOW, "admin", "c1", PERSON),
    ]
    assert [e.case_type_id for e in planned.events] == [None, None, "kbt"]
    assert [e.before for e in planned.events] == [None, None, None]
    assert [e.after for e in planned.events] == [p.snapshot(r) for r in records]
    assert all(e.after is not None and "pnr" not in e.after for e in planned.events)


@given(record=st.one_of(records.approvals(), records.grants()))
def test_an_imported_records_event_data_is_its_snapshot_key_for_key_in_order(record: Approval | Grant) -> None:
    direct = p._imported_snapshot(record)
    assert direct == p.snapshot(record)
    assert direct is not None
    assert list(direct) == list(p.snapshot(record) or {})
    assert [type(value) for value in direct.values()] == [type(value) for value in (p.snapshot(record) or {}).values()]


def test_an_imported_subclass_of_a_record_keeps_its_own_fields_in_the_event() -> None:
    @attrs.frozen
    class Noted(Approval):
        note: str = "moved"

    record = Noted(APPROVAL.clinic_id, APPROVAL.pnr, APPROVAL.name, APPROVAL.approved_at, APPROVAL.approved_by)
    planned = p.plan_import("admin", CLINIC, [KBT], [record], NOW)
    assert planned is not None
    assert planned.events[0].after == {**(p.snapshot(APPROVAL) or {}), "note": "moved"}
