"""The adversarial strategies are sound and do collide as they say."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from careaccess import CaseType, Clinic, connect
from careaccess.identity import PersonalIdentityNumber
from careaccess.names import fold
from careaccess.testing import strategies as cs
from careaccess.testing.adversarial import Collision
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

TODAY = dt.date(2026, 1, 15)


def shares(kind: str, anchor: PersonalIdentityNumber, other: PersonalIdentityNumber) -> bool:
    if kind == "birth_date":
        return other.birth_date == anchor.birth_date and not other.is_coordination_number
    if kind == "last_four":
        return other.digits[-4:] == anchor.digits[-4:] and other.birth_date != anchor.birth_date
    if kind == "century":
        return other.digits[2:] == anchor.digits[2:] and other.digits[:2] != anchor.digits[:2]
    return other.is_coordination_number and other.birth_date == anchor.birth_date


@given(cs.colliding_identity_numbers(today=TODAY))
def test_colliding_numbers_are_distinct_valid_and_collide_with_the_first(numbers: list[PersonalIdentityNumber]) -> None:
    assert 2 <= len(numbers) <= 6
    assert len({p.digits for p in numbers}) == len(numbers)
    anchor = numbers[0]
    assert not anchor.is_coordination_number
    for other in numbers[1:]:
        assert PersonalIdentityNumber.from_digits(other.digits) == other
        assert other.birth_date is not None
        assert other.birth_date < TODAY
        assert any(shares(kind, anchor, other) for kind in cs.COLLISIONS), other


@pytest.mark.parametrize("kind", cs.COLLISIONS)
def test_each_kind_of_collision_is_drawn(kind: Collision) -> None:
    seen: list[bool] = []

    @settings(max_examples=50, database=None)
    @given(cs.colliding_identity_numbers(collisions=[kind], min_size=2, max_size=2, today=TODAY))
    def draw(numbers: list[PersonalIdentityNumber]) -> None:
        seen.append(shares(kind, numbers[0], numbers[1]))

    draw()
    assert sum(seen) >= len(seen) // 2  # most draws have a partner of that kind (births near 1900 may not)


def test_neighbours_has_one_number_per_kind() -> None:
    anchor = make_pnr("19901224", 468)
    found = cs.neighbours(anchor, today=TODAY)
    assert set(found) == set(cs.COLLISIONS)
    for kind, other in found.items():
        assert shares(kind, anchor, other), kind


@given(cs.colliding_ids())
def test_colliding_ids_are_distinct_valid_ids_near_the_first(ids: list[str]) -> None:
    assert len(set(ids)) == len(ids) >= 2
    base = ids[0]
    for other in ids:
        Clinic(other, "x")
        CaseType("c", other, "x")
        assert unicodedata.is_normalized("NFC", other)
    for other in ids[1:]:
        near = (
            base.startswith(other)
            or other.startswith(base)
            or other.casefold() == base.casefold()
            or len(other) == len(base)  # a look-alike: the same length, letters swapped
        )
        assert near, (base, other)


@given(cs.colliding_names())
def test_name_families_fold_as_they_say(family: cs.NameFamily) -> None:
    assert len(set(family.names)) >= 2
    query = fold(family.query)
    assert all(query in fold(name) for name in family.names)
    assert not any(query in fold(name) for name in family.strangers)


@given(st.data())
def test_batches_keep_every_element_and_repeat(data: st.DataObject) -> None:
    pool = list(range(data.draw(st.integers(1, 40))))
    batch = data.draw(cs.batches(pool, max_size=2100))
    assert set(batch) <= set(pool)
    if len(batch) >= len(pool):
        assert set(batch) == set(pool)
    if len(batch) > len(pool):
        assert len(set(batch)) < len(batch)


def test_batches_reach_past_every_chunk() -> None:
    sizes: set[int] = set()

    @settings(max_examples=200, database=None)
    @given(cs.batches([1, 2, 3]))
    def draw(batch: list[int]) -> None:
        sizes.add(len(batch))

    draw()
    assert any(size > max(cs.CHUNK_SIZES) for size in sizes)


@pytest.mark.parametrize(
    "strategy",
    [
        cs.colliding_identity_numbers(collisions=[]),
        cs.colliding_identity_numbers(min_size=3, max_size=2),
        cs.colliding_ids(min_size=3, max_size=2),
        cs.batches([], min_size=1),
        cs.batches([1], min_size=2, max_size=1),
        cs.adversarial_worlds(max_residents=0),
    ],
)
def test_bad_bounds_are_refused(strategy: st.SearchStrategy[object]) -> None:
    @given(strategy)
    def draw(value: object) -> None:
        raise AssertionError(f"drew {value!r} despite bad bounds")

    with pytest.raises(InvalidArgument):
        draw()


@settings(max_examples=15, deadline=None)
@given(cs.adversarial_worlds(today=TODAY))
def test_adversarial_worlds_load_through_the_api(world: cs.World) -> None:
    clock = FrozenClock(world.now)
    with connect("memory://", plugins=[world.directory()], clock=clock) as access:
        world.load(access, clock)
        admin = world.admin()
        for clinic in world.clinics:
            listed = access.list_residents(admin, clinic.id, limit=1000).items
            approved = {a.pnr for a in world.approvals if a.clinic_id == clinic.id}
            granted = {g.pnr for g in world.grants if g.clinic_id == clinic.id}
            assert {r.pnr for r in listed} == approved | granted
        for grant in world.grants:
            decision = access.decide(grant.pnr, grant.clinic_id, grant.case_type_id)
            assert decision.allowed == grant.is_valid_on(world.today)
