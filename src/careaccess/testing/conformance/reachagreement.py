"""The agreement property of the resident's side: ``clinics_for`` agrees with ``decide``.

:class:`AgreementTests` is part of :class:`careaccess.testing.conformance_reach.ReachConformance`;
this module also holds what the property draws from (:func:`reach_worlds`) and
:class:`PlainStore`, which hides a store's native capability so the core's fallback answers.

How many worlds the property draws: ``agreement_examples`` if the class sets it, else the
loaded hypothesis profile's ``max_examples``; under ``CI=true`` at least
:data:`CI_AGREEMENT_EXAMPLES`, whatever profile a backend's own test directory loads.

.. versionadded:: 0.2
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Sequence
from typing import Any, ClassVar, Final

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careaccess import AreaRule, ClinicAccess, Decision, Gender, Residence, ServiceArea, connect
from careaccess.store import Store
from careaccess.testing.clock import FrozenClock
from careaccess.testing.strategies import area_rules, identity_numbers, worlds
from careaccess.testing.world import WORLD_TIMEZONE, World

__all__ = ["CI_AGREEMENT_EXAMPLES", "PLACES", "AgreementTests", "PlainStore", "agreement_examples", "reach_worlds"]

#: The fewest worlds the agreement property draws per store under ``CI=true``.
CI_AGREEMENT_EXAMPLES: Final = 200


def agreement_examples(configured: int | None) -> int:
    """Worlds to draw: *configured*, else the profile's ``max_examples``; at least 200 under ``CI=true``."""
    examples = configured or settings().max_examples
    return max(examples, CI_AGREEMENT_EXAMPLES) if os.environ.get("CI") == "true" else examples


#: Places worlds draw residences and rules from: few, so that they meet often.
PLACES = (Residence("01", "0180"), Residence("01", "0114"), Residence("03", "0380"), Residence("03"))


class PlainStore:
    """A real store seen through the plain :class:`~careaccess.store.Store` contract only.

    Delegates every contract method and hides the ``ReachStore`` methods, so the core's
    fallback answers: the fallback is tested on the same real store as the native path.
    """

    _HIDDEN = frozenset({"list_clinics", "load_reach"})

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name in self._HIDDEN:
            raise AttributeError(name)
        return getattr(self._store, name)


@st.composite
def reach_worlds(draw: st.DrawFn) -> World:
    """Worlds whose service areas and residences come from :data:`PLACES`, so rules match often.

    Some residents have no known residence; some rules name no place (whole country),
    some set gender and age bounds.
    """
    world = draw(worlds(max_clinics=3, max_case_types=3, max_residents=4))
    placed = st.builds(
        AreaRule,
        region=st.sampled_from(["01", "03"]),
        gender=st.none() | st.sampled_from(Gender),
        min_age=st.none() | st.integers(0, 60),
    )
    rules = area_rules(region=None) | placed | st.sampled_from([AreaRule("01", "0180"), AreaRule("03", "0380")])
    clinics = tuple(
        attrs.evolve(clinic, service_area=ServiceArea(draw(st.lists(rules, max_size=3)))) for clinic in world.clinics
    )
    people = tuple(
        attrs.evolve(person, residence=draw(st.none() | st.sampled_from(PLACES))) for person in world.residents
    )
    return attrs.evolve(world, clinics=clinics, residents=people)


def _renamed(world: World, prefix: str) -> World:
    """*world* with every clinic id prefixed, so many worlds share one store without meeting."""

    def clinic_id(value: str) -> str:
        return prefix + value

    return attrs.evolve(
        world,
        clinics=tuple(attrs.evolve(c, id=clinic_id(c.id)) for c in world.clinics),
        case_types=tuple(attrs.evolve(c, clinic_id=clinic_id(c.clinic_id)) for c in world.case_types),
        approvals=tuple(attrs.evolve(a, clinic_id=clinic_id(a.clinic_id)) for a in world.approvals),
        grants=tuple(attrs.evolve(g, clinic_id=clinic_id(g.clinic_id)) for g in world.grants),
    )


def _moments(world: World) -> list[dt.datetime]:
    """Local midnights and last microseconds around today and around every grant's end."""
    days = {world.today - dt.timedelta(days=1), world.today, world.today + dt.timedelta(days=1)}
    days.update(g.until for g in world.grants if g.until is not None)
    moments: list[dt.datetime] = []
    for day in sorted(days):
        start = dt.datetime.combine(day, dt.time(0), WORLD_TIMEZONE)
        moments += [start, start + dt.timedelta(hours=12), start + dt.timedelta(days=1, microseconds=-1)]
    return [m.astimezone(dt.UTC) for m in moments]


def _flat(found: Sequence[ClinicAccess]) -> dict[tuple[str, str], Decision]:
    return {(access.clinic.id, d.case_type_id): d for access in found for d in access.decisions}


_WORLDS = itertools.count()  # every generated world gets clinic ids of its own


class AgreementTests:
    """The agreement property; a subclass provides the ``store`` fixture (a fresh, empty store)."""

    agreement_examples: ClassVar[int | None] = None

    def test_clinics_for_agrees_with_decide(self, store: Store) -> None:
        """The agreement property: for generated worlds, every clinic and case type, at boundaries."""
        examples = agreement_examples(self.agreement_examples)

        @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            number = next(_WORLDS)
            world = _renamed(data.draw(reach_worlds(), "world"), f"w{number}-")
            clock = FrozenClock(world.now)
            access = connect(store, plugins=[world.directory()], clock=clock)
            world.load(access, clock)
            outsider = data.draw(identity_numbers(max_birth_date=world.today), "outsider")
            people = [r.pnr for r in world.residents] + [outsider]
            moments = _moments(world)
            plain = connect(PlainStore(store), plugins=[world.directory()], clock=clock)
            ours = {c.id for c in world.clinics}
            for pnr in people:
                at = data.draw(st.sampled_from(moments), "at")
                residence = data.draw(st.none() | st.sampled_from(PLACES), "residence")
                include_denied = data.draw(st.booleans(), "include_denied")
                found = [a for a in access.clinics_for(pnr, at, residence, include_denied) if a.clinic.id in ours]
                expected = {
                    (t.clinic_id, t.id): access.decide(pnr, t.clinic_id, t.id, at, residence) for t in world.case_types
                }
                listed = _flat(found)
                allowed = {key: d for key, d in expected.items() if d.allowed}
                if include_denied:
                    # Every candidate clinic with all its case types; every allowed pair among them.
                    assert listed == {key: expected[key] for key in listed}
                    assert allowed.items() <= listed.items()
                    shown = {clinic_id for clinic_id, _ in listed}
                    assert {key for key in expected if key[0] in shown} == listed.keys()
                else:
                    assert listed == allowed
                    assert all(a.reachable for a in found)
                assert [a.clinic.id for a in found] == sorted({a.clinic.id for a in found})
                for clinic_access in found:
                    ids = [d.case_type_id for d in clinic_access.decisions]
                    assert ids == sorted(ids)
                if include_denied or pnr != people[0] or number % 10:
                    continue  # the fallback reads the whole feed and every clinic: every tenth world will do
                fallback = [a for a in plain.clinics_for(pnr, at, residence) if a.clinic.id in ours]
                assert fallback == found

        check()
