"""Each hook of ``careaccess.hookspecs``, and plugin loading."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Generator, Iterator
from typing import Any

import pytest

import careaccess
import careaccess.plugins
from careaccess import (
    Action,
    Actor,
    CaseType,
    Clinic,
    Conflict,
    Event,
    PermissionDenied,
    Reason,
    Residence,
    Resident,
    UnknownStore,
    connect,
    hookimpl,
)
from careaccess.identity import PersonalIdentityNumber
from careaccess.memory import MemoryStore
from careaccess.plugins import DISABLE_ENV, make_plugin_manager
from careaccess.testing.conformance import make_pnr

ADMIN = Actor("admin", frozenset({"c1"}))
PNR = make_pnr("19800314", 242)


@pytest.fixture
def clean_entry_point_cache() -> Iterator[None]:
    from careaccess.plugins import _entry_point_plugins

    _entry_point_plugins.cache_clear()
    yield
    _entry_point_plugins.cache_clear()


def setup_clinic(access: careaccess.CareAccess) -> None:
    access.put_clinic(ADMIN, Clinic("c1", "Mottagningen"))
    access.put_case_type(ADMIN, CaseType("c1", "t1", "Fråga"))


def test_hook_careaccess_open_store() -> None:
    opened: list[str] = []

    class Opener:
        @hookimpl
        def careaccess_open_store(self, url: str) -> MemoryStore | None:
            if not url.startswith("custom://"):
                return None
            opened.append(url)
            return MemoryStore()

    access = connect("custom://anything", plugins=[Opener()])
    assert opened == ["custom://anything"]
    assert isinstance(access.store, MemoryStore)
    # The built-in memory store is a fallback, tried last.
    assert isinstance(connect("memory://", plugins=[Opener()]).store, MemoryStore)
    assert opened == ["custom://anything"]


def test_hook_careaccess_store_schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "*")  # only this test's plugin and the built-in

    class Schemes:
        @hookimpl
        def careaccess_store_schemes(self) -> list[str]:
            return ["zeta", "alpha"]

    with pytest.raises(UnknownStore) as raised:
        connect("nothing://here", plugins=[Schemes()])
    assert "alpha, memory, zeta" in raised.value.message_en
    assert raised.value.code == "unknown_store_scheme"


@pytest.mark.parametrize(
    ("url", "package"),
    [
        ("redis://localhost:6379/0", "careaccess-redis"),
        ("sqlite:///careaccess.db", "careaccess-sql"),
        ("postgresql+psycopg://localhost/db", "careaccess-sql"),
    ],
)
def test_unknown_scheme_names_the_package(url: str, package: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "*")  # as if no backend were installed
    with pytest.raises(UnknownStore) as raised:
        connect(url)
    assert package in raised.value.message_en
    assert package in raised.value.message_sv
    assert "memory" in raised.value.message_en


def test_hook_careaccess_lookup_resident() -> None:
    calls: list[PersonalIdentityNumber] = []

    class Register:
        @hookimpl
        def careaccess_lookup_resident(self, pnr: PersonalIdentityNumber) -> Resident | None:
            calls.append(pnr)
            return Resident(pnr, "Åsa Öberg", Residence("01", "0180")) if pnr == PNR else None

    access = connect(plugins=[Register()])
    assert access.lookup_resident(str(PNR)) == Resident(PNR, "Åsa Öberg", Residence("01", "0180"))
    assert access.lookup_resident(make_pnr("19121212", 121)) is None
    setup_clinic(access)
    assert access.approve_resident(ADMIN, "c1", PNR).name == "Åsa Öberg"
    # The decision asks only when a service area could decide: approval comes first.
    calls.clear()
    assert access.decide(PNR, "c1", "t1").reason is Reason.APPROVED
    assert calls == []


def test_lookup_is_not_called_when_clinic_has_no_rules() -> None:
    calls: list[PersonalIdentityNumber] = []

    class Register:
        @hookimpl
        def careaccess_lookup_resident(self, pnr: PersonalIdentityNumber) -> Resident | None:
            calls.append(pnr)
            return None

    access = connect(plugins=[Register()])
    setup_clinic(access)
    assert access.decide(PNR, "c1", "t1").reason is Reason.NOT_APPROVED
    assert calls == []


def test_hook_careaccess_notify(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, Event]] = []

    class Failing:
        @hookimpl(tryfirst=True)
        def careaccess_notify(self, event: Event) -> None:
            raise RuntimeError(f"listener down while sending {event.pnr and event.pnr.digits}")

    class Listener:
        @hookimpl
        def careaccess_notify(self, event: Event) -> None:
            seen.append(("listener", event))
            # Told after commit: the change is already visible in the store.
            assert event in access.events(limit=1000)

    access = connect(plugins=[Failing(), Listener()])
    setup_clinic(access)
    with caplog.at_level(logging.ERROR, logger="careaccess"):
        approval = access.approve_resident(ADMIN, "c1", PNR)
    assert access.resident_access(ADMIN, "c1", PNR).approval == approval  # not undone
    assert [event.action for _, event in seen] == [
        Action.CLINIC_SAVED,
        Action.CASE_TYPE_SAVED,
        Action.RESIDENT_APPROVED,
    ]
    assert "listener down" in caplog.text
    # An unnamed plugin is named by its class, not by pluggy's id() number.
    assert "test_hook_careaccess_notify.<locals>.Failing" in caplog.text
    assert PNR.digits not in caplog.text
    assert PNR.digits[2:] not in caplog.text
    # A refused change tells nobody.
    seen.clear()
    with pytest.raises(PermissionDenied):
        access.approve_resident(Actor("other", frozenset()), "c1", make_pnr("19121212", 121))
    assert seen == []


def test_hook_careaccess_authorize() -> None:
    class Policy:
        @hookimpl
        def careaccess_authorize(self, actor: Actor, action: str, clinic_id: str) -> bool | None:
            if actor.id == "auditor":
                return action == "view"  # may read every clinic, change none
            if action == Action.CASE_TYPE_REMOVED:
                return False  # nobody removes case types here
            return None

    access = connect(plugins=[Policy()])
    setup_clinic(access)
    auditor = Actor("auditor", frozenset({"c1"}))
    assert access.list_residents(auditor, "c1").items == ()
    with pytest.raises(PermissionDenied):
        access.approve_resident(auditor, "c1", PNR)  # False wins over administering the clinic
    with pytest.raises(PermissionDenied):
        access.remove_case_type(ADMIN, "c1", "t1")
    assert access.authorized(ADMIN, Action.RESIDENT_APPROVED, "c1")
    assert not access.authorized(ADMIN, Action.RESIDENT_APPROVED, "c2")


def test_authorize_hook_may_extend() -> None:
    class Regional:
        @hookimpl
        def careaccess_authorize(self, actor: Actor, action: str, clinic_id: str) -> bool | None:
            return True if actor.id == "regional-admin" else None

    access = connect(plugins=[Regional()])
    setup_clinic(access)
    regional = Actor("regional-admin")
    assert access.approve_resident(regional, "c1", PNR).approved_by == "regional-admin"


def test_hook_careaccess_upgrade_store() -> None:
    class Migrator:
        @hookimpl
        def careaccess_upgrade_store(self, url: str) -> str | None:
            return "migrated" if url.startswith("custom:") else None

    manager = make_plugin_manager([Migrator()])
    assert manager.hook.careaccess_upgrade_store(url="custom://x") == "migrated"
    assert manager.hook.careaccess_upgrade_store(url="memory://") == "memory stores have no schema"
    assert manager.hook.careaccess_upgrade_store(url="other://x") is None


def test_entry_point_plugins_are_loaded_once(clean_entry_point_cache: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    loads: list[str] = []

    class FakeEntryPoint:
        name = "example"

        def load(self) -> object:
            loads.append(self.name)

            class Plugin:
                @hookimpl
                def careaccess_store_schemes(self) -> list[str]:
                    return ["example"]

            return Plugin()

    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        assert group == "careaccess"
        return [FakeEntryPoint()]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    for _ in range(3):
        manager = make_plugin_manager()
        assert "example" in [s for schemes in manager.hook.careaccess_store_schemes() for s in schemes]
    assert loads == ["example"]
    monkeypatch.setenv(DISABLE_ENV, "example, other")
    manager = make_plugin_manager()
    assert manager.get_plugin("example") is None


def test_conflict_from_racing_approval_is_absorbed() -> None:
    class Racer(MemoryStore):
        """Approves the same resident just before the service's own write lands."""

        raced = False

        def apply(self, changeset: careaccess.store.Changeset) -> list[Event]:
            if changeset.events[0].action is Action.RESIDENT_APPROVED and not self.raced:
                self.raced = True
                super().apply(changeset)
            return super().apply(changeset)

    store = Racer()
    access = connect(store, clock=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    setup_clinic(access)
    approval = access.approve_resident(ADMIN, "c1", PNR)
    assert approval == access.resident_access(ADMIN, "c1", PNR).approval
    assert len([e for e in access.events() if e.action is Action.RESIDENT_APPROVED]) == 1


def test_other_conflicts_on_approval_propagate() -> None:
    class Vanishing(MemoryStore):
        def apply(self, changeset: careaccess.store.Changeset) -> list[Event]:
            if changeset.events[0].action is Action.RESIDENT_APPROVED:
                raise careaccess.store.MustExist(careaccess.store.ClinicKey("c1")).conflict()
            return super().apply(changeset)

    access = connect(Vanishing())
    setup_clinic(access)
    with pytest.raises(Conflict) as raised:
        access.approve_resident(ADMIN, "c1", PNR)
    assert raised.value.code == "clinic_missing"


def test_notify_follows_pluggys_own_call_order(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def plain(label: str, *, fails: bool = False, tryfirst: bool = False, trylast: bool = False) -> object:
        class Plain:
            @hookimpl(tryfirst=tryfirst, trylast=trylast)
            def careaccess_notify(self, event: Event) -> None:
                calls.append(label)
                if fails:
                    raise RuntimeError(f"{label} is down")

        return Plain()

    class Wrapper:
        @hookimpl(wrapper=True)
        def careaccess_notify(self, event: Event) -> Generator[None, None, None]:
            calls.append("wrapper before")
            result = yield
            calls.append("wrapper after")
            return result

    class OldStyleWrapper:
        @hookimpl(hookwrapper=True)
        def careaccess_notify(self, event: Event) -> Generator[None, object, None]:
            calls.append("old wrapper before")
            yield
            calls.append("old wrapper after")

    plugins = [
        plain("a"),
        plain("first", tryfirst=True),
        Wrapper(),
        plain("failing", fails=True),
        plain("last", trylast=True),
        plain("b"),
        OldStyleWrapper(),
    ]
    access = connect(plugins=plugins)
    with caplog.at_level(logging.ERROR, logger="careaccess"):
        access.put_clinic(ADMIN, Clinic("c1", "Mottagningen"))
    told = list(calls)
    calls.clear()
    # What pluggy itself does with the same implementations (the failing one isolated).
    access.plugin_manager.hook.careaccess_notify(event=access.events()[-1])
    assert told == calls
    assert told == [
        "old wrapper before",
        "wrapper before",
        "first",
        "b",
        "failing",
        "a",
        "last",
        "wrapper after",
        "old wrapper after",
    ]
    assert "failing is down" in caplog.text


def test_a_failing_wrapper_is_logged_and_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        @hookimpl(wrapper=True)
        def careaccess_notify(self, event: Event) -> Generator[None, None, None]:
            if event.id:
                raise RuntimeError("wrapper down")
            yield

    access = connect(plugins=[Broken()])
    with caplog.at_level(logging.ERROR, logger="careaccess"):
        access.put_clinic(ADMIN, Clinic("c1", "Mottagningen"))
    assert access.clinic("c1") is not None
    assert "wrapper down" in caplog.text


class FakeStoreEntryPoint:
    """An entry point of the ``careaccess.stores`` group that records its loading."""

    def __init__(self, scheme: str, loads: list[str]) -> None:
        self.name = scheme
        self.value = f"fake_{scheme}:plugin"
        self.loads = loads

    def load(self) -> object:
        self.loads.append(self.name)
        scheme = self.name

        class Plugin:
            @hookimpl
            def careaccess_open_store(self, url: str) -> MemoryStore | None:
                return MemoryStore() if url.split(":", maxsplit=1)[0].split("+", maxsplit=1)[0] == scheme else None

            @hookimpl
            def careaccess_upgrade_store(self, url: str) -> str | None:
                return f"{scheme} upgraded" if url.startswith(f"{scheme}:") else None

        return Plugin()


@pytest.fixture
def lazy_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    import importlib.metadata

    from careaccess import plugins

    loads: list[str] = []
    found = [FakeStoreEntryPoint("lazy", loads), FakeStoreEntryPoint("other", loads)]

    def entry_points(*, group: str) -> list[Any]:
        return found if group == plugins.STORES_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    for cached in (plugins._entry_point_plugins, plugins._store_entry_points, plugins._load_store_plugin):
        cached.cache_clear()
    yield loads
    for cached in (plugins._entry_point_plugins, plugins._store_entry_points, plugins._load_store_plugin):
        cached.cache_clear()


def test_a_store_plugin_is_loaded_only_for_its_scheme(lazy_stores: list[str]) -> None:
    access = connect("memory://")
    assert lazy_stores == []
    assert {"lazy", "memory", "other"} <= set(access.hooks.store_schemes())
    assert lazy_stores == []  # listing the schemes loads nothing
    assert isinstance(connect("lazy+driver://somewhere").store, MemoryStore)
    assert lazy_stores == ["lazy"]
    assert isinstance(connect("lazy://again").store, MemoryStore)
    assert lazy_stores == ["lazy"]  # once per process
    assert careaccess.plugins.Hooks().upgrade_store("other://x") == "other upgraded"
    assert lazy_stores == ["lazy", "other"]
    with pytest.raises(UnknownStore):
        connect("unheard-of://x")
