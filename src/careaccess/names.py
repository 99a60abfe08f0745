"""Residents' names: the one normal form they are stored in and the one form they are searched in.

- :func:`normalize` (Unicode NFC) is applied by the core to every name on its way in,
  so "Å" typed as one code point or as "A" + ring is stored the same.
- :func:`fold` is the search form: stores persist ``fold(name)`` beside the name,
  computed with this function at write time, and match a
  :attr:`~careaccess.store.ResidentQuery.name_contains` (already folded) against it.
  A resident matches if the folded name of the approval or of any grant contains it.

.. versionadded:: 0.1
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["DASHES", "fold", "normalize"]

#: Characters that separate parts of a name like whitespace does: every character of
#: Unicode's Dash_Punctuation category (Pd, Unicode 14), fixed here so the folded form
#: stores persist does not change with the Python version's Unicode tables.
DASHES = (
    "\u002d\u058a\u05be\u1400\u1806\u2010\u2011\u2012\u2013\u2014\u2015\u2e17\u2e1a\u2e3a"
    "\u2e3b\u2e40\u2e5d\u301c\u3030\u30a0\ufe31\ufe32\ufe58\ufe63\uff0d\U00010ead"
)

_SEPARATORS = re.compile(f"[\\s{re.escape(DASHES)}]+")


def normalize(name: str) -> str:
    """*name* in Unicode normal form C: how every name is stored.

    >>> normalize("A\\u030asa") == "\\u00c5sa"
    True
    """
    return unicodedata.normalize("NFC", name)


def fold(name: str) -> str:
    """The search form of *name*: case and separators ignored.

    NFC normalize, ``str.casefold()``, NFC again (case folding can denormalize),
    then every run of whitespace or dash characters (:data:`DASHES`) becomes one
    space, and leading and trailing spaces are stripped.

    >>> fold("  Åsa   ÖBERG–Ärlig ")
    'åsa öberg ärlig'
    >>> fold("Straße")
    'strasse'
    """
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())
    return _SEPARATORS.sub(" ", folded).strip(" ")
