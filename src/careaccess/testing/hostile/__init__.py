"""Hostile and careless input, checked the same on every store.

Three checks any store's test suite can run (they need ``pytest`` and ``hypothesis``):

- **One answer to bad input.** :func:`hostile_cases` is a table: every public method of
  :class:`~careaccess.CareAccess`, called with wrong types (``int``, ``None``,
  ``bytes``, ``list`` where text is expected), empty and space-padded text, NUL and other
  control characters, lone surrogates, text at and just past each documented limit
  (:mod:`careaccess.validation`), 1 MB strings, malformed identity numbers, naive and
  extreme datetimes, bad page limits, forged and foreign cursors and out-of-range
  versions. Each row names the one outcome every store must give: a documented error
  class and code, a fail-closed decision, or an empty answer. :func:`check_case` runs
  one row and asserts that nothing was written (the store's listable state and the whole
  event feed are the same before and after). Never ``StoreUnavailable``, never a raw
  Python error.
- **No identity number where it can leak.** :func:`leak_workflow` runs a whole
  workflow (approve, grant, change, list with search and cursor, decide, decide_many,
  the feed, a failing notification hook, a failing directory hook, hostile input);
  :func:`assert_no_identity_number` checks every log record (message, arguments and
  traceback rendered) and every ``repr`` against every written form of the numbers used.
- **Memory stays flat.** :func:`retained_bytes` makes many calls with unique 200 kB
  ids and returns how much more memory (``tracemalloc``) the process holds afterwards.

Subclass :class:`HostileChecks` in a test module and give it a ``store`` fixture that
yields a fresh, empty store, as for :class:`careaccess.testing.conformance.StoreConformance`::

    class TestMyStoreHostile(HostileChecks):
        @pytest.fixture
        def store(self):
            store = MyStore("...")
            yield store
            store.close()

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterator
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careaccess import (
    CareAccess,
    CaseType,
    Clinic,
    PersonalIdentityNumber,
    Reason,
)
from careaccess.store import Store
from careaccess.testing.hostile.checks import (
    LEAK_LOGGERS,
    MEMORY_CALLS,
    RETAINED_BOUND,
    _short,
    assert_no_identity_number,
    check_case,
    check_outcome,
    leak_workflow,
    number_forms,
    rendered_records,
    retained_bytes,
    snapshot,
)
from careaccess.testing.hostile.table import hostile_cases
from careaccess.testing.hostile.world import (
    ADMIN,
    APPROVED,
    CLINIC,
    GRANTED,
    OTHER_CLINIC,
    STRANGER,
    HostileCase,
    Outcome,
    hostile_world,
    raises,
    refused,
    returns,
)
from careaccess.testing.strategies import identity_numbers
from careaccess.validation import MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_SEARCH_LENGTH

__all__ = [
    "ADMIN",
    "APPROVED",
    "CLINIC",
    "GRANTED",
    "OTHER_CLINIC",
    "STRANGER",
    "HostileCase",
    "HostileChecks",
    "Outcome",
    "assert_no_identity_number",
    "check_case",
    "check_outcome",
    "hostile_cases",
    "hostile_world",
    "leak_workflow",
    "number_forms",
    "raises",
    "refused",
    "retained_bytes",
    "returns",
    "snapshot",
]


# -- the pytest class ------------------------------------------------------------------


#: A new clinic for each example of the leak check (hypothesis replays examples).
_LEAK_CLINICS = itertools.count()


class HostileChecks:
    """The three checks on a store; subclasses provide a ``store`` fixture (fresh and empty)."""

    #: How many calls the memory check makes per kind of call.
    memory_calls: ClassVar[int] = 10_000

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        raise NotImplementedError("subclass HostileChecks and provide a `store` fixture")

    @pytest.fixture
    def hostile(self, store: Store) -> CareAccess:
        return hostile_world(store)

    def test_hostile_input(self, hostile: CareAccess) -> None:
        """Every row of :func:`hostile_cases` on one world (no row may change it); the
        failure lists every row that did not give its outcome."""
        before = snapshot(hostile)
        last = before[0][-1].id
        failures: list[str] = []
        for case in hostile_cases():
            try:
                check_outcome(hostile, case)
            except AssertionError as failure:
                failures.append(str(failure))
            except Exception as error:  # a raw error is a failing row, reported with the others
                failures.append(f"{case.id}: expected {case.expect}, raised {_short(error)}")
            # Every write appends an event (the store contract): a new one names the row.
            if hostile.store.read_events(last, 1, None):
                failures.append(f"{case.id}: wrote an event")
                last = snapshot(hostile)[0][-1].id
        if snapshot(hostile) != before:
            failures.append("the listable state changed over the table")
        assert not failures, f"{len(failures)} rows failed:\n" + "\n".join(failures)

    def test_limits_round_trip(self, hostile: CareAccess) -> None:
        """Ids and names at their limits, of 1-, 2- and 4-byte characters, are kept whole."""
        for index, (label, unit) in enumerate((("ascii", "x"), ("latin", "å"), ("astral", "\U0001f600"))):
            clinic = Clinic(unit * (MAX_ID_LENGTH - 1) + str(index), unit * MAX_NAME_LENGTH)
            hostile.put_clinic(ADMIN, clinic)
            assert hostile.clinic(clinic.id) == clinic, label
            case_type = CaseType(clinic.id, unit * MAX_ID_LENGTH, unit * MAX_NAME_LENGTH, restricted=True)
            hostile.put_case_type(ADMIN, case_type)
            assert hostile.case_types(clinic.id) == [case_type], label
            name = unit * MAX_NAME_LENGTH
            hostile.grant_case_type(ADMIN, clinic.id, APPROVED, case_type.id, name=name)
            page = hostile.list_residents(ADMIN, clinic.id, search=unit * MAX_SEARCH_LENGTH)
            assert [(r.pnr, r.name) for r in page.items] == [(APPROVED, name)], label
            assert hostile.decide(APPROVED, clinic.id, case_type.id).reason is Reason.GRANTED, label

    @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        people=st.lists(
            identity_numbers(max_birth_date=dt.date(2025, 12, 31)), min_size=4, max_size=6, unique_by=lambda p: p.digits
        ),
    )
    def test_no_identity_number_leaks(
        self, store: Store, caplog: pytest.LogCaptureFixture, people: list[PersonalIdentityNumber]
    ) -> None:
        failing, *used = people
        caplog.clear()
        for name in LEAK_LOGGERS:
            caplog.set_level(logging.DEBUG, logger=name or None)
        seen = leak_workflow(store, f"leak-{next(_LEAK_CLINICS)}", used, failing)
        texts = rendered_records(caplog.records) + [repr(s) for s in seen] + [str(s) for s in seen]
        assert caplog.records, "nothing was logged: the check would prove nothing"
        assert_no_identity_number(texts, people)

    @pytest.mark.slow
    @pytest.mark.parametrize("kind", sorted(MEMORY_CALLS))
    def test_memory_stays_flat(self, hostile: CareAccess, kind: str) -> None:
        retained = retained_bytes(hostile, self.memory_calls, MEMORY_CALLS[kind])
        assert retained < RETAINED_BOUND, f"{kind}: {retained} bytes retained after {self.memory_calls} calls"
