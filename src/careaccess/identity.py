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
from typing import Final

from careaccess.errors import InvalidIdentityNumber
from careaccess.identity_errors import (
    checksum_error,
    coordination_error,
    date_error,
    format_error,
    future_error,
    not_text_error,
    plus_error,
    reserve_error,
    serial_error,
)
from careaccess.redaction import redact

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
_SHORT_LENGTH: Final = 10
_CENTURY: Final = ("19", "20")

# Luhn contributions of a digit in a doubled (even index) and a plain (odd index) position.
_DOUBLED: Final = {str(d): (2 * d) // 10 + (2 * d) % 10 for d in range(10)}
_PLAIN: Final = {str(d): d for d in range(10)}
# The Luhn contribution of a pair of digits (doubled, plain): five lookups check a 10-digit form.
_PAIRS: Final = {f"{a}{b}": _DOUBLED[str(a)] + b for a in range(10) for b in range(10)}
# The last day of each month as two digits; 29 February is left to the full path (a leap year?).
_LAST_DAY: Final = {
    f"{m:02d}": f"{(dt.date(2001, m % 12 + 1, 1) - dt.timedelta(days=1)).day:02d}" for m in range(1, 13)
}
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


def _host_today() -> dt.date:
    """The host's local date: the default of ``today``/``on`` for standalone callers only.

    A service never relies on it: it passes the local date, in its configured time zone, of
    the moment being judged (DESIGN.md, "Today"). Read afresh on every call, never cached.
    """
    return dt.date.today()  # noqa: DTZ011 -- the host's local date is exactly what is meant


def _shape_error(text: str) -> InvalidIdentityNumber:
    """The error for text that is not shaped like an identity number at all."""
    reserve = _RESERVE_SHAPE.fullmatch(text)
    if reserve is not None and not reserve.group(1).isdigit():
        return reserve_error()
    return format_error()


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
        _set_birth_date(self, parsed.birth_date)

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
        if type(text) is str and text.isascii() and (common := _parse_common(cls, text, today)) is not None:
            return common
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
                raise reserve_error()
            year = hundreds * 100 + int(yy)
            birth, earliest = _birth(year, month, day)
            _check_serial_and_luhn(yy, mm, dd, serial, check)
            if today is None:
                today = _host_today()
            if earliest > today:
                raise future_error()
            if separator == "+" and today.year - year < 100:
                raise plus_error()
        if day >= _COORDINATION_OFFSET and not allow_coordination:
            raise coordination_error()
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
            raise format_error()
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
        try:
            return self._birth_date
        except AttributeError:  # the common forms' parse leaves it to the first read
            digits = self._digits
            born = _birth(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))[0]
            _set_birth_date(self, born)
            return born

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
        born = self.birth_date
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
            raise coordination_error()
        return value
    if isinstance(value, str):
        raise _shape_error(value)
    raise not_text_error()


def _parse_common(cls: type[PersonalIdentityNumber], text: str, today: dt.date | None) -> PersonalIdentityNumber | None:
    """``parse`` of the forms callers send most, or None to leave *text* to the full path.

    Takes ``YYYYMMDDNNNC``, ``YYYYMMDD-NNNC``, ``YYMMDDNNNC`` and ``YYMMDD-NNNC`` (ASCII,
    nothing around them) of someone born in 1900-2099 before *today*'s year, on a day that
    every year has (not 29 February), with a serial other than 000 and the right check digit:
    numbers the full path accepts as they are. Anything else (coordination numbers, ``+``,
    leap days, births this year, every error) takes the full path, which owns every rule.
    """
    size = len(text)
    if size == _CANONICAL_LENGTH or (size == _CANONICAL_LENGTH + 1 and text[8] == "-"):
        digits = text if size == _CANONICAL_LENGTH else text[:8] + text[9:]
        if not digits.isdigit() or digits[:2] not in ("19", "20"):
            return None
        year = int(digits[:4])
        ten = digits[2:]
    elif size == _SHORT_LENGTH or (size == _SHORT_LENGTH + 1 and text[6] == "-"):
        ten = text if size == _SHORT_LENGTH else text[:6] + text[7:]
        if not ten.isdigit():
            return None
        if today is None:
            today = _host_today()
        base = today.year
        year = base - (base - int(ten[:2])) % 100  # the most recent such year; born before this one below
        if not 1900 <= year < 2100:
            return None
        digits = _CENTURY[year >= 2000] + ten
    else:
        return None
    mm, dd = ten[2:4], ten[4:6]
    if not "01" <= dd <= _LAST_DAY.get(mm, "00") or ten[6:9] == "000":
        return None
    if (_PAIRS[ten[:2]] + _PAIRS[mm] + _PAIRS[dd] + _PAIRS[ten[6:8]] + _PAIRS[ten[8:]]) % 10:
        return None
    if year >= (today or _host_today()).year:
        return None
    self = object.__new__(cls)
    _set_digits(self, digits)
    return self


def _parse_canonical(
    cls: type[PersonalIdentityNumber], digits: str, today: dt.date | None, *, allow_coordination: bool
) -> PersonalIdentityNumber:
    """``parse`` of the canonical 12 ASCII digits, as stored and serialized: no pattern match needed."""
    self, earliest = _from_canonical(cls, digits)
    if earliest > (today if today is not None else _host_today()):
        raise future_error()
    if not allow_coordination and digits[6] in "6789":
        raise coordination_error()
    return self


def _from_canonical(cls: type[PersonalIdentityNumber], digits: str) -> tuple[PersonalIdentityNumber, dt.date]:
    """The number of 12 ASCII *digits*, checked except against today, and its earliest birth date."""
    hundreds = int(digits[:2])
    if not _MIN_CENTURY <= hundreds <= _MAX_CENTURY:
        raise reserve_error()
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
        raise date_error() from None
    return known, known


def _check_serial_and_luhn(yy: str, mm: str, dd: str, serial: str, check: str) -> None:
    if serial == "000":
        raise serial_error()
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
        raise checksum_error()


def as_pnr(value: str | PersonalIdentityNumber, *, today: dt.date | None = None) -> PersonalIdentityNumber:
    """Accept a number as text or as a parsed value (what every ``pnr`` argument takes).

    :raises InvalidIdentityNumber: for text that :meth:`PersonalIdentityNumber.parse` refuses.
    """
    if type(value) is PersonalIdentityNumber:
        return value
    return PersonalIdentityNumber.parse(value, today=today)
