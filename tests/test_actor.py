"""Actor.clinics is a collection of clinic ids; a single id given as a string is refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careaccess.errors import InvalidRequest
from careaccess.models import Actor
from careaccess.testing.strategies import identifiers


@pytest.mark.parametrize("clinics", ["vc-ost", "", b"vc-ost", bytearray(b"vc"), 7, None, object()])
def test_a_single_string_or_a_non_collection_is_refused(clinics: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        Actor("admin-1", clinics=clinics)
    assert caught.value.code == "invalid_identifier"
    assert "collection" in caught.value.message_en
    assert "samling" in caught.value.message_sv


@pytest.mark.parametrize("clinics", [["vc-ost", ""], [" vc-ost"], [7], ["x" * 201], [None]])
def test_every_element_must_be_a_clinic_id(clinics: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        Actor("admin-1", clinics=clinics)
    assert caught.value.code == "invalid_identifier"


@given(st.lists(identifiers(), max_size=4), st.sampled_from([frozenset, set, list, tuple]))
def test_any_collection_of_ids_is_the_set_of_them(ids: list[str], kind: Any) -> None:
    actor = Actor("admin-1", clinics=kind(ids))
    assert actor.clinics == frozenset(ids)
    assert isinstance(actor.clinics, frozenset)
    assert all(actor.administers(i) for i in ids)
    assert actor.administers("--") is ("--" in ids)


def test_the_default_is_no_clinics_and_a_generator_works() -> None:
    assert Actor("admin-1").clinics == frozenset()
    assert Actor("admin-1", clinics=(c for c in ["a", "b"])).clinics == frozenset({"a", "b"})
