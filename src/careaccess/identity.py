"""Swedish personal identity numbers (personnummer) and coordination numbers.

The canonical form is 12 digits ``YYYYMMDDNNNC``: the birth date (day + 60 for a
coordination number), a three-digit serial and a Luhn check digit computed over the
10-digit form. Nothing in this module ever puts the last four digits of a number into a
``repr``, an error message or a log line.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Final

from careaccess.errors import InvalidIdentityNumber

__all__ = ["Gender", "PersonalIdentityNumber", "luhn_check_digit", "redact"]


class Gender(enum.StrEnum):
    """Legal gender as encoded in the identity number (odd ninth digit: male)."""

    FEMALE = "female"
    MALE = "male"


_INPUT: Final = re.compile(r"(\d{2})?(\d{6})([-+])?(\d{4})")
_LETTERS: Final = re.compile(r"[A-Za-z]")
# Any run that looks like a 10- or 12-digit identity number inside free text.
_IN_TEXT: Final = re.compile(r"(?<!\d)((?:\d{2})?\d{6}[-+]?)\d{4}(?!\d)")


def luhn_check_digit(nine: str) -> int:
    """The Luhn check digit for the first nine digits of the 10-digit form."""
    total = 0
    for index, char in enumerate(nine):
        product = (ord(char) - 48) * (2 - index % 2)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def redact(text: str) -> str:
    """Mask the last four digits of anything in *text* that looks like an identity number."""
    return _IN_TEXT.sub(lambda m: m.group(1) + "****", text)


def _local_today() -> dt.date:
    return dt.date.today()


def _error(code: str, en: str, sv: str) -> InvalidIdentityNumber:
    return InvalidIdentityNumber(code, en, sv)


class PersonalIdentityNumber:
    """A validated Swedish personal identity number or coordination number.

    Instances are immutable, hashable and ordered by their canonical digits, so they
    work as dict keys and in sets. Build them with :meth:`parse`.
    """

    __slots__ = ("_birth_date", "_digits", "_gender")

    _digits: str
    _birth_date: dt.date
    _gender: Gender

    def __init__(self, digits: str) -> None:
        """Build from the 12 canonical digits; prefer :meth:`parse` for user input."""
        parsed = type(self).parse(digits)
        self._set(parsed._digits, parsed._birth_date, parsed._gender)

    def _set(self, digits: str, birth_date: dt.date, gender: Gender) -> None:
        object.__setattr__(self, "_digits", digits)
        object.__setattr__(self, "_birth_date", birth_date)
        object.__setattr__(self, "_gender", gender)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("PersonalIdentityNumber is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("PersonalIdentityNumber is immutable")

    @classmethod
    def _new(cls, digits: str, birth_date: dt.date, gender: Gender) -> PersonalIdentityNumber:
        self = object.__new__(cls)
        self._set(digits, birth_date, gender)
        return self

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        today: dt.date | None = None,
        allow_coordination: bool = True,
    ) -> PersonalIdentityNumber:
        """Parse a 10- or 12-digit number, with or without ``-``/``+``.

        :param text: the number as typed; surrounding whitespace is ignored.
        :param today: the date century inference and the future-birth check are judged
            against; defaults to the local date.
        :param allow_coordination: refuse coordination numbers (samordningsnummer) when false.
        :raises InvalidIdentityNumber: with a code naming the rule that failed.
        """
        if isinstance(text, cls):
            return text
        if not isinstance(text, str):
            raise _error(
                "pnr_format",
                "An identity number must be given as text.",
                "Personnumret måste anges som text.",
            )
        match = _INPUT.fullmatch(text.strip())
        if match is None:
            stripped = text.strip()
            if _LETTERS.search(stripped) and sum(c.isdigit() for c in stripped) >= 6:
                raise _error(
                    "pnr_reserve_number",
                    "Reserve and interim numbers are not accepted; use the resident's "
                    "personal identity number or coordination number.",
                    "Reservnummer och interimsnummer godtas inte; ange invånarens "
                    "personnummer eller samordningsnummer.",
                )
            raise _error(
                "pnr_format",
                "Give the identity number as YYYYMMDD-NNNN or YYMMDD-NNNN.",
                "Ange personnumret som ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN.",
            )
        century, rest, separator, tail = match.groups()
        if today is None:
            today = _local_today()
        if century is not None and century not in ("18", "19", "20"):
            raise _error(
                "pnr_reserve_number",
                "The century is not one a personal identity number can have; reserve "
                "numbers are not accepted.",
                "Århundradet kan inte förekomma i ett personnummer; reservnummer godtas inte.",
            )
        yy, month, day = int(rest[:2]), int(rest[2:4]), int(rest[4:6])
        ten = rest + tail
        if int(tail[:3]) == 0:
            raise _error(
                "pnr_serial",
                "The birth serial (the three digits after the date) cannot be 000.",
                "Födelsenumret (de tre siffrorna efter datumet) kan inte vara 000.",
            )
        if luhn_check_digit(ten[:9]) != ord(ten[9]) - 48:
            raise _error(
                "pnr_checksum",
                "The check digit does not match; check the number for typing errors.",
                "Kontrollsiffran stämmer inte; kontrollera numret efter skrivfel.",
            )
        coordination = day > 60
        if coordination and not allow_coordination:
            raise _error(
                "pnr_coordination_refused",
                "Coordination numbers are not accepted here.",
                "Samordningsnummer godtas inte här.",
            )
        real_day = day - 60 if coordination else day
        if century is not None:
            year = int(century) * 100 + yy
            birth = _date_or_none(year, month, real_day)
        else:
            limit = today.year - 100 if separator == "+" else today.year
            year = limit - (limit - yy) % 100
            birth = _date_or_none(year, month, real_day)
            if birth is not None and separator != "+" and birth > today:
                year -= 100
                birth = _date_or_none(year, month, real_day)
        if birth is None:
            raise _error(
                "pnr_date",
                "The birth date in the number is not a real date.",
                "Födelsedatumet i numret är inte ett giltigt datum.",
            )
        if birth > today:
            raise _error(
                "pnr_future_birth_date",
                "The birth date in the number lies in the future.",
                "Födelsedatumet i numret ligger i framtiden.",
            )
        gender = Gender.MALE if (ord(ten[8]) - 48) % 2 else Gender.FEMALE
        return cls._new(f"{year // 100:02d}{ten}", birth, gender)

    @classmethod
    def from_digits(cls, digits: str) -> PersonalIdentityNumber:
        """Rebuild a number read back from storage (12 canonical digits).

        Validates format, date and check digit, but not against today's date, so a
        stored number never becomes unreadable.
        """
        return cls.parse(digits, today=dt.date.max)

    @property
    def digits(self) -> str:
        """The 12 canonical digits, as stored and serialized."""
        return self._digits

    @property
    def birth_date(self) -> dt.date:
        """The birth date (for a coordination number, with 60 taken off the day)."""
        return self._birth_date

    @property
    def gender(self) -> Gender:
        return self._gender

    @property
    def is_coordination_number(self) -> bool:
        """True for a samordningsnummer (day of birth + 60)."""
        return self._digits[6] in "6789"

    def age(self, on: dt.date | None = None) -> int:
        """Age in whole years on the date *on* (default: the local date).

        A person born on 29 February has their birthday on 1 March in non-leap years.
        """
        on = on or _local_today()
        born = self._birth_date
        years = on.year - born.year
        if (on.month, on.day) < (born.month, born.day):
            years -= 1
        return years

    def short(self, today: dt.date | None = None) -> str:
        """The 10-digit form ``YYMMDD-NNNN``; ``+`` from the calendar year the person turns 100."""
        today = today or _local_today()
        separator = "+" if today.year - self._birth_date.year >= 100 else "-"
        return f"{self._digits[2:8]}{separator}{self._digits[8:]}"

    def masked(self) -> str:
        """``YYYYMMDD-****``: safe for logs and error messages."""
        return f"{self._digits[:8]}-****"

    def __str__(self) -> str:
        return f"{self._digits[:8]}-{self._digits[8:]}"

    def __repr__(self) -> str:
        return f"PersonalIdentityNumber({self.masked()!r})"

    def __hash__(self) -> int:
        return hash(self._digits)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PersonalIdentityNumber):
            return self._digits == other._digits
        return NotImplemented

    def __lt__(self, other: PersonalIdentityNumber) -> bool:
        return self._digits < other._digits

    def __le__(self, other: PersonalIdentityNumber) -> bool:
        return self._digits <= other._digits

    def __gt__(self, other: PersonalIdentityNumber) -> bool:
        return self._digits > other._digits

    def __ge__(self, other: PersonalIdentityNumber) -> bool:
        return self._digits >= other._digits

    def __reduce__(self) -> tuple[object, ...]:
        return (PersonalIdentityNumber.from_digits, (self._digits,))

    def __copy__(self) -> PersonalIdentityNumber:
        return self

    def __deepcopy__(self, memo: object) -> PersonalIdentityNumber:
        return self


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def as_pnr(value: str | PersonalIdentityNumber, *, today: dt.date | None = None) -> PersonalIdentityNumber:
    """Accept a number as text or as a parsed value (what every ``pnr`` argument takes)."""
    if type(value) is PersonalIdentityNumber:
        return value
    return PersonalIdentityNumber.parse(value, today=today)  # type: ignore[arg-type]
