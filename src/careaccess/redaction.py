"""Masking identity numbers in free text: what makes log lines and error texts safe to keep.

.. versionadded:: 0.1
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["redact"]

_COORDINATION_OFFSET: Final = 60
_MONTHS: Final = 12
_MAX_DAY: Final = 31
# What other validators accept between the digits of a number, and people type: whitespace
# (with the no-break and narrow no-break spaces), ':', '+', and every dash and minus sign
# python-stdnum reads as '-' (its list, plus the rest of Unicode's dash punctuation).
_DASH_NAMES: Final = (
    "HYPHEN-MINUS, ARMENIAN HYPHEN, HEBREW PUNCTUATION MAQAF, CANADIAN SYLLABICS HYPHEN, MONGOLIAN TODO SOFT HYPHEN,"
    " HYPHEN, NON-BREAKING HYPHEN, FIGURE DASH, EN DASH, EM DASH, HORIZONTAL BAR, DOUBLE OBLIQUE HYPHEN,"
    " HYPHEN WITH DIAERESIS, TWO-EM DASH, THREE-EM DASH, DOUBLE HYPHEN, WAVE DASH, WAVY DASH,"
    " KATAKANA-HIRAGANA DOUBLE HYPHEN, PRESENTATION FORM FOR VERTICAL EM DASH, PRESENTATION FORM FOR VERTICAL EN DASH,"
    " SMALL EM DASH, SMALL HYPHEN-MINUS, FULLWIDTH HYPHEN-MINUS, MONGOLIAN NIRUGU, OVERLINE, HYPHEN BULLET, MACRON,"
    " MODIFIER LETTER MINUS SIGN, FULLWIDTH MACRON, OGHAM SPACE MARK, SUPERSCRIPT MINUS, SUBSCRIPT MINUS, MINUS SIGN,"
    " HORIZONTAL LINE EXTENSION, HORIZONTAL SCAN LINE-1, HORIZONTAL SCAN LINE-3, HORIZONTAL SCAN LINE-7,"
    " HORIZONTAL SCAN LINE-9, STRAIGHTNESS"
)
_GAP: Final = "[" + re.escape("".join(unicodedata.lookup(n.strip()) for n in _DASH_NAMES.split(","))) + r"\s:+]"
# A run of digits (any script: \d is Unicode's decimal digits) with gaps of at most three such characters.
_DIGIT_RUN: Final = re.compile(rf"\d(?:{_GAP}{{0,3}}\d)*")
# A date (6 or 8 digits) and four characters among which a letter: a reserve or interim number.
_IN_TEXT: Final = re.compile(
    rf"(?<!\d)(\d{{6}}(?:\d\d)?{_GAP}{{0,3}})(?=[0-9A-Za-z]{{0,3}}[A-Za-z])[0-9A-Za-z]{{4}}(?![0-9A-Za-z])"
)
_SHORT_LENGTH: Final = 10


def redact(text: str) -> str:
    """Mask the last four digits of anything in *text* that may be an identity number.

    Masks every written form other validators (personnummer, python-stdnum) accept and people
    type: 10 or 12 digits of any script, with or without separators between any of them
    (``-``, ``+``, en dash, minus sign, other dashes, ``:``, spaces including no-break and
    narrow no-break spaces, ``450415 - 9874``, ``1945-04-15-9874``), alone or inside text. In a
    longer run of digits, the four digits after every six that could be a date (month 00-12,
    day 00-31 or 60-91) are masked. Reserve and interim numbers (a letter among the last four
    characters) are masked too, so log lines and tracebacks are safe to keep. Each masked
    character becomes ``*``; separators are kept.
    """
    return _IN_TEXT.sub(_mask_match, _DIGIT_RUN.sub(_mask_run, text))


def _mask_run(match: re.Match[str]) -> str:
    run = match.group()
    positions = [i for i, char in enumerate(run) if char.isdecimal()]
    count = len(positions)
    if count < _SHORT_LENGTH:
        return run
    if count in (_SHORT_LENGTH, _SHORT_LENGTH + 2):
        hidden = positions[-4:]
    else:
        # Every 12-digit number ends in a 10-digit one: look at each window of ten.
        values = [int(run[i]) for i in positions]
        hidden = []
        for end in range(_SHORT_LENGTH, count + 1):
            month = values[end - 8] * 10 + values[end - 7]
            day = values[end - 6] * 10 + values[end - 5]
            if month <= _MONTHS and (day <= _MAX_DAY or _COORDINATION_OFFSET <= day <= _COORDINATION_OFFSET + _MAX_DAY):
                hidden += positions[end - 4 : end]
    chars = list(run)
    for i in hidden:
        chars[i] = "*"
    return "".join(chars)


def _mask_match(match: re.Match[str]) -> str:
    return match.group(1) + "****"
