"""Races between threads sharing one store, made deterministic.

A race test that merely starts threads together proves little: the core reads before it
writes, and on a fast store the first thread is usually done before the second has read,
so the second is refused by the core's own check and the store's preconditions are never
put to the test. Here every racer goes through a :class:`Rendezvous`: a store wrapper
that holds each call of :meth:`~careaccess.store.Store.apply` until every racer has
reached it. All racers have then read the same state and built their changesets on it,
and the store alone must decide, through the changeset's preconditions, which of them
may write. Each test races one precondition kind: absent, exists, version, case type
unused, case type restricted.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from careaccess import Action, Actor, CareAccess, CaseType, Conflict, NotFound, StaticDirectory, connect
from careaccess.models import Grant
from careaccess.store import Changeset, Store
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance.fixtures import (
    ASA,
    C1,
    C2,
    KAJSA,
    RESIDENTS,
    RESTRICTED,
    TOLVAN,
    ConformanceBase,
    grant_data,
)

#: How long a racer waits for the others at the store's door before the test fails.
RENDEZVOUS_TIMEOUT = 30.0


class Rendezvous:
    """A store wrapper that lets ``apply`` through only once *parties* callers are waiting.

    Reads pass straight through. Use a new one per race; a racer that never reaches
    ``apply`` (refused by the core first) breaks the rendezvous, and the waiting racers
    get :class:`threading.BrokenBarrierError`, which fails the test with a clear cause.
    """

    def __init__(self, store: Store, parties: int) -> None:
        self.store = store
        self.barrier = threading.Barrier(parties, timeout=RENDEZVOUS_TIMEOUT)

    def apply(self, changeset: Changeset) -> Any:
        self.barrier.wait()
        return self.store.apply(changeset)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)  # every other read, unchanged

    def close(self) -> None:
        """The wrapped store belongs to the test's fixture, which closes it."""


class ConcurrencyTests(ConformanceBase):
    """Races between threads sharing one store, each racing one kind of precondition."""

    def _race(
        self, access: CareAccess, clock: FrozenClock, attempts: Sequence[Callable[[CareAccess], object]]
    ) -> tuple[list[object], list[BaseException]]:
        """Run each attempt in its own thread on a service whose store waits for all of them
        at ``apply``; return what the attempts returned and what they raised."""
        if not self.supports_threads:
            pytest.skip("this store does not claim thread safety")
        gate = Rendezvous(access.store, len(attempts))
        gated = connect(gate, plugins=[StaticDirectory(RESIDENTS)], clock=clock)
        wins: list[object] = []
        losses: list[BaseException] = []
        lock = threading.Lock()

        def run(attempt: Callable[[CareAccess], object]) -> None:
            try:
                result = attempt(gated)
            except Exception as error:  # collected and asserted on below
                with lock:
                    losses.append(error)
            else:
                with lock:
                    wins.append(result)

        threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=2 * RENDEZVOUS_TIMEOUT)
        assert not any(isinstance(e, threading.BrokenBarrierError) for e in losses), (
            "a racer was refused before it reached the store",
            losses,
        )
        return wins, losses

    @staticmethod
    def _count(world: CareAccess, action: Action) -> int:
        return sum(1 for e in world.events(limit=1000) if e.action is action)

    # -- version ---------------------------------------------------------------------------

    def test_racing_change_grant_with_same_version_has_one_winner(
        self, world: CareAccess, admin: Actor, clock: FrozenClock
    ) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        count = self.race_threads

        def change(days: int) -> Callable[[CareAccess], object]:
            until = dt.date(2026, 2, 1) + dt.timedelta(days=days)
            return lambda a: a.change_grant(admin, C1, KAJSA, RESTRICTED, until=until, expected_version=1)

        wins, losses = self._race(world, clock, [change(i) for i in range(count)])
        assert len(wins) == 1, losses
        assert len(losses) == count - 1
        assert all(isinstance(e, Conflict) and e.code == "version_mismatch" for e in losses), losses
        (winner,) = wins
        assert isinstance(winner, Grant)
        assert world.resident_access(admin, C1, KAJSA).grants == (winner,)
        changes = [e for e in world.events(limit=1000) if e.action is Action.GRANT_CHANGED]
        assert len(changes) == 1
        assert changes[0].after == {k: v for k, v in grant_data(winner).items() if k != "pnr"}

    def test_racing_removals_of_one_grant_version_have_one_winner(
        self, world: CareAccess, admin: Actor, clock: FrozenClock
    ) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        count = self.race_threads
        wins, losses = self._race(
            world,
            clock,
            [lambda a: a.remove_grant(admin, C1, KAJSA, RESTRICTED, expected_version=1)] * count,
        )
        assert len(wins) == 1, losses
        assert all(isinstance(e, Conflict) and e.code == "version_mismatch" for e in losses), losses
        assert self._count(world, Action.GRANT_REMOVED) == 1
        assert world.resident_access(admin, C1, KAJSA).grants == ()

    # -- absent ----------------------------------------------------------------------------

    def test_racing_grants_of_the_same_case_type_have_one_winner(
        self, world: CareAccess, admin: Actor, clock: FrozenClock
    ) -> None:
        count = self.race_threads
        wins, losses = self._race(world, clock, [lambda a: a.grant_case_type(admin, C1, ASA, RESTRICTED)] * count)
        assert len(wins) == 1
        assert all(isinstance(e, Conflict) and e.code == "grant_exists" for e in losses), losses
        assert self._count(world, Action.CASE_TYPE_GRANTED) == 1

    def test_racing_approvals_make_one_event(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        wins, losses = self._race(world, clock, [lambda a: a.approve_resident(admin, C2, ASA)] * self.race_threads)
        assert losses == []
        assert len(set(map(repr, wins))) == 1  # everyone sees the one approval
        assert self._count(world, Action.RESIDENT_APPROVED) == 1
        assert world.resident_access(admin, C2, ASA).approval == wins[0]

    def test_racing_new_case_types_have_one_winner(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        saved = self._count(world, Action.CASE_TYPE_SAVED)
        count = self.race_threads
        kinds = [CaseType(C1, "ny-typ", f"Ny {i}", restricted=bool(i % 2)) for i in range(count)]

        def put(kind: CaseType) -> Callable[[CareAccess], object]:
            return lambda a: a.put_case_type(admin, kind)

        wins, losses = self._race(world, clock, [put(k) for k in kinds])
        assert len(wins) == 1, losses
        assert all(isinstance(e, Conflict) and e.code == "case_type_exists" for e in losses), losses
        assert self._count(world, Action.CASE_TYPE_SAVED) == saved + 1
        assert [c for c in world.case_types(C1) if c.id == "ny-typ"] == wins

    # -- exists ----------------------------------------------------------------------------

    def test_racing_revocations_have_one_winner(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        world.approve_resident(admin, C1, TOLVAN)
        count = self.race_threads
        wins, losses = self._race(world, clock, [lambda a: a.revoke_approval(admin, C1, TOLVAN)] * count)
        assert len(wins) == 1, losses
        assert all(isinstance(e, (Conflict, NotFound)) for e in losses), losses
        assert self._count(world, Action.APPROVAL_REVOKED) == 1
        assert world.resident_access(admin, C1, TOLVAN).approval is None

    # -- case type unused / restricted -------------------------------------------------------

    def test_racing_grant_and_removal_of_the_case_type(
        self, world: CareAccess, admin: Actor, clock: FrozenClock
    ) -> None:
        wins, losses = self._race(
            world,
            clock,
            [
                lambda a: a.grant_case_type(admin, C1, ASA, RESTRICTED),
                lambda a: a.remove_case_type(admin, C1, RESTRICTED),
            ],
        )
        assert len(wins) == 1, losses
        assert all(isinstance(e, Conflict) for e in losses), losses
        exists = RESTRICTED in [c.id for c in world.case_types(C1)]
        granted = world.resident_access(admin, C1, ASA).grants
        # Never a grant of a case type that no longer exists.
        assert (exists, len(granted)) in {(True, 1), (False, 0)}
        assert self._count(world, Action.CASE_TYPE_GRANTED) + self._count(world, Action.CASE_TYPE_REMOVED) == 1

    def test_racing_grant_and_opening_of_the_case_type(
        self, world: CareAccess, admin: Actor, clock: FrozenClock
    ) -> None:
        opened = CaseType(C1, RESTRICTED, "KBT-behandling", restricted=False)
        wins, losses = self._race(
            world,
            clock,
            [
                lambda a: a.grant_case_type(admin, C1, ASA, RESTRICTED),
                lambda a: a.put_case_type(admin, opened),
            ],
        )
        assert len(wins) == 1, losses
        assert all(isinstance(e, Conflict) for e in losses), losses
        (kind,) = [c for c in world.case_types(C1) if c.id == RESTRICTED]
        granted = world.resident_access(admin, C1, ASA).grants
        # Never a grant of an open case type.
        assert (kind.restricted, len(granted)) in {(True, 1), (False, 0)}
