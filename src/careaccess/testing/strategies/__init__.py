"""Hypothesis strategies for careaccess values.

Every strategy is sound: a strategy for valid values never produces an invalid one, and
:func:`invalid_identity_number_texts` only produces text that
:meth:`~careaccess.identity.PersonalIdentityNumber.parse` refuses with exactly the code it
names. Bounds are keyword-only. ``st.from_type`` works for every public model type
(identity numbers, residences, area rules, service areas, clinics, case types, actors,
residents, approvals, grants, events, resident list entries and pages) once hypothesis has
loaded this module's entry point.

Records that carry times (approvals, grants) are exactly what the public API would have
written at those times, with dates judged in Europe/Stockholm (the library's default zone):
:meth:`World.load` writes a drawn :class:`World` through the API and gets the same records back.

Sections, one module each: identity numbers, their text renderings and invalid identity
numbers (:mod:`~careaccess.testing.strategies.identity`); regions, residences and area rules
(:mod:`~careaccess.testing.strategies.places`); service areas, clinics and case types, actors
and residents, approvals and grants, events and pages
(:mod:`~careaccess.testing.strategies.records`); decision requests and worlds
(:mod:`~careaccess.testing.strategies.scenarios`). Registration is in
:mod:`careaccess.testing.registration`.
"""

from __future__ import annotations

from careaccess.testing.adversarial import (
    CHUNK_SIZES,
    COLLISIONS,
    NameFamily,
    adversarial_worlds,
    batches,
    colliding_identity_numbers,
    colliding_ids,
    colliding_names,
    neighbours,
)
from careaccess.testing.strategies.identity import (
    DEFAULT_MIN_BIRTH_DATE,
    INVALID_CODES,
    MAX_BIRTH_DATE,
    MIN_BIRTH_DATE,
    InvalidText,
    identity_number_texts,
    identity_numbers,
    invalid_identity_number_texts,
    renderings,
)
from careaccess.testing.strategies.identity import (  # not in __all__, importable as before
    Form as Form,
)
from careaccess.testing.strategies.places import area_rules, county_codes, municipality_codes, residences
from careaccess.testing.strategies.records import (
    GRANT_STATES,
    HISTORY,
    MAX_TODAY,
    MIN_TODAY,
    actors,
    approvals,
    case_types,
    clinics,
    display_names,
    events,
    grants,
    identifiers,
    pages,
    resident_accesses,
    residents,
    service_areas,
)
from careaccess.testing.strategies.scenarios import DecisionRequest, decision_requests, worlds
from careaccess.testing.world import GrantState, World

__all__ = [
    "DEFAULT_MIN_BIRTH_DATE",
    "GRANT_STATES",
    "HISTORY",
    "INVALID_CODES",
    "MAX_BIRTH_DATE",
    "MAX_TODAY",
    "MIN_BIRTH_DATE",
    "MIN_TODAY",
    "DecisionRequest",
    "GrantState",
    "InvalidText",
    "World",
    "actors",
    "approvals",
    "area_rules",
    "case_types",
    "clinics",
    "county_codes",
    "decision_requests",
    "display_names",
    "events",
    "grants",
    "identifiers",
    "identity_number_texts",
    "identity_numbers",
    "invalid_identity_number_texts",
    "municipality_codes",
    "pages",
    "renderings",
    "residences",
    "resident_accesses",
    "residents",
    "service_areas",
    "worlds",
]


# Adversarial strategies (collisions a careless index confuses) live in their own module
# and are part of this one's public surface.
__all__ += [
    "CHUNK_SIZES",
    "COLLISIONS",
    "NameFamily",
    "adversarial_worlds",
    "batches",
    "colliding_identity_numbers",
    "colliding_ids",
    "colliding_names",
    "neighbours",
]
