"""Hypothesis strategies for identity numbers: valid ones, their text renderings and
invalid texts paired with the code ``parse`` refuses them with."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection
from typing import Final, Literal, NamedTuple

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from careaccess.identity import Gender, PersonalIdentityNumber, luhn_check_digit

__all__ = [
    "DEFAULT_MIN_BIRTH_DATE",
    "INVALID_CODES",
    "MAX_BIRTH_DATE",
    "MIN_BIRTH_DATE",
    "Form",
    "InvalidText",
    "identity_number_texts",
    "identity_numbers",
    "invalid_identity_number_texts",
    "renderings",
]

# ---------------------------------------------------------------------------
# Identity numbers
# ---------------------------------------------------------------------------

#: The earliest and latest birth dates a 12-digit number can carry (centuries 18 to 21).
MIN_BIRTH_DATE: Final = dt.date(1800, 1, 1)
MAX_BIRTH_DATE: Final = dt.date(2199, 12, 31)
#: Default lower bound: old enough for every age rule, young enough for the 10-digit form.
DEFAULT_MIN_BIRTH_DATE: Final = dt.date(1900, 1, 1)

Form = Literal[10, 12]
_WHITESPACE: Final = st.sampled_from(["", "", "", " ", "  ", "\t", "\n", " \n"])


def _today(today: dt.date | None) -> dt.date:
    return today if today is not None else dt.datetime.now(dt.UTC).astimezone().date()


def _canonical(
    birth: dt.date, serial: int, *, coordination: bool, month_known: bool = True, day_known: bool = True
) -> str:
    """The 12 digits; a coordination number may leave the month (``00``) or day (``60``) unwritten."""
    day = (birth.day if day_known else 0) + (60 if coordination else 0)
    month = birth.month if month_known else 0
    nine = f"{birth.year % 100:02d}{month:02d}{day:02d}{serial:03d}"
    return f"{birth.year // 100:02d}{nine}{luhn_check_digit(nine)}"


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _earliest_birth(pnr: PersonalIdentityNumber) -> dt.date:
    """The birth date, or for one never established, the earliest date the digits allow."""
    if pnr.birth_date is not None:
        return pnr.birth_date
    digits = pnr.digits
    return dt.date(pnr.birth_year, int(digits[4:6]) or 1, int(digits[6:8]) - 60 or 1)


def _serials(gender: Gender | None) -> st.SearchStrategy[int]:
    if gender is Gender.FEMALE:
        return st.integers(1, 499).map(lambda k: 2 * k)
    if gender is Gender.MALE:
        return st.integers(0, 499).map(lambda k: 2 * k + 1)
    return st.integers(1, 999)


@st.composite
def identity_numbers(
    draw: st.DrawFn,
    *,
    min_birth_date: dt.date = DEFAULT_MIN_BIRTH_DATE,
    max_birth_date: dt.date | None = None,
    gender: Gender | None = None,
    coordination: bool | None = None,
    unknown_birth_date: bool | None = None,
) -> PersonalIdentityNumber:
    """Valid identity numbers born between *min_birth_date* and *max_birth_date* (inclusive).

    For a coordination number whose birth month or day was never established (month ``00``
    and/or day ``60``), the earliest date its digits allow lies between the bounds.

    :param max_birth_date: defaults to the local date when drawn, so the numbers parse today.
    :param gender: only this gender; None for both.
    :param coordination: True for coordination numbers only, False for none, None for both.
    :param unknown_birth_date: True for coordination numbers whose birth month or day was
        never established only (implies coordination numbers), False for none, None for
        sometimes (whenever coordination numbers may be drawn).
    """
    upper = _today(max_birth_date)
    if not MIN_BIRTH_DATE <= min_birth_date <= upper <= MAX_BIRTH_DATE:
        raise InvalidArgument(
            f"need {MIN_BIRTH_DATE} <= min_birth_date={min_birth_date} <= max_birth_date={upper} <= {MAX_BIRTH_DATE}"
        )
    if unknown_birth_date and coordination is False:
        raise InvalidArgument("unknown_birth_date=True needs coordination numbers (coordination=None or True)")
    first_of_month = min_birth_date if min_birth_date.day == 1 else _next_month(min_birth_date)
    if unknown_birth_date and first_of_month > upper:
        raise InvalidArgument(f"no number with an unknown birth month or day fits {min_birth_date}..{upper}")
    birth = draw(st.dates(min_birth_date, upper))
    serial = draw(_serials(gender))
    is_coordination = draw(st.booleans()) if coordination is None and not unknown_birth_date else coordination
    month_known = day_known = True
    if is_coordination is not False and unknown_birth_date is not False:
        # (month known, day known) pairs whose earliest date stays within the bounds.
        kinds = [
            (m, d)
            for m, d in ((True, False), (False, True), (False, False))
            if dt.date(birth.year, birth.month if m else 1, birth.day if d else 1) >= min_birth_date
        ]
        if unknown_birth_date and not kinds:
            birth, kinds = first_of_month, [(True, False)]
        if kinds and (unknown_birth_date or draw(st.integers(0, 3)) == 0):
            month_known, day_known = draw(st.sampled_from(kinds))
            is_coordination = True
    digits = _canonical(birth, serial, coordination=bool(is_coordination), month_known=month_known, day_known=day_known)
    return PersonalIdentityNumber.from_digits(digits)


# ---------------------------------------------------------------------------
# Text renderings
# ---------------------------------------------------------------------------


def _legal_texts(digits: str, today: dt.date, form: Form | None) -> list[str]:
    """Every legal way to write the 12 *digits* on *today*, without surrounding whitespace."""
    age_in_years = today.year - int(digits[:4])
    texts: list[str] = []
    if form in (None, 12):
        texts += [digits, f"{digits[:8]}-{digits[8:]}"]
        if age_in_years >= 100:
            texts.append(f"{digits[:8]}+{digits[8:]}")
    # The 10-digit form names one of two centuries: within 99 years ('-') or the century before ('+').
    if form in (None, 10) and age_in_years < 200:
        if age_in_years >= 100:
            texts.append(f"{digits[2:8]}+{digits[8:]}")
        else:
            texts += [digits[2:], f"{digits[2:8]}-{digits[8:]}"]
    return texts


@st.composite
def renderings(
    draw: st.DrawFn,
    pnr: PersonalIdentityNumber,
    *,
    today: dt.date | None = None,
    form: Form | None = None,
    whitespace: bool = True,
) -> str:
    """Text that ``PersonalIdentityNumber.parse(text, today=today)`` reads back as *pnr*.

    10- or 12-digit (*form*), with every separator the rules allow on *today*: ``-`` or none
    for people under 100 this calendar year, ``+`` from the year they turn 100 (also allowed
    in the 12-digit form); with optional surrounding whitespace.
    """
    on = _today(today)
    if _earliest_birth(pnr) > on:
        raise InvalidArgument(f"{pnr!r} is not born yet on {on}")
    texts = _legal_texts(pnr.digits, on, form)
    if not texts:
        raise InvalidArgument(f"{pnr!r} has no {form}-digit form on {on}")
    return _pad(draw, draw(st.sampled_from(texts)), whitespace=whitespace)


def _pad(draw: st.DrawFn, text: str, *, whitespace: bool = True) -> str:
    if not whitespace:
        return text
    return draw(_WHITESPACE) + text + draw(_WHITESPACE)


@st.composite
def identity_number_texts(
    draw: st.DrawFn,
    *,
    today: dt.date | None = None,
    min_birth_date: dt.date = DEFAULT_MIN_BIRTH_DATE,
    max_birth_date: dt.date | None = None,
    gender: Gender | None = None,
    coordination: bool | None = None,
    form: Form | None = None,
    whitespace: bool = True,
) -> str:
    """Text of a valid identity number as of *today* (default: the local date).

    Same bounds as :func:`identity_numbers` (*max_birth_date* is capped at *today*) and
    :func:`renderings`. For the 10-digit *form* the birth date is also kept within the
    199 years that form can express.
    """
    on = _today(today)
    upper = min(on, max_birth_date or on)
    lower = min_birth_date
    if form == 10:
        lower = max(lower, dt.date(on.year - 199, 1, 1))
    pnr = draw(identity_numbers(min_birth_date=lower, max_birth_date=upper, gender=gender, coordination=coordination))
    return draw(renderings(pnr, today=on, form=form, whitespace=whitespace))


# ---------------------------------------------------------------------------
# Invalid identity numbers
# ---------------------------------------------------------------------------

#: The codes :func:`invalid_identity_number_texts` can produce.
INVALID_CODES: Final = (
    "pnr_format",
    "pnr_reserve_number",
    "pnr_date",
    "pnr_serial",
    "pnr_checksum",
    "pnr_future_birth_date",
)


class InvalidText(NamedTuple):
    """Text that ``parse(text, today=today)`` refuses with ``InvalidIdentityNumber.code == code``."""

    text: str
    code: str


def _with_check(nine_or_eleven: str) -> str:
    """Append the Luhn check digit, computed over the last nine of the given digits."""
    return nine_or_eleven + str(luhn_check_digit(nine_or_eleven[-9:]))


@st.composite
def _valid_text(draw: st.DrawFn, today: dt.date) -> str:
    return draw(identity_number_texts(today=today, whitespace=False))


@st.composite
def _checksum_texts(draw: st.DrawFn, today: dt.date) -> str:
    text = draw(_valid_text(today))
    # Only the check digit changes, and Luhn catches every single-digit change.
    wrong = draw(st.sampled_from([d for d in "0123456789" if d != text[-1]]))
    return _pad(draw, text[:-1] + wrong)


@st.composite
def _serial_texts(draw: st.DrawFn, today: dt.date) -> str:
    pnr = draw(identity_numbers(max_birth_date=today, min_birth_date=max(DEFAULT_MIN_BIRTH_DATE, _min_short(today))))
    digits = _with_check(pnr.digits[:8] + "000")
    return _pad(draw, draw(st.sampled_from(_legal_texts(digits, today, None))))


def _min_short(today: dt.date) -> dt.date:
    return dt.date(today.year - 199, 1, 1)


_NON_LEAP_YEARS: Final = [y for y in range(1800, 2200) if not calendar.isleap(y)]


@st.composite
def _date_texts(draw: st.DrawFn, today: dt.date) -> str:
    """A real serial and check digit around a date that exists in no century the text can name."""
    kind = draw(st.sampled_from(["month", "day", "leap", "short_month"]))
    # yy % 4 != 0 keeps 29 February invalid whichever century a 10-digit form is read in.
    year = draw(st.sampled_from([y for y in _NON_LEAP_YEARS if y % 4]))
    if kind == "month":
        month, day = draw(st.sampled_from([0, *range(13, 100)])), draw(st.integers(1, 28))
    elif kind == "day":
        # Day 60 is a coordination number's unknown day; 92+ would be day 32 of one.
        month, day = draw(st.integers(0, 12)), draw(st.sampled_from([0, *range(32, 60), *range(92, 100)]))
    elif kind == "leap":
        month, day = 2, 29
    else:
        month, day = draw(st.sampled_from([(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)]))
    # Month 00 is an unknown month only in a coordination number.
    if kind != "day" and month != 0 and draw(st.booleans()):
        day += 60
    serial = draw(st.integers(1, 999))
    digits = _with_check(f"{year:04d}{month:02d}{day:02d}{serial:03d}")
    forms = [
        digits,
        f"{digits[:8]}-{digits[8:]}",
        digits[2:],
        f"{digits[2:8]}-{digits[8:]}",
        f"{digits[2:8]}+{digits[8:]}",
    ]
    return _pad(draw, draw(st.sampled_from(forms)))


@st.composite
def _future_texts(draw: st.DrawFn, today: dt.date) -> str:
    if today >= MAX_BIRTH_DATE:
        raise InvalidArgument(f"no future birth date a number can carry after {today}")
    birth = draw(st.dates(today + dt.timedelta(days=1), MAX_BIRTH_DATE))
    digits = _canonical(birth, draw(st.integers(1, 999)), coordination=draw(st.booleans()))
    # Only the 12-digit form can name a future date: a 10-digit one is read in an earlier century.
    sep = draw(st.sampled_from(["", "-", "+"]))
    return _pad(draw, f"{digits[:8]}{sep}{digits[8:]}")


_LETTERS: Final = "ABCDEFGHJKLMNPRSTUXYZabcdefghjkmnprstuxyz"


@st.composite
def _reserve_texts(draw: st.DrawFn, today: dt.date) -> str:
    if draw(st.booleans()):
        # The national reserve-id format and regional series: a century no living person has.
        century = draw(st.sampled_from([*range(18), *range(22, 100)]))
        body = draw(st.text("0123456789", min_size=10, max_size=10))
        text = f"{century:02d}{body}"
        sep = draw(st.sampled_from(["", "-"]))
        return _pad(draw, f"{text[:8]}{sep}{text[8:]}")
    # Interim and regional reserve numbers: a date, then four characters with at least one letter.
    date_part = draw(st.text("0123456789", min_size=6, max_size=6))
    if draw(st.booleans()):
        date_part = draw(st.text("0123456789", min_size=2, max_size=2)) + date_part
    tail = list(draw(st.text("0123456789" + _LETTERS, min_size=4, max_size=4)))
    tail[draw(st.integers(0, 3))] = draw(st.sampled_from(_LETTERS))
    sep = draw(st.sampled_from(["", "-", "+"]))
    return _pad(draw, f"{date_part}{sep}{''.join(tail)}")


_NON_ASCII_DIGITS: Final = "٠١٢٣٤٥٦٧٨٩０１２３４５６７８９߀𝟎𝟗"


@st.composite
def _format_texts(draw: st.DrawFn, today: dt.date) -> str:
    kind = draw(st.sampled_from(["length", "non_ascii", "separator", "letter_in_date", "blank", "inner_space"]))
    if kind == "length":
        length = draw(st.sampled_from([0, 1, 5, 6, 8, 9, 11, 13, 14, 16]))
        digits = draw(st.text("0123456789", min_size=length, max_size=length))
        if length >= 5 and draw(st.booleans()):
            digits = f"{digits[:-4]}{draw(st.sampled_from('-+'))}{digits[-4:]}"
        return _pad(draw, digits)
    if kind == "blank":
        return draw(_WHITESPACE)
    text = draw(_valid_text(today))
    digit_positions = [i for i, c in enumerate(text) if c.isdigit()]
    if kind == "non_ascii":
        i = draw(st.sampled_from(digit_positions))
        return _pad(draw, text[:i] + draw(st.sampled_from(_NON_ASCII_DIGITS)) + text[i + 1 :])
    if kind == "separator":
        # Replace or add a separator no form allows, just before the last four digits.
        bad = draw(st.sampled_from([" ", "/", ".", "_", ":", "--", "+-", "−", "–"]))
        head = text[:-4].rstrip("-+")
        return _pad(draw, head + bad + text[-4:])
    date_length = len(text) - 4 - (1 if text[-5] in "-+" else 0)
    i = draw(st.integers(0, date_length - 1))
    if kind == "letter_in_date":
        return _pad(draw, text[:i] + draw(st.sampled_from(_LETTERS)) + text[i + 1 :])
    return _pad(draw, text[: i + 1] + " " + text[i + 1 :])


_INVALID_BUILDERS: Final = {
    "pnr_format": _format_texts,
    "pnr_reserve_number": _reserve_texts,
    "pnr_date": _date_texts,
    "pnr_serial": _serial_texts,
    "pnr_checksum": _checksum_texts,
    "pnr_future_birth_date": _future_texts,
}


@st.composite
def invalid_identity_number_texts(
    draw: st.DrawFn,
    *,
    codes: Collection[str] = INVALID_CODES,
    today: dt.date | None = None,
) -> InvalidText:
    """Text that ``parse(text, today=today)`` refuses, paired with the code it is refused with.

    Each text breaks exactly one rule; *codes* picks which (any of :data:`INVALID_CODES`).
    """
    unknown = set(codes) - set(INVALID_CODES)
    if unknown or not codes:
        raise InvalidArgument(f"codes must be a non-empty subset of {INVALID_CODES}, got {sorted(codes)}")
    on = _today(today)
    code = draw(st.sampled_from(sorted(codes)))
    return InvalidText(draw(_INVALID_BUILDERS[code](on)), code)
