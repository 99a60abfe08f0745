"""Names: stored in NFC, searched folded (case, encoding and separators ignored)."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careaccess.names import DASHES, fold, normalize


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Åsa Öberg-Ärlig", "åsa öberg ärlig"),
        ("A\u030asa  \u00d6BERG", "åsa öberg"),  # decomposed and composed fold alike
        ("Per-Erik", "per erik"),
        ("Per \u2013 Erik", "per erik"),  # en dash with spaces: one separator
        ("Anna\u00a0Lind", "anna lind"),  # no-break space
        ("  Straße ", "strasse"),
        ("ǅemal", "ǆemal"),
        ("李小龍", "李小龍"),
        ("- -", ""),
    ],
)
def test_fold(name: str, folded: str) -> None:
    assert fold(name) == folded


@given(st.text())
def test_fold_is_idempotent_normalized_and_trimmed(name: str) -> None:
    folded = fold(name)
    assert fold(folded) == folded
    assert unicodedata.is_normalized("NFC", folded)
    assert folded == folded.strip()
    assert "  " not in folded
    assert not set(folded) & set(DASHES)


@given(st.text())
def test_canonically_equivalent_names_fold_alike(name: str) -> None:
    assert fold(unicodedata.normalize("NFD", name)) == fold(unicodedata.normalize("NFC", name))
    assert normalize(unicodedata.normalize("NFD", name)) == unicodedata.normalize("NFC", name)


def test_the_dashes_are_unicodes_dash_punctuation() -> None:
    assert all(unicodedata.category(c) == "Pd" for c in DASHES)
    if unicodedata.unidata_version.startswith("14."):
        every = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Pd"}
        assert every == set(DASHES)
