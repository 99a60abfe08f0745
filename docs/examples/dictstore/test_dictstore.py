"""careaccess-dictstore passes the careaccess conformance suite and the stateful model check."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from careaccess_dictstore import DictStore, plugin
from hypothesis import settings

from careaccess import Actor, Clinic, Store, connect
from careaccess.testing.conformance import StoreConformance
from careaccess.testing.conformance_reach import ReachConformance
from careaccess.testing.stateful import CareAccessMachine


class TestDictStore(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = DictStore()
        yield store
        store.close()


class TestDictStoreReach(ReachConformance):
    """The resident's side through the core's fallback: DictStore implements no ReachStore."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = DictStore()
        yield store
        store.close()


class DictStoreMachine(CareAccessMachine):
    def make_store(self) -> Store:
        return DictStore()


TestDictStoreMachine = DictStoreMachine.TestCase
TestDictStoreMachine.settings = settings(TestDictStoreMachine.settings, stateful_step_count=30, deadline=None)


def test_the_plugin_opens_dictstore_urls_only() -> None:
    with connect("dictstore://", plugins=[plugin]) as access:
        assert isinstance(access.store, DictStore)
    assert plugin.careaccess_open_store("memory://") is None


def test_the_whole_state_is_json_and_reopens() -> None:
    admin = Actor("admin", frozenset({"c1"}))
    with connect("dictstore://", plugins=[plugin]) as access:
        access.put_clinic(admin, Clinic("c1", "Vårdcentralen"))
        access.approve_resident(admin, "c1", "19121212-1212", name="Tolvan")
        assert isinstance(access.store, DictStore)
        text = json.dumps(access.store.snapshot())
    reopened = connect(DictStore(json.loads(text)))
    assert reopened.clinic("c1") == Clinic("c1", "Vårdcentralen")
    assert [e.action.value for e in reopened.events()] == ["clinic_saved", "resident_approved"]
    assert reopened.decide("19121212-1212", "c1", "none").reason.value == "unknown_case_type"
