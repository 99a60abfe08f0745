"""Running the synchronous test kit against the asynchronous service and stores.

:class:`BlockingCareAccess` gives :class:`~careaccess.aio.AsyncCareAccess` the
synchronous face of :class:`~careaccess.CareAccess`: every coroutine method is run to
completion on an event loop in a thread of its own. The conformance suite and the
stateful check accept it wherever they take a ``CareAccess``, so both flavours are held
to one set of promises::

    class TestAsyncMemory(StoreConformance):
        @pytest.fixture
        def store(self):
            yield MemoryStore()

        @pytest.fixture
        def access(self, store, clock, directory):
            return BlockingCareAccess(lambda: careaccess.aio.connect(store, plugins=[directory], clock=clock))

.. versionadded:: 0.2
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import random
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from careaccess.aio import AsyncCareAccess, ThreadedStore, connect
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.models import Action, Actor, CaseType, Clinic
from careaccess.store import Store

__all__ = ["BlockingCareAccess", "check_cancelled_changes_are_whole"]

T = TypeVar("T")


class _Blocking:
    """*target* with every coroutine method run to completion by *run*; ``close`` is ``aclose``."""

    def __init__(self, target: object, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
        self._target = target
        self._run = run

    def close(self) -> None:
        self._run(self._target.aclose())  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        return lambda *args, **kwargs: self._run(attribute(*args, **kwargs))


class BlockingCareAccess:
    """A synchronous facade over an :class:`~careaccess.aio.AsyncCareAccess`.

    :param factory: builds the asynchronous service; called on the facade's own loop.
    :param wait_for_notifications: after each change, wait until the notification
        hooks have heard of it (as the synchronous service guarantees on return).
    """

    def __init__(self, factory: Callable[[], AsyncCareAccess], *, wait_for_notifications: bool = True) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="careaccess-blocking", daemon=True)
        self._thread.start()
        self._wait_for_notifications = wait_for_notifications

        async def build() -> AsyncCareAccess:
            return factory()

        self.service: AsyncCareAccess = self._run(build())

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.service, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                try:
                    return await attribute(*args, **kwargs)
                finally:
                    if self._wait_for_notifications:
                        await self.service.notified()

            return self._run(run())

        return call

    @property
    def store(self) -> Any:
        """The service's store with a synchronous face (each call run on the facade's loop)."""
        return _Blocking(self.service.store, self._run)

    def __repr__(self) -> str:
        return f"BlockingCareAccess({self.service!r})"

    def __enter__(self) -> BlockingCareAccess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the service (its store included), then stop the loop and its thread."""
        if self._loop.is_closed():
            return
        try:
            self._run(self.service.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


def check_cancelled_changes_are_whole(store: Store, *, changes: int = 40, seed: int = 0) -> None:
    """Cancel changes in flight on *store*; each must be whole with its event, or absent.

    Approvals and grants of *changes* residents start as tasks of one
    :class:`~careaccess.aio.AsyncCareAccess` on the store (run in worker threads, as a
    store that waits on a server is), and are cancelled at staggered moments — before
    they reach the store, while it applies them, after. Then, for every resident, the
    approval (and the grant) is stored exactly when its event is in the feed, once.

    :raises AssertionError: naming the resident whose change was split.
    """
    asyncio.run(_cancel_changes(store, changes, random.Random(seed)))  # noqa: S311 -- test schedule


async def _cancel_changes(store: Store, changes: int, rng: random.Random) -> None:
    threaded = ThreadedStore(store, max_workers=4)
    access = connect(threaded, clock=lambda: _NOW)
    admin = Actor(id="admin-cancel", clinics=frozenset({"vc-cancel"}))
    await access.put_clinic(admin, Clinic("vc-cancel", "Vårdcentralen Avbrott"))
    await access.put_case_type(admin, CaseType("vc-cancel", "kbt", "KBT", restricted=True))
    people = [_person(serial) for serial in range(2, 2 + 2 * changes, 2)]

    async def change(person: PersonalIdentityNumber) -> None:
        await access.approve_resident(admin, "vc-cancel", person, name="Avbruten")
        await access.grant_case_type(admin, "vc-cancel", person, "kbt", None, name="Avbruten")

    tasks = [asyncio.create_task(change(person)) for person in people]
    for task in tasks:
        await asyncio.sleep(rng.choice((0, 0, 0.0005, 0.001, 0.003)))
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await threaded.finish()
    events = await access.events(limit=1000, clinic_id="vc-cancel")
    await access.notified()
    for person in people:
        stored = store.get_resident_access("vc-cancel", person.digits)
        approvals = [e for e in events if e.pnr == person and e.action is Action.RESIDENT_APPROVED]
        grants = [e for e in events if e.pnr == person and e.action is Action.CASE_TYPE_GRANTED]
        has_approval = stored is not None and stored.approval is not None
        has_grant = stored is not None and any(g.case_type_id == "kbt" for g in stored.grants)
        assert len(approvals) == int(has_approval), (person, "approval and its events disagree", approvals)
        assert len(grants) == int(has_grant), (person, "grant and its events disagree", grants)
        assert has_approval or not has_grant, (person, "granted before the approval that precedes it")


_NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)


def _person(serial: int) -> PersonalIdentityNumber:
    nine = f"800101{serial:03d}"
    return PersonalIdentityNumber.from_digits(f"19{nine}{luhn_check_digit(nine)}")
