"""redact() masks every written form of a number that other validators accept or people type.

The oracle: after redaction, with separators dropped and every digit read as ASCII, the
10-digit core of the number (birth date and last four) appears nowhere in the text.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from careaccess.identity import PersonalIdentityNumber, redact
from careaccess.testing.strategies import identity_numbers

personnummer_module = pytest.importorskip("personnummer.personnummer")
stdnum_module = pytest.importorskip("stdnum.se.personnummer")

DIGIT_SCRIPTS = [
    "0123456789",
    "0123456789",
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",  # Arabic-Indic (personnummer reads them)
    "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19",  # full-width (stdnum maps them)
    "".join(chr(0x1D7CE + d) for d in range(10)),  # mathematical bold (stdnum maps them)
]
# Between two digits of the date: what python-stdnum removes or reads as '-'.
DATE_GAPS = [" ", ":", "-", "+", "\u2010", "\u2011", "\u2013", "\u2014", "\u2212", "\uff0d", " - "]
# Between two of the last four digits: stdnum removes spaces and colons there only.
TAIL_GAPS = [" ", ":"]
# Before the last four digits.
SEPARATORS = ["", "-", "+", "\u2013", "\u2212", "\u2014", "\uff0d", " ", ":", " - ", " + "]
# What people type that no validator above accepts, but a reader takes for a number.
TYPED_SEPARATORS = ["\u00a0", "\u202f", "\u2009", "\u2007", "\t", "\u00a0-\u00a0", "\u2013 ", " \u2212 ", "--", "\n"]


def accepted_by_personnummer(text: str) -> bool:
    try:
        personnummer_module.parse(text)
    except personnummer_module.PersonnummerException:
        return False
    return True


def accepted_by_stdnum(text: str) -> bool:
    try:
        stdnum_module.validate(text)
        stdnum_module.get_birth_date(text)
    except (ValueError, stdnum_module.ValidationError):
        return False
    return True


def leaks(redacted: str, pnr: PersonalIdentityNumber) -> bool:
    """True when the birth date and the last four digits stand next to each other."""
    kept = "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() else char
        for char in redacted
        if char.isalnum() or char == "*"
    )
    return pnr.digits[2:] in kept


@st.composite
def written_forms(draw: st.DrawFn, pnr: PersonalIdentityNumber, *, separators: list[str]) -> str:
    """10 or 12 digits of one script, with gaps anywhere and a separator before the last four."""
    digits = pnr.digits if draw(st.booleans()) else pnr.digits[2:]
    script = draw(st.sampled_from(DIGIT_SCRIPTS))
    chars = [script[int(d)] for d in digits]

    def gap(options: list[str]) -> str:
        return draw(st.sampled_from(options)) if draw(st.integers(0, 5)) == 0 else ""

    head = "".join(char + gap(DATE_GAPS) for char in chars[:-5]) + chars[-5]
    tail = "".join(char + gap(TAIL_GAPS) for char in chars[-4:-1]) + chars[-1]
    return head + draw(st.sampled_from(separators)) + tail


surroundings = st.text(alphabet=st.characters(exclude_categories=["Nd", "Cs"]), max_size=12)


@given(identity_numbers(unknown_birth_date=False), st.data())
def test_no_rendering_another_validator_accepts_survives_redaction(
    pnr: PersonalIdentityNumber, data: st.DataObject
) -> None:
    text = data.draw(written_forms(pnr, separators=SEPARATORS))
    assume(accepted_by_personnummer(text) or accepted_by_stdnum(text))
    assert leaks(text, pnr)  # the oracle sees the number before redaction
    prefix, suffix = data.draw(surroundings), data.draw(surroundings)
    for shown in (text, f"{prefix}{text}{suffix}", f"{prefix} {text} {suffix}", f"{text}\n{text}"):
        redacted = redact(shown)
        assert not leaks(redacted, pnr), (shown, redacted)
        assert len(redacted) == len(shown)


@given(identity_numbers(), st.data())
def test_no_typed_form_survives_redaction(pnr: PersonalIdentityNumber, data: st.DataObject) -> None:
    text = data.draw(written_forms(pnr, separators=SEPARATORS + TYPED_SEPARATORS))
    prefix, suffix = data.draw(surroundings), data.draw(surroundings)
    for shown in (text, f"{prefix}{text}{suffix}", f"failed for {text}: {prefix}"):
        redacted = redact(shown)
        assert not leaks(redacted, pnr), (shown, redacted)


@given(st.text(max_size=60))
def test_redaction_keeps_the_length_and_is_idempotent(text: str) -> None:
    redacted = redact(text)
    assert len(redacted) == len(text)
    assert redact(redacted) == redacted
    assert all(after in (before, "*") for before, after in zip(text, redacted, strict=True))


@pytest.mark.parametrize(
    "text",
    [
        "19450415\u20139874",
        "19450415\u22129874",
        "450415\u00a09874",
        "450415\u202f9874",
        "450415 - 9874",
        "1945-04-15-9874",
        "450415+9874",
        "19450415+9874",
    ],
)
def test_the_reported_forms(text: str) -> None:
    pnr = PersonalIdentityNumber.from_digits("194504159874")
    assert leaks(text, pnr)
    for shown in (text, f"hook failed for {text}.", f"x{text}y"):
        assert not leaks(redact(shown), pnr)
