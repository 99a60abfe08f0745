"""The stateful model check through the asynchronous service, on the in-memory store run
inline and in worker threads: random workflows, checked against the plain model after
every step, exactly as for the synchronous service."""

from __future__ import annotations

from hypothesis import settings

import careaccess.aio
from careaccess.store import Store
from careaccess.testing.aio import BlockingCareAccess
from careaccess.testing.stateful import CareAccessMachine


class AsyncInlineMachine(CareAccessMachine):
    threaded = False

    def __init__(self) -> None:
        super().__init__()
        store = self.store if not self.threaded else careaccess.aio.ThreadedStore(self.store, max_workers=2)
        self.facade = BlockingCareAccess(
            lambda: careaccess.aio.connect(store, plugins=[self.directory], clock=self.clock)
        )
        self.access = self.facade  # type: ignore[assignment]  # the same methods, run on the async service

    def close_store(self, store: Store) -> None:
        self.facade.close()  # closes the store too


class AsyncThreadedMachine(AsyncInlineMachine):
    threaded = True


TestAsyncInlineMachine = AsyncInlineMachine.TestCase
# Fewer runs than the synchronous machine (which checks the rules): each call here hops
# to the facade's event loop (and to a worker thread), and what is checked is the wiring.
TestAsyncInlineMachine.settings = settings(TestAsyncInlineMachine.settings, stateful_step_count=25, max_examples=40)
TestAsyncThreadedMachine = AsyncThreadedMachine.TestCase
TestAsyncThreadedMachine.settings = settings(TestAsyncThreadedMachine.settings, stateful_step_count=20, max_examples=15)
