"""Swedish personal identity numbers (personnummer) and coordination numbers.

The canonical form is 12 digits ``YYYYMMDDNNNC``: the birth date (day + 60 for a
coordination number, whose month is ``00`` or day ``60`` when never established), a
three-digit serial and a Luhn check digit computed over the 10-digit form. Nothing in
this module ever puts the last four digits of a number into a ``repr``, an error message
or a log line.

The rules, the error codes and the deliberate differences from other validators are
documented in ``docs/identity.md``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from typing import Final

from careaccess.errors import InvalidIdentityNumber

__all__ = [
    "ERROR_CODES",
    "Gender",
    "PersonalIdentityNumber",
    "as_pnr",
    "luhn_check_digit",
    "redact",
]


class Gender(enum.StrEnum):
    """Legal gender as encoded in the identity number (odd ninth digit of the 10-digit form: male)."""

    FEMALE = "female"
    MALE = "male"


#: Every ``.code`` :meth:`PersonalIdentityNumber.parse` can raise, in the order the rules are checked.
ERROR_CODES: Final = (
    "pnr_format",
    "pnr_reserve_number",
    "pnr_date",
    "pnr_serial",
    "pnr_checksum",
    "pnr_future_birth_date",
    "pnr_coordination_refused",
)

# ASCII digits only: \d would let Arabic-Indic or full-width digits through.
_INPUT: Final = re.compile(r"\s*([0-9]{2})?([0-9]{2})([0-9]{2})([0-9]{2})([-+]?)([0-9]{3})([0-9])\s*")
# The shape of a reserve or interim number: a date, then four characters at least one of which may be a letter.
_RESERVE_SHAPE: Final = re.compile(r"\s*(?:[0-9]{2})?[0-9]{6}[-+]?([0-9A-Za-z]{4})\s*")
_CANONICAL: Final = re.compile(r"[0-9]{12}")
_CANONICAL_LENGTH: Final = 12
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

# Luhn contributions of a digit in a doubled (even index) and a plain (odd index) position.
_DOUBLED: Final = {str(d): (2 * d) // 10 + (2 * d) % 10 for d in range(10)}
_PLAIN: Final = {str(d): d for d in range(10)}
# Centuries a living person's 12-digit number can carry; the reserve-number formats use the others.
_MIN_CENTURY: Final = 18
_MAX_CENTURY: Final = 21
_COORDINATION_OFFSET: Final = 60
_MONTHS: Final = 12
_MAX_DAY: Final = 31


def luhn_check_digit(nine: str) -> int:
    """The Luhn check digit for the first nine digits of the 10-digit form (ASCII digits)."""
    total = 0
    for index, char in enumerate(nine):
        total += _DOUBLED[char] if index % 2 == 0 else _PLAIN[char]
    return (10 - total % 10) % 10


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


def _host_today() -> dt.date:
    """The host's local date: the default of ``today``/``on`` for standalone callers only.

    A service never relies on it: it passes the local date, in its configured time zone, of
    the moment being judged (DESIGN.md, "Today"). Read afresh on every call, never cached.
    """
    return dt.date.today()  # noqa: DTZ011 -- the host's local date is exactly what is meant


def _format_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_format",
        "Give the identity number as YYYYMMDD-NNNN or YYMMDD-NNNN (digits only, '-' or '+' as separator).",
        "Ange personnumret som ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN (bara siffror, '-' eller '+' som skiljetecken).",
    )


def _reserve_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_reserve_number",
        "This is a reserve or interim number, not a personal identity number; use the resident's "
        "personal identity number or coordination number.",
        "Det här är ett reservnummer eller interimsnummer, inte ett personnummer; ange invånarens "
        "personnummer eller samordningsnummer.",
    )


def _date_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_date",
        "The birth date in the number is not a real date; check the year, month and day "
        "(a coordination number has 60 added to the day).",
        "Födelsedatumet i numret är inte ett giltigt datum; kontrollera år, månad och dag "
        "(i ett samordningsnummer är dagen ökad med 60).",
    )


def _serial_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_serial",
        "The birth serial (the three digits after the date) cannot be 000; check the number.",
        "Födelsenumret (de tre siffrorna efter datumet) kan inte vara 000; kontrollera numret.",
    )


def _checksum_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_checksum",
        "The check digit (the last digit) does not match; check the number for typing errors.",
        "Kontrollsiffran (den sista siffran) stämmer inte; kontrollera numret efter skrivfel.",
    )


def _future_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_future_birth_date",
        "The birth date in the number lies in the future; check the year and century.",
        "Födelsedatumet i numret ligger i framtiden; kontrollera år och århundrade.",
    )


def _plus_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_format",
        "'+' is only for people who turn 100 this year or earlier; use '-' or no separator.",
        "'+' används bara för den som fyller 100 i år eller tidigare; använd '-' eller inget skiljetecken.",
    )


def _coordination_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_coordination_refused",
        "Coordination numbers are not accepted here; use the resident's personal identity number.",
        "Samordningsnummer godtas inte här; ange invånarens personnummer.",
    )


def _not_text_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_format",
        "An identity number must be given as text.",
        "Personnumret måste anges som text.",
    )


def _shape_error(text: str) -> InvalidIdentityNumber:
    """The error for text that is not shaped like an identity number at all."""
    reserve = _RESERVE_SHAPE.fullmatch(text)
    if reserve is not None and not reserve.group(1).isdigit():
        return _reserve_error()
    return _format_error()


class PersonalIdentityNumber:
    """A validated Swedish personal identity number or coordination number.

    Instances are immutable, hashable and ordered by their canonical digits, so they
    work as dict keys and in sets. Build them with :meth:`parse` (user input) or
    :meth:`from_digits` (trusted storage).
    """

    __slots__ = ("_birth_date", "_digits")

    _digits: str
    _birth_date: dt.date | None

    def __init__(self, text: str) -> None:
        """Same as ``PersonalIdentityNumber.parse(text)``: judged against the host's local date."""
        parsed = type(self).parse(text)
        _set_digits(self, parsed._digits)
        _set_birth_date(self, parsed._birth_date)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("PersonalIdentityNumber is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("PersonalIdentityNumber is immutable")

    @classmethod
    def parse(
        cls,
        text: str | PersonalIdentityNumber,
        *,
        today: dt.date | None = None,
        allow_coordination: bool = True,
    ) -> PersonalIdentityNumber:
        """Parse a 10- or 12-digit number, with or without ``-``/``+``.

        Accepted: ``YYMMDD-NNNC``, ``YYMMDD+NNNC``, ``YYMMDDNNNC``, ``YYYYMMDD-NNNC``,
        ``YYYYMMDDNNNC`` and ``YYYYMMDD+NNNC`` (the last only for someone who turns 100
        this year or earlier), with surrounding whitespace. A 10-digit number belongs to the
        most recent century that does not put the birth date after *today*; ``+`` moves it
        to the most recent century in which the person turns 100 by this calendar year.
        A coordination number whose birth month (``00``) or day (``60``) was never
        established is accepted with ``birth_date`` None; the earliest date its digits
        allow is what is compared with *today*.

        :param text: the number as typed (surrounding whitespace is ignored), or an already
            parsed number, which is returned as it is.
        :param today: the date century inference, the ``+`` rule and the future-birth check
            are judged against: a service passes the local date, in its configured zone, of
            the moment being judged. None means the host's local date, read on this call (a
            convenience for standalone callers; nothing else here reads the host's clock).
        :param allow_coordination: refuse coordination numbers (samordningsnummer) when false.
        :raises InvalidIdentityNumber: with ``.code`` naming the first rule that failed, in the
            order of :data:`ERROR_CODES`; the message never contains the input.
        """
        if type(text) is str and len(text) == _CANONICAL_LENGTH and text.isdigit() and text.isascii():
            return _parse_canonical(cls, text, today, allow_coordination=allow_coordination)
        match = _INPUT.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            return _parse_other(text, allow_coordination=allow_coordination)
        century, yy, mm, dd, separator, serial, check = match.groups()
        month = int(mm)
        day = int(dd)
        if century is None:
            if today is None:
                today = _host_today()
            # '+': the most recent year in which the person turns 100 by today's year; otherwise
            # the most recent year that does not put the (earliest) birth date after today.
            base = today.year - 100 if separator == "+" else today.year
            year = base - (base - int(yy)) % 100
            birth, earliest = _birth(year, month, day)
            if separator != "+" and earliest > today:
                year -= 100
                birth = _birth(year, month, day)[0]
            _check_serial_and_luhn(yy, mm, dd, serial, check)
        else:
            hundreds = int(century)
            if not _MIN_CENTURY <= hundreds <= _MAX_CENTURY:
                raise _reserve_error()
            year = hundreds * 100 + int(yy)
            birth, earliest = _birth(year, month, day)
            _check_serial_and_luhn(yy, mm, dd, serial, check)
            if today is None:
                today = _host_today()
            if earliest > today:
                raise _future_error()
            if separator == "+" and today.year - year < 100:
                raise _plus_error()
        if day >= _COORDINATION_OFFSET and not allow_coordination:
            raise _coordination_error()
        self = object.__new__(cls)
        _set_digits(self, f"{year}{mm}{dd}{serial}{check}")
        _set_birth_date(self, birth)
        return self

    @classmethod
    def from_digits(cls, digits: str) -> PersonalIdentityNumber:
        """Rebuild a number read back from storage: exactly the 12 canonical digits.

        Checks the century, date, serial and check digit, but never against today's date,
        so a stored number stays readable whatever the clock says.

        :raises InvalidIdentityNumber: when *digits* is not a canonical number.
        """
        if type(digits) is not str or _CANONICAL.fullmatch(digits) is None:
            raise _format_error()
        return _from_canonical(cls, digits)[0]

    @property
    def digits(self) -> str:
        """The 12 canonical digits (coordination day kept), as stored and serialized."""
        return self._digits

    @property
    def birth_date(self) -> dt.date | None:
        """The birth date (for a coordination number, with 60 taken off the day).

        None for a coordination number whose birth month (``00``) or day (``60``) was never
        established: see :attr:`birth_year`.
        """
        return self._birth_date

    @property
    def birth_year(self) -> int:
        """The year of birth, known for every number (also when :attr:`birth_date` is None)."""
        return int(self._digits[:4])

    @property
    def gender(self) -> Gender:
        """MALE when the ninth digit of the 10-digit form is odd, else FEMALE."""
        return Gender.MALE if self._digits[10] in "13579" else Gender.FEMALE

    @property
    def is_coordination_number(self) -> bool:
        """True for a samordningsnummer (day of birth + 60; day 60 when the day is unknown)."""
        return self._digits[6] in "6789"

    def age(self, on: dt.date | None = None) -> int | None:
        """Age in whole years on the date *on* (None: the host's local date; a service passes its own).

        A person born on 29 February has their birthday on 1 March in non-leap years.
        Before the birth date the result is negative. None when :attr:`birth_date` is None
        (a coordination number whose birth month or day was never established).
        """
        born = self._birth_date
        if born is None:
            return None
        if on is None:
            on = _host_today()
        years = on.year - born.year
        if (on.month, on.day) < (born.month, born.day):
            years -= 1
        return years

    def short(self, today: dt.date | None = None) -> str:
        """The 10-digit form ``YYMMDD-NNNC``; ``+`` from the calendar year the person turns 100.

        ``parse(p.short(today=d), today=d) == p`` for every *d* from the birth date until the
        year the person turns 199. *today* None means the host's local date; a service passes its own.
        """
        if today is None:
            today = _host_today()
        separator = "+" if today.year - int(self._digits[:4]) >= 100 else "-"
        return f"{self._digits[2:8]}{separator}{self._digits[8:]}"

    def masked(self) -> str:
        """``YYYYMMDD-****``: safe for logs and error messages."""
        return f"{self._digits[:8]}-****"

    def __str__(self) -> str:
        """``YYYYMMDD-NNNC``, for display in an admin UI."""
        return f"{self._digits[:8]}-{self._digits[8:]}"

    def __repr__(self) -> str:
        return f"PersonalIdentityNumber({self.masked()!r})"

    def __hash__(self) -> int:
        return hash(self._digits)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PersonalIdentityNumber):
            return self._digits == other._digits
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        if isinstance(other, PersonalIdentityNumber):
            return self._digits < other._digits
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, PersonalIdentityNumber):
            return self._digits <= other._digits
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, PersonalIdentityNumber):
            return self._digits > other._digits
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, PersonalIdentityNumber):
            return self._digits >= other._digits
        return NotImplemented

    def __reduce__(self) -> tuple[object, ...]:
        return (PersonalIdentityNumber.from_digits, (self._digits,))

    def __copy__(self) -> PersonalIdentityNumber:
        return self

    def __deepcopy__(self, memo: object) -> PersonalIdentityNumber:
        return self


# Slot descriptors write past the __setattr__ that makes instances immutable, faster than object.__setattr__.
_set_digits: Final = PersonalIdentityNumber.__dict__["_digits"].__set__
_set_birth_date: Final = PersonalIdentityNumber.__dict__["_birth_date"].__set__


def _parse_other(value: object, *, allow_coordination: bool) -> PersonalIdentityNumber:
    """``parse`` for anything but a well-shaped string: an already parsed number, or an error."""
    if isinstance(value, PersonalIdentityNumber):
        if not allow_coordination and value.is_coordination_number:
            raise _coordination_error()
        return value
    if isinstance(value, str):
        raise _shape_error(value)
    raise _not_text_error()


def _parse_canonical(
    cls: type[PersonalIdentityNumber], digits: str, today: dt.date | None, *, allow_coordination: bool
) -> PersonalIdentityNumber:
    """``parse`` of the canonical 12 ASCII digits, as stored and serialized: no pattern match needed."""
    self, earliest = _from_canonical(cls, digits)
    if earliest > (today if today is not None else _host_today()):
        raise _future_error()
    if not allow_coordination and digits[6] in "6789":
        raise _coordination_error()
    return self


def _from_canonical(cls: type[PersonalIdentityNumber], digits: str) -> tuple[PersonalIdentityNumber, dt.date]:
    """The number of 12 ASCII *digits*, checked except against today, and its earliest birth date."""
    hundreds = int(digits[:2])
    if not _MIN_CENTURY <= hundreds <= _MAX_CENTURY:
        raise _reserve_error()
    yy, mm, dd = digits[2:4], digits[4:6], digits[6:8]
    birth, earliest = _birth(hundreds * 100 + int(yy), int(mm), int(dd))
    _check_serial_and_luhn(yy, mm, dd, digits[8:11], digits[11])
    self = object.__new__(cls)
    _set_digits(self, digits)
    _set_birth_date(self, birth)
    return self, earliest


def _birth(year: int, month: int, day: int) -> tuple[dt.date | None, dt.date]:
    """The birth date the date digits stand for, and the earliest date they can stand for.

    *day* is the day as written (coordination days 60-91). The birth date is None for a
    coordination number whose month (``00``) or day (``60``) was never established
    (Skatteverket, Navet: month 00-12, day 60-91); the earliest date then takes the first
    month and day the digits allow and is what the future check and the century guess use.

    :raises InvalidIdentityNumber: ``pnr_date`` when no real date fits the digits.
    """
    if day >= _COORDINATION_OFFSET:
        day -= _COORDINATION_OFFSET
        if (month == 0 or day == 0) and month <= _MONTHS and day <= _MAX_DAY:
            return None, dt.date(year, month or 1, day or 1)
    try:
        known = dt.date(year, month, day)
    except ValueError:
        raise _date_error() from None
    return known, known


def _check_serial_and_luhn(yy: str, mm: str, dd: str, serial: str, check: str) -> None:
    if serial == "000":
        raise _serial_error()
    # Unrolled: this runs on every decision, and a loop costs several times more.
    total = (
        _DOUBLED[yy[0]]
        + _PLAIN[yy[1]]
        + _DOUBLED[mm[0]]
        + _PLAIN[mm[1]]
        + _DOUBLED[dd[0]]
        + _PLAIN[dd[1]]
        + _DOUBLED[serial[0]]
        + _PLAIN[serial[1]]
        + _DOUBLED[serial[2]]
        + _PLAIN[check]
    )
    if total % 10:
        raise _checksum_error()


def as_pnr(value: str | PersonalIdentityNumber, *, today: dt.date | None = None) -> PersonalIdentityNumber:
    """Accept a number as text or as a parsed value (what every ``pnr`` argument takes).

    :raises InvalidIdentityNumber: for text that :meth:`PersonalIdentityNumber.parse` refuses.
    """
    if type(value) is PersonalIdentityNumber:
        return value
    return PersonalIdentityNumber.parse(value, today=today)
