"""The asynchronous store seam: ``careaccess_open_async_store`` is asked first, a plugin
without an asynchronous store falls back to worker threads, and the resident's side on a
plain asynchronous store agrees with the synchronous fallback."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

import careaccess
import careaccess.aio
from careaccess import Actor, AreaRule, CaseType, Clinic, Residence, ServiceArea
from careaccess.aio import reach as aio_reach
from careaccess.aio.store import AsyncReachStore, AsyncStore, InlineStore, ThreadedStore
from careaccess.memory import MemoryStore
from careaccess.plugins import Hooks, make_plugin_manager
from careaccess.reach import residence_keys
from careaccess.reachstore import ClinicQuery, ReachRequest, list_clinics_fallback, load_reach_fallback
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

ADMIN = Actor("admin-seam", frozenset({"c1", "c2", "c3", "c4"}))
ANNA = make_pnr("19800101", 242)
HOME = Residence("01", "0180")
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


class PlainAsyncStore:
    """An asynchronous store with the plain contract only: no ``run_sync``, no reach methods."""

    def __init__(self, inner: InlineStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("run_sync", "list_clinics", "load_reach"):
            raise AttributeError(name)
        return getattr(self._inner, name)


class ServerStore:
    """A synchronous store that is not the in-memory one (so it would be run in threads)."""

    def __init__(self, inner: MemoryStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class AsyncPlugin:
    """Opens ``seam://`` natively (an InlineStore stands in for a native store) and synchronously."""

    def __init__(self, native: bool) -> None:
        self.native = native
        self.sync_opened: list[str] = []
        self.store = MemoryStore()
        self.server = ServerStore(self.store)

    @careaccess.hookimpl
    def careaccess_open_async_store(self, url: str) -> AsyncStore | None:
        if not url.startswith("seam://") or not self.native:
            return None
        return PlainAsyncStore(InlineStore(self.store))

    @careaccess.hookimpl
    def careaccess_open_store(self, url: str) -> ServerStore | None:
        if not url.startswith("seam://"):
            return None
        self.sync_opened.append(url)
        return self.server


def test_hook_careaccess_open_async_store() -> None:
    plugin = AsyncPlugin(native=True)

    async def main() -> None:
        async with careaccess.aio.connect("seam://x", plugins=[plugin], clock=lambda: NOW) as access:
            assert isinstance(access.store, PlainAsyncStore)
            await access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen Ett"))
            assert (await access.clinic("c1")) == Clinic("c1", "Vårdcentralen Ett")

    asyncio.run(main())
    assert plugin.sync_opened == []  # the synchronous store was never opened
    assert plugin.store.get_clinic("c1") is not None


def test_a_plugin_without_an_async_store_runs_in_threads() -> None:
    plugin = AsyncPlugin(native=False)

    async def main() -> None:
        async with careaccess.aio.connect("seam://x", plugins=[plugin], clock=lambda: NOW) as access:
            assert isinstance(access.store, ThreadedStore)
            assert access.store.store is plugin.server
            await access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen Ett"))

    asyncio.run(main())
    assert plugin.sync_opened == ["seam://x"]
    assert plugin.store.get_clinic("c1") is not None


def test_open_async_store_answers_none_instead_of_raising() -> None:
    hooks = Hooks(make_plugin_manager())
    assert hooks.open_async_store("memory://") is None  # the memory store has no native flavour
    assert hooks.open_async_store("nowhere://x") is None
    with pytest.raises(careaccess.UnknownStore):
        careaccess.aio.connect("nowhere://x")


def test_adapters_claim_no_async_reach_capability() -> None:
    assert not isinstance(InlineStore(MemoryStore()), AsyncReachStore)
    plain = PlainAsyncStore(InlineStore(MemoryStore()))
    assert isinstance(plain, AsyncStore)
    assert not isinstance(plain, AsyncReachStore)


def _world(access: careaccess.CareAccess) -> None:
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen Norr", ServiceArea([AreaRule("01")])))
    access.put_clinic(ADMIN, Clinic("c2", "Vårdcentralen Syd"))
    access.put_clinic(ADMIN, Clinic("c3", "Hälsocentralen Öst", ServiceArea([AreaRule("03", "0380")])))
    access.put_clinic(ADMIN, Clinic("c4", "Vårdcentralen Väst", ServiceArea([AreaRule(None)])))
    for clinic in ("c1", "c2", "c3", "c4"):
        access.put_case_type(ADMIN, CaseType(clinic, "fraga", "Fråga"))
        access.put_case_type(ADMIN, CaseType(clinic, "kbt", "KBT", restricted=True))
    access.approve_resident(ADMIN, "c2", ANNA, name="Anna Andersson")
    access.grant_case_type(ADMIN, "c3", ANNA, "kbt", dt.date(2026, 12, 31), name="Anna Andersson")
    access.revoke_approval(ADMIN, "c2", ANNA)
    access.approve_resident(ADMIN, "c1", ANNA, name="Anna Andersson")


QUERIES = [
    ClinicQuery(10),
    ClinicQuery(2),
    ClinicQuery(2, after="c1"),
    ClinicQuery(10, region="01"),
    ClinicQuery(10, municipality="0380"),
    ClinicQuery(10, name_contains="vardcentralen"),
    ClinicQuery(10, clinic_ids=frozenset({"c2", "c4", "c9"})),
]


def test_async_reach_fallback_agrees_with_the_synchronous_fallback() -> None:
    store = MemoryStore()
    _world(careaccess.connect(store, clock=FrozenClock(NOW)))
    plain = PlainAsyncStore(InlineStore(store))

    async def main() -> None:
        for residence in (HOME, Residence("03", "0380"), None):
            request = ReachRequest(ANNA.digits, residence_keys(residence))
            assert await aio_reach.load_reach_fallback(plain, request) == load_reach_fallback(store, request)
        for query in QUERIES:
            assert await aio_reach.list_clinics_fallback(plain, query) == list_clinics_fallback(store, query)

    asyncio.run(main())


@pytest.mark.parametrize("flavour", ["plain", "inline", "threaded"])
def test_resident_side_on_every_async_path_agrees_with_the_synchronous_service(flavour: str) -> None:
    store = MemoryStore()
    clock = FrozenClock(NOW)
    sync = careaccess.connect(store, clock=clock)
    _world(sync)
    wrapped: Any
    if flavour == "plain":
        wrapped = PlainAsyncStore(InlineStore(store))
    elif flavour == "inline":
        wrapped = InlineStore(store)
    else:
        wrapped = ThreadedStore(store, max_workers=2)

    async def main() -> None:
        access = careaccess.aio.connect(wrapped, clock=clock)
        for residence in (HOME, Residence("03", "0380"), None):
            for denied in (False, True):
                expected = sync.clinics_for(ANNA, residence=residence, include_denied=denied)
                assert await access.clinics_for(ANNA, residence=residence, include_denied=denied) == expected
        for kwargs in ({}, {"region": "01"}, {"search": "vård"}, {"actor": ADMIN}, {"municipality": "0380"}):
            cursor: str | None = None
            while True:
                page = await access.list_clinics(limit=1, cursor=cursor, **kwargs)
                assert page == sync.list_clinics(limit=1, cursor=cursor, **kwargs)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        if flavour == "threaded":
            await wrapped.finish()

    asyncio.run(main())
