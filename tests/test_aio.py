"""The asynchronous service: hooks awaited in pluggy's order, notifications that never
hold up a change, cancellation, the store adapters, and the decision that awaits a
residence only when the table needs one."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

import pytest

import careaccess
import careaccess.aio
from careaccess import Actor, AreaRule, CaseType, Clinic, Event, Reason, Residence, Resident, ServiceArea
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.memory import MemoryStore
from careaccess.testing.aio import check_cancelled_changes_are_whole
from careaccess.testing.clock import FrozenClock

ADMIN = Actor(id="admin-1", clinics=frozenset({"vc-ost"}))
TOLVAN = "19121212-1212"
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _world(access: careaccess.aio.AsyncCareAccess) -> None:
    await access.put_clinic(ADMIN, Clinic("vc-ost", "Vårdcentralen Öst", ServiceArea((AreaRule(region="01"),))))
    await access.put_case_type(ADMIN, CaseType("vc-ost", "fraga", "Fråga om vård"))
    await access.put_case_type(ADMIN, CaseType("vc-ost", "kbt", "KBT", restricted=True))


class Recorder:
    """Notification and lookup hooks, plain or async, that note their calls in one list."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls


def _plugins(calls: list[str]) -> list[object]:
    class Plain(Recorder):
        @careaccess.hookimpl
        def careaccess_notify(self, event: Event) -> None:
            self.calls.append(f"{self.name}:{event.action.value}")

    class Async(Recorder):
        @careaccess.hookimpl
        async def careaccess_notify(self, event: Event) -> None:
            await asyncio.sleep(0)
            self.calls.append(f"{self.name}:{event.action.value}")

    class First(Recorder):
        @careaccess.hookimpl(tryfirst=True)
        async def careaccess_notify(self, event: Event) -> None:
            self.calls.append(f"{self.name}:{event.action.value}")

    class Last(Recorder):
        @careaccess.hookimpl(trylast=True)
        def careaccess_notify(self, event: Event) -> None:
            self.calls.append(f"{self.name}:{event.action.value}")

    return [Last("last", calls), Plain("a", calls), Async("b", calls), First("first", calls)]


def test_notify_awaits_async_hooks_in_pluggys_order() -> None:
    calls: list[str] = []
    plugins = _plugins(calls)

    async def main() -> None:
        async with careaccess.aio.connect("memory://", plugins=plugins, clock=FrozenClock(NOW)) as access:
            await access.put_clinic(ADMIN, Clinic("vc-ost", "Vårdcentralen Öst"))
            await access.notified()

    run(main())
    # pluggy's order for the same registrations, asked of pluggy itself:
    manager = careaccess.connect("memory://", plugins=plugins).plugin_manager
    order = [getattr(impl.plugin, "name", "?") for impl in reversed(manager.hook.careaccess_notify.get_hookimpls())]
    assert order == ["first", "b", "a", "last"]
    assert calls == [f"{name}:clinic_saved" for name in order]


def test_a_slow_hook_does_not_hold_up_the_change_and_a_failing_one_is_isolated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[str] = []

    class Slow:
        def __init__(self) -> None:
            self.go = asyncio.Event()

        @careaccess.hookimpl
        async def careaccess_notify(self, event: Event) -> None:
            await self.go.wait()
            heard.append(event.action.value)

    class Failing:
        @careaccess.hookimpl(tryfirst=True)
        async def careaccess_notify(self, event: Event) -> None:
            raise RuntimeError(f"listener down for {event.pnr.digits if event.pnr else '-'} 19121212-1212")

    async def main() -> None:
        slow = Slow()
        async with careaccess.aio.connect("memory://", plugins=[slow, Failing()], clock=FrozenClock(NOW)) as access:
            await _world(access)
            started = time.perf_counter()
            await access.approve_resident(ADMIN, "vc-ost", TOLVAN)
            assert time.perf_counter() - started < 5  # returned while the slow listener waits
            assert heard == []
            slow.go.set()
            await access.notified()
            assert heard == ["clinic_saved", "case_type_saved", "case_type_saved", "resident_approved"]

    with caplog.at_level(logging.ERROR, logger="careaccess"):
        run(main())
    failures = [r for r in caplog.records if "careaccess_notify hook" in r.getMessage()]
    assert len(failures) == 4
    assert all("1212-1212" not in r.getMessage() and "191212121212" not in r.getMessage() for r in caplog.records)


def test_async_lookup_hook_names_the_resident_and_places_them() -> None:
    asked: list[str] = []

    class Register:
        @careaccess.hookimpl
        async def careaccess_lookup_resident(self, pnr: PersonalIdentityNumber) -> Resident | None:
            await asyncio.sleep(0)
            asked.append(pnr.digits)
            return Resident(pnr, "Tolvan Tolvansson", Residence("01", "0180"))

    class Empty:
        @careaccess.hookimpl(tryfirst=True)
        def careaccess_lookup_resident(self, pnr: PersonalIdentityNumber) -> Resident | None:
            return None  # asked first, knows nobody: the search goes on

    async def main() -> None:
        async with careaccess.aio.connect("memory://", plugins=[Register(), Empty()], clock=FrozenClock(NOW)) as access:
            await _world(access)
            approval = await access.approve_resident(ADMIN, "vc-ost", TOLVAN)
            assert approval.name == "Tolvan Tolvansson"
            decision = await access.decide("19121212-1212", "vc-ost", "fraga")
            assert decision.reason is Reason.APPROVED
            await access.revoke_approval(ADMIN, "vc-ost", TOLVAN)
            asked.clear()
            decision = await access.decide("19121212-1212", "vc-ost", "fraga")
            assert decision.reason is Reason.SERVICE_AREA
            assert asked == ["191212121212"]  # the residence, awaited once
            asked.clear()
            decision = await access.decide("19121212-1212", "vc-ost", "kbt")
            assert decision.reason is Reason.NOT_GRANTED
            assert asked == []  # a restricted case type never needs the residence

    run(main())


def test_decisions_agree_with_the_synchronous_service() -> None:
    clock = FrozenClock(NOW)
    store = MemoryStore()
    sync = careaccess.connect(store, clock=clock)
    sync.put_clinic(ADMIN, Clinic("vc-ost", "Vårdcentralen Öst"))
    sync.put_case_type(ADMIN, CaseType("vc-ost", "fraga", "Fråga"))
    sync.put_case_type(ADMIN, CaseType("vc-ost", "kbt", "KBT", restricted=True))
    sync.approve_resident(ADMIN, "vc-ost", TOLVAN)
    sync.grant_case_type(ADMIN, "vc-ost", "19450415-9874", "kbt", until=dt.date(2026, 6, 15))
    requests = [
        (pnr, clinic, case_type)
        for pnr in (TOLVAN, "19450415-9874", "450415-9874")
        for clinic in ("vc-ost", "nowhere")
        for case_type in ("fraga", "kbt", "x")
    ]

    async def main() -> list[careaccess.Decision]:
        async with careaccess.aio.connect(store, clock=clock) as access:
            single = [await access.decide(*request) for request in requests]
            many = await access.decide_many(requests)
            assert many == single
            later = dt.datetime(2026, 6, 16, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
            assert (await access.decide("19450415-9874", "vc-ost", "kbt", at=later)).reason is Reason.GRANT_EXPIRED
            return single

    assert run(main()) == [sync.decide(*request) for request in requests]


def test_cancelled_changes_are_whole_or_absent() -> None:
    """Tasks cancelled at every point of their change leave each change whole, with its event, or absent."""
    for seed in range(3):
        check_cancelled_changes_are_whole(MemoryStore(), seed=seed)


def test_memory_url_runs_inline_and_other_stores_in_threads() -> None:
    async def main() -> None:
        async with careaccess.aio.connect("memory://") as access:
            assert isinstance(access.store, careaccess.aio.InlineStore)
        async with careaccess.aio.connect(MemoryStore()) as access:
            assert isinstance(access.store, careaccess.aio.InlineStore)

        class Opaque:
            def __init__(self) -> None:
                self.inner = MemoryStore()

            def __getattr__(self, name: str) -> Any:
                return getattr(self.inner, name)

        async with careaccess.aio.connect(Opaque()) as access:
            assert isinstance(access.store, careaccess.aio.ThreadedStore)
            await _world(access)
            assert [c.id for c in await access.case_types("vc-ost")] == ["fraga", "kbt"]

    run(main())


def test_blocking_store_drives_an_async_store_from_sync_code() -> None:
    blocking = careaccess.aio.BlockingStore(lambda: careaccess.aio.InlineStore(MemoryStore()))
    try:
        access = careaccess.connect(blocking, clock=FrozenClock(NOW))
        access.put_clinic(ADMIN, Clinic("vc-ost", "Vårdcentralen Öst"))
        assert access.clinic("vc-ost") == Clinic("vc-ost", "Vårdcentralen Öst")
        assert len(blocking.cursor_key()) == 32
    finally:
        blocking.close()
    blocking.close()  # closing twice is harmless


def test_bulk_actions_match_the_synchronous_service() -> None:
    """The same selection, stale items included, gives the same events and the same stale list."""
    people = [
        PersonalIdentityNumber.from_digits(f"19800101{n:03d}{luhn_check_digit(f'800101{n:03d}')}")
        for n in range(2, 40, 2)
    ]

    def world(access: careaccess.CareAccess) -> None:
        access.put_clinic(ADMIN, Clinic("vc-ost", "Vårdcentralen Öst"))
        access.put_case_type(ADMIN, CaseType("vc-ost", "kbt", "KBT", restricted=True))
        for person in people[::2]:
            access.approve_resident(ADMIN, "vc-ost", person, name="Anna")

    def outcome(result: careaccess.BulkResult) -> tuple[object, ...]:
        return tuple((e.action, e.pnr, e.case_type_id, e.before, e.after) for e in result.events), result.stale

    sync = careaccess.connect("memory://", clock=FrozenClock(NOW))
    world(sync)
    expected = [
        outcome(sync.grant_case_types(ADMIN, "vc-ost", people[:10], "kbt", dt.date(2026, 12, 31))),
        outcome(sync.grant_case_types(ADMIN, "vc-ost", people[5:15], "kbt", None)),
        outcome(sync.remove_grants(ADMIN, "vc-ost", [(p, "kbt") for p in people[8:]])),
        outcome(sync.revoke_approvals(ADMIN, "vc-ost", people)),
        outcome(sync.revoke_approvals(ADMIN, "vc-ost", people[:3])),
    ]

    async def main() -> list[tuple[object, ...]]:
        async with careaccess.aio.connect(sync.store.__class__(), clock=FrozenClock(NOW)) as access:
            await access.put_clinic(ADMIN, Clinic("vc-ost", "Vårdcentralen Öst"))
            await access.put_case_type(ADMIN, CaseType("vc-ost", "kbt", "KBT", restricted=True))
            for person in people[::2]:
                await access.approve_resident(ADMIN, "vc-ost", person, name="Anna")
            return [
                outcome(await access.grant_case_types(ADMIN, "vc-ost", people[:10], "kbt", dt.date(2026, 12, 31))),
                outcome(await access.grant_case_types(ADMIN, "vc-ost", people[5:15], "kbt", None)),
                outcome(await access.remove_grants(ADMIN, "vc-ost", [(p, "kbt") for p in people[8:]])),
                outcome(await access.revoke_approvals(ADMIN, "vc-ost", people)),
                outcome(await access.revoke_approvals(ADMIN, "vc-ost", people[:3])),
            ]

    assert run(main()) == expected
    assert expected[1][1], "the second grant's selection went stale"
    assert expected[4][1], "the second revoke's selection went stale"
