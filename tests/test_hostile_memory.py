"""Hostile and careless input on the in-memory store (careaccess.testing.hostile)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from careaccess.memory import MemoryStore
from careaccess.store import Store
from careaccess.testing.hostile import (
    ADMIN,
    APPROVED,
    CLINIC,
    STRANGER,
    HostileCase,
    HostileChecks,
    assert_no_identity_number,
    check_case,
    hostile_world,
    number_forms,
    returns,
)


class TestMemoryStoreHostile(HostileChecks):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = MemoryStore()
        yield store
        store.close()


@pytest.mark.parametrize("form", sorted(number_forms(APPROVED)))
def test_the_leak_check_finds_every_written_form(form: str) -> None:
    with pytest.raises(AssertionError, match="full identity number") as caught:
        assert_no_identity_number([f"resident {form} failed"], [APPROVED])
    assert form not in str(caught.value)


def test_the_leak_check_passes_masked_numbers() -> None:
    assert_no_identity_number([repr(APPROVED), APPROVED.masked(), "19121212-****"], [APPROVED])


def test_a_row_that_writes_fails() -> None:
    access = hostile_world(MemoryStore())
    writes = HostileCase(
        "approve_resident",
        "writes",
        lambda s: s.approve_resident(ADMIN, CLINIC, STRANGER, name="N").clinic_id,
        returns(CLINIC),
    )
    with pytest.raises(AssertionError, match="the store changed"):
        check_case(access, writes)


def test_a_row_with_another_outcome_fails() -> None:
    access = hostile_world(MemoryStore())
    wrong = HostileCase("clinic", "found", lambda s: s.clinic(CLINIC), returns(None))
    with pytest.raises(AssertionError, match=r"clinic\[found\]: expected returns None"):
        check_case(access, wrong)
