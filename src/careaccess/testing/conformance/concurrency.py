"""Races between threads sharing one store."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest

from careaccess import (
    Action,
    Actor,
    CareAccess,
    Conflict,
)
from careaccess.models import Grant
from careaccess.testing.conformance.fixtures import (
    ASA,
    C1,
    C2,
    KAJSA,
    RESTRICTED,
    ConformanceBase,
    grant_data,
)


class ConcurrencyTests(ConformanceBase):
    """Races between threads sharing one store."""

    # == concurrency ===================================================================

    def _race(self, count: int, attempt: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
        if not self.supports_threads:
            pytest.skip("this store does not claim thread safety")
        barrier = threading.Barrier(count)
        wins: list[object] = []
        losses: list[BaseException] = []
        lock = threading.Lock()

        def run(index: int) -> None:
            barrier.wait()
            try:
                result = attempt(index)
            except Exception as error:  # collected and asserted on below
                with lock:
                    losses.append(error)
            else:
                with lock:
                    wins.append(result)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return wins, losses

    def test_racing_change_grant_with_same_version_has_one_winner(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        count = self.race_threads
        wins, losses = self._race(
            count,
            lambda i: world.change_grant(
                admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 2, 1) + dt.timedelta(days=i), expected_version=1
            ),
        )
        assert len(wins) == 1, losses
        assert len(losses) == count - 1
        assert all(isinstance(e, Conflict) and e.code == "version_mismatch" for e in losses), losses
        (winner,) = wins
        assert isinstance(winner, Grant)
        assert world.resident_access(admin, C1, KAJSA).grants == (winner,)
        changes = [e for e in world.events(limit=1000) if e.action is Action.GRANT_CHANGED]
        assert len(changes) == 1
        assert changes[0].after == {k: v for k, v in grant_data(winner).items() if k != "pnr"}

    def test_racing_grants_of_the_same_case_type_have_one_winner(self, world: CareAccess, admin: Actor) -> None:
        count = self.race_threads
        wins, losses = self._race(count, lambda i: world.grant_case_type(admin, C1, ASA, RESTRICTED))
        assert len(wins) == 1
        assert all(isinstance(e, Conflict) and e.code == "grant_exists" for e in losses), losses
        granted = [e for e in world.events(limit=1000) if e.action is Action.CASE_TYPE_GRANTED]
        assert len(granted) == 1

    def test_racing_approvals_make_one_event(self, world: CareAccess, admin: Actor) -> None:
        wins, losses = self._race(self.race_threads, lambda i: world.approve_resident(admin, C2, ASA))
        assert losses == []
        assert len({id(w) for w in wins}) >= 1
        assert len(set(map(repr, wins))) == 1  # everyone sees the one approval
        approved = [e for e in world.events(limit=1000) if e.action is Action.RESIDENT_APPROVED]
        assert len(approved) == 1
