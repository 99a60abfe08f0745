"""Hypothesis strategies for careaccess values.

Every strategy is sound: a strategy for valid values never produces an invalid one, and
:func:`invalid_identity_number_texts` only produces text that
:meth:`~careaccess.identity.PersonalIdentityNumber.parse` refuses with exactly the code it
names. Bounds are keyword-only. ``st.from_type`` works for every public model type
(identity numbers, residences, area rules, service areas, clinics, case types, actors,
residents, approvals and grants) once hypothesis has loaded this module's entry point.

Records that carry times (approvals, grants) are exactly what the public API would have
written at those times, with dates judged in Europe/Stockholm (the library's default zone):
:meth:`World.load` writes a drawn :class:`World` through the API and gets the same records back.

Sections: identity numbers, their text renderings, invalid identity numbers, regions and
service areas, clinics and case types, actors and residents, approvals and grants, decision
requests, worlds, registration.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection
from typing import Final, Literal, NamedTuple

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from careaccess import regions
from careaccess.identity import Gender, PersonalIdentityNumber, luhn_check_digit
from careaccess.models import Actor, Approval, AreaRule, CaseType, Clinic, Grant, Residence, Resident, ServiceArea
from careaccess.names import normalize
from careaccess.testing.world import WORLD_TIMEZONE, GrantState, World

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
    "grants",
    "identifiers",
    "identity_number_texts",
    "identity_numbers",
    "invalid_identity_number_texts",
    "municipality_codes",
    "renderings",
    "residences",
    "residents",
    "service_areas",
    "worlds",
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


def _canonical(birth: dt.date, serial: int, *, coordination: bool) -> str:
    day = birth.day + 60 if coordination else birth.day
    nine = f"{birth.year % 100:02d}{birth.month:02d}{day:02d}{serial:03d}"
    return f"{birth.year // 100:02d}{nine}{luhn_check_digit(nine)}"


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
) -> PersonalIdentityNumber:
    """Valid identity numbers born between *min_birth_date* and *max_birth_date* (inclusive).

    :param max_birth_date: defaults to the local date when drawn, so the numbers parse today.
    :param gender: only this gender; None for both.
    :param coordination: True for coordination numbers only, False for none, None for both.
    """
    upper = _today(max_birth_date)
    if not MIN_BIRTH_DATE <= min_birth_date <= upper <= MAX_BIRTH_DATE:
        raise InvalidArgument(
            f"need {MIN_BIRTH_DATE} <= min_birth_date={min_birth_date} <= max_birth_date={upper} <= {MAX_BIRTH_DATE}"
        )
    birth = draw(st.dates(min_birth_date, upper))
    serial = draw(_serials(gender))
    is_coordination = draw(st.booleans()) if coordination is None else coordination
    return PersonalIdentityNumber.from_digits(_canonical(birth, serial, coordination=is_coordination))


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
    if pnr.birth_date > on:
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
        month, day = draw(st.integers(1, 12)), draw(st.sampled_from([0, *range(32, 61), *range(92, 100)]))
    elif kind == "leap":
        month, day = 2, 29
    else:
        month, day = draw(st.sampled_from([(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)]))
    if kind != "day" and draw(st.booleans()):
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


# ---------------------------------------------------------------------------
# Regions and service areas
# ---------------------------------------------------------------------------


def county_codes() -> st.SearchStrategy[str]:
    """The 21 county codes."""
    return st.sampled_from(sorted(regions.counties()))


def municipality_codes(*, county: str | None = None) -> st.SearchStrategy[str]:
    """The 290 municipality codes, or those of one *county*."""
    if county is None:
        return st.sampled_from(sorted(regions.municipalities()))
    members = regions.municipalities_of(county)
    if not members:
        raise InvalidArgument(f"unknown county code {county!r}")
    return st.sampled_from([m.code for m in members])


@st.composite
def residences(
    draw: st.DrawFn,
    *,
    county: str | None = None,
    with_municipality: bool | None = None,
) -> Residence:
    """Residences in *county* (default: any), with a municipality of that county when
    *with_municipality* (None: sometimes)."""
    region = county if county is not None else draw(county_codes())
    place = draw(st.booleans()) if with_municipality is None else with_municipality
    return Residence(region=region, municipality=draw(municipality_codes(county=region)) if place else None)


@st.composite
def area_rules(
    draw: st.DrawFn,
    *,
    region: str | Literal["any"] | None = "any",
    municipality: bool | None = None,
    gender: Gender | Literal["any"] | None = "any",
    ages: bool | None = None,
    max_age: int = 150,
) -> AreaRule:
    """Service-area rules.

    :param region: this county code, None for the whole country, or ``"any"`` to draw either.
    :param municipality: True to always restrict to a municipality of the rule's county (needs
        a region), False never, None sometimes.
    :param gender: this gender, None for both, or ``"any"`` to draw either.
    :param ages: True to always set an age range, False never, None sometimes.
    :param max_age: the highest age bound drawn (at most 150).
    """
    if not 0 <= max_age <= 150:
        raise InvalidArgument(f"max_age={max_age} must be between 0 and 150")
    county = draw(st.none() | county_codes()) if region == "any" else region
    if municipality and county is None:
        raise InvalidArgument("a municipality needs a region")
    place = county is not None and (draw(st.booleans()) if municipality is None else municipality)
    chosen_gender = draw(st.none() | st.sampled_from(Gender)) if gender == "any" else gender
    min_age: int | None = None
    high_age: int | None = None
    if draw(st.booleans()) if ages is None else ages:
        bounds = st.none() | st.integers(0, max_age)
        min_age, high_age = draw(bounds), draw(bounds)
        if min_age is not None and high_age is not None and min_age > high_age:
            min_age, high_age = high_age, min_age
    return AreaRule(
        region=county,
        municipality=draw(municipality_codes(county=county)) if place and county is not None else None,
        gender=chosen_gender,
        min_age=min_age,
        max_age=high_age,
    )


# ---------------------------------------------------------------------------
# Service areas, clinics and case types
# ---------------------------------------------------------------------------

_ID_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz0123456789-"
_NAME_CHARACTERS: Final = st.characters(codec="utf-8", categories=["L", "M", "N", "Pd", "Po", "Zs"])


def identifiers(*, max_size: int = 24) -> st.SearchStrategy[str]:
    """Ids for clinics, case types and actors: lowercase ASCII letters, digits and ``-``."""
    if not 1 <= max_size <= 200:
        raise InvalidArgument(f"max_size={max_size} must be between 1 and 200")
    return st.text(_ID_ALPHABET, min_size=1, max_size=max_size)


def display_names(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """Names of clinics, case types and residents: any letters, including Swedish ones,
    digits, punctuation and inner spaces, never blank; in NFC, as the core stores names."""
    if max_size < 1:
        raise InvalidArgument(f"max_size={max_size} must be at least 1")
    text = st.text(_NAME_CHARACTERS, min_size=1, max_size=max_size)
    return text.map(lambda name: normalize(name).strip()).filter(lambda name: 0 < len(name) <= max_size)


@st.composite
def service_areas(draw: st.DrawFn, *, max_rules: int = 3) -> ServiceArea:
    """Service areas with up to *max_rules* rules (none: the clinic exposes itself to nobody)."""
    if max_rules < 0:
        raise InvalidArgument(f"max_rules={max_rules} must not be negative")
    return ServiceArea(draw(st.lists(area_rules(), max_size=max_rules)))


@st.composite
def clinics(
    draw: st.DrawFn,
    *,
    ids: st.SearchStrategy[str] | None = None,
    service_area: st.SearchStrategy[ServiceArea] | None = None,
) -> Clinic:
    """Clinics with ids from *ids* (default :func:`identifiers`) and a service area from
    *service_area* (default :func:`service_areas`)."""
    return Clinic(
        draw(identifiers() if ids is None else ids),
        draw(display_names()),
        draw(service_areas() if service_area is None else service_area),
    )


@st.composite
def case_types(
    draw: st.DrawFn,
    *,
    clinic_id: str | None = None,
    ids: st.SearchStrategy[str] | None = None,
    restricted: bool | None = None,
) -> CaseType:
    """Case types of *clinic_id* (default: drawn), restricted or open (*restricted* None: either)."""
    return CaseType(
        draw(identifiers()) if clinic_id is None else clinic_id,
        draw(identifiers() if ids is None else ids),
        draw(display_names()),
        draw(st.booleans()) if restricted is None else restricted,
    )


# ---------------------------------------------------------------------------
# Actors and residents
# ---------------------------------------------------------------------------


@st.composite
def actors(
    draw: st.DrawFn,
    *,
    clinics: Collection[str] | None = None,
    ids: st.SearchStrategy[str] | None = None,
) -> Actor:
    """Actors administering exactly *clinics* (default: up to three drawn clinic ids)."""
    administered = draw(st.frozensets(identifiers(), max_size=3)) if clinics is None else frozenset(clinics)
    return Actor(draw(identifiers() if ids is None else ids), administered)


@st.composite
def residents(
    draw: st.DrawFn,
    *,
    today: dt.date | None = None,
    named: bool | None = None,
    known_residence: bool | None = None,
) -> Resident:
    """Residents born on or before *today* (default: the local date).

    :param named: True for always a name, False never, None sometimes.
    :param known_residence: True for always a residence, False never, None sometimes.
    """
    pnr = draw(identity_numbers(max_birth_date=_today(today)))
    has_name = draw(st.booleans()) if named is None else named
    has_residence = draw(st.booleans()) if known_residence is None else known_residence
    return Resident(
        pnr,
        draw(display_names()) if has_name else None,
        draw(residences()) if has_residence else None,
    )


# ---------------------------------------------------------------------------
# Approvals and grants
# ---------------------------------------------------------------------------

#: How far before *today* drawn approvals and grants may have been made.
HISTORY: Final = dt.timedelta(days=5 * 365)
#: The span of *today* that approvals, grants and worlds accept.
MIN_TODAY: Final = dt.date(1910, 1, 1)
MAX_TODAY: Final = dt.date(2190, 1, 1)

GRANT_STATES: Final[tuple[GrantState, ...]] = ("past", "current", "open_ended")


def _record_today(today: dt.date | None) -> dt.date:
    on = _today(today)
    if not MIN_TODAY <= on <= MAX_TODAY:
        raise InvalidArgument(f"today={on} must lie between {MIN_TODAY} and {MAX_TODAY}")
    return on


def _first_day(pnr: PersonalIdentityNumber, today: dt.date) -> dt.date:
    """The earliest day a record of *pnr* may carry: within :data:`HISTORY`, not before birth."""
    first = max(today - HISTORY, pnr.birth_date)
    if first >= today:
        raise InvalidArgument(f"{pnr!r} is not born before {today}")
    return first


@st.composite
def _instants(draw: st.DrawFn, first: dt.date, last: dt.date) -> dt.datetime:
    """Aware UTC instants whose date in :data:`WORLD_TIMEZONE` lies in ``[first, last]``."""
    day = draw(st.dates(first, last))
    offset = dt.timedelta(microseconds=draw(st.integers(0, 86_400_000_000 - 1)))
    # A wall-clock time inside a DST gap still maps to an instant of the same local date.
    return (dt.datetime.combine(day, dt.time(), tzinfo=WORLD_TIMEZONE) + offset).astimezone(dt.UTC)


def _person(draw: st.DrawFn, pnr: PersonalIdentityNumber | None, today: dt.date) -> PersonalIdentityNumber:
    return draw(identity_numbers(max_birth_date=today - dt.timedelta(days=1))) if pnr is None else pnr


@st.composite
def approvals(
    draw: st.DrawFn,
    *,
    clinic_id: str | None = None,
    pnr: PersonalIdentityNumber | None = None,
    today: dt.date | None = None,
) -> Approval:
    """Approvals made before *today* (default: the local date), after the resident's birth.

    Each is what ``approve_resident(actor, clinic_id, pnr, name=name)`` returns with the
    clock at ``approved_at`` and ``actor.id == approved_by``.
    """
    on = _record_today(today)
    person = _person(draw, pnr, on)
    approved_at = draw(_instants(_first_day(person, on), on - dt.timedelta(days=1)))
    return Approval(
        draw(identifiers()) if clinic_id is None else clinic_id,
        person,
        draw(st.none() | display_names()),
        approved_at,
        draw(identifiers()),
    )


@st.composite
def grants(
    draw: st.DrawFn,
    *,
    state: GrantState | None = None,
    today: dt.date | None = None,
    clinic_id: str | None = None,
    case_type_id: str | None = None,
    pnr: PersonalIdentityNumber | None = None,
    max_version: int = 3,
) -> Grant:
    """Grants made before *today* (default: the local date), as the API would have stored them.

    :param state: ``"past"``: ended before *today*; ``"current"``: holds through a date on
        or after *today*; ``"open_ended"``: until further notice; None: any of these.
    :param max_version: the highest version drawn; version *n* means *n* − 1 changes
        after the grant was made, the last at ``changed_at``.

    ``until`` never lies before the local date of ``changed_at``, which the API refuses.
    """
    if max_version < 1:
        raise InvalidArgument(f"max_version={max_version} must be at least 1")
    if state is not None and state not in GRANT_STATES:
        raise InvalidArgument(f"state={state!r} must be one of {GRANT_STATES} or None")
    on = _record_today(today)
    person = _person(draw, pnr, on)
    first = _first_day(person, on)
    chosen = draw(st.sampled_from(GRANT_STATES)) if state is None else state
    yesterday = on - dt.timedelta(days=1)
    until: dt.date | None
    if chosen == "past":
        until = draw(st.dates(first, yesterday))
        last = until
    else:
        until = draw(st.dates(on, on + HISTORY)) if chosen == "current" else None
        last = yesterday
    version = draw(st.integers(1, max_version))
    changed_at = draw(_instants(first, last))
    granted_at = changed_at if version == 1 else min(changed_at, draw(_instants(first, last)))
    return Grant(
        draw(identifiers()) if clinic_id is None else clinic_id,
        person,
        draw(identifiers()) if case_type_id is None else case_type_id,
        until,
        version,
        granted_at,
        draw(identifiers()),
        changed_at,
        draw(st.none() | display_names()),
    )


# ---------------------------------------------------------------------------
# Decision requests
# ---------------------------------------------------------------------------


class DecisionRequest(NamedTuple):
    """The arguments of :meth:`careaccess.CareAccess.decide`, in order: ``access.decide(*request)``."""

    pnr: PersonalIdentityNumber
    clinic_id: str
    case_type_id: str
    at: dt.datetime
    residence: Residence | None


@st.composite
def decision_requests(
    draw: st.DrawFn,
    *,
    clinic_ids: st.SearchStrategy[str] | None = None,
    case_type_ids: st.SearchStrategy[str] | None = None,
    pnrs: st.SearchStrategy[PersonalIdentityNumber] | None = None,
    today: dt.date | None = None,
    days: int = 400,
    residence: bool | None = None,
) -> DecisionRequest:
    """Well-formed decision requests, for which ``decide`` never raises.

    :param clinic_ids, case_type_ids, pnrs: where the ids and numbers come from (default:
        any); pass ``st.sampled_from`` of a world's ids to ask about stored facts.
    :param today, days: ``at`` lies within *days* days of *today* (default: the local
        date), in UTC or Europe/Stockholm.
    :param residence: True to always pass a residence, False never (the directory is
        asked), None sometimes.
    """
    if days < 0:
        raise InvalidArgument(f"days={days} must not be negative")
    on = _record_today(today)
    span = dt.timedelta(days=days)
    at = draw(_instants(on - span, on + span))
    at = at.astimezone(draw(st.sampled_from([dt.UTC, WORLD_TIMEZONE])))
    pnr = draw(identity_numbers(max_birth_date=on) if pnrs is None else pnrs)
    given = draw(st.booleans()) if residence is None else residence
    return DecisionRequest(
        pnr,
        draw(identifiers() if clinic_ids is None else clinic_ids),
        draw(identifiers() if case_type_ids is None else case_type_ids),
        at,
        draw(residences()) if given else None,
    )


# ---------------------------------------------------------------------------
# Worlds
# ---------------------------------------------------------------------------


def _subset(people: list[Resident]) -> st.SearchStrategy[list[Resident]]:
    if not people:
        return st.just([])
    return st.lists(st.sampled_from(people), unique_by=_digits)


def _digits(resident: Resident) -> str:
    return resident.pnr.digits


def _clinic_id(clinic: Clinic) -> str:
    return clinic.id


def _case_type_id(case_type: CaseType) -> str:
    return case_type.id


@st.composite
def worlds(
    draw: st.DrawFn,
    *,
    min_clinics: int = 1,
    max_clinics: int = 3,
    max_case_types: int = 4,
    max_residents: int = 10,
    today: dt.date | None = None,
) -> World:
    """Consistent worlds: clinics, their case types, named residents, approvals and grants.

    Grants are of restricted case types only and come in every state relative to *today*
    (default: the local date). Write one into a store with :meth:`World.load`.
    """
    if not 0 <= min_clinics <= max_clinics:
        raise InvalidArgument(f"need 0 <= min_clinics={min_clinics} <= max_clinics={max_clinics}")
    if max_case_types < 0 or max_residents < 0:
        raise InvalidArgument("max_case_types and max_residents must not be negative")
    on = _record_today(today)
    places = draw(st.lists(clinics(), min_size=min_clinics, max_size=max_clinics, unique_by=_clinic_id))
    kinds = [
        case_type
        for clinic in places
        for case_type in draw(
            st.lists(case_types(clinic_id=clinic.id), max_size=max_case_types, unique_by=_case_type_id)
        )
    ]
    people = draw(
        st.lists(
            residents(today=on - dt.timedelta(days=1), named=True),
            max_size=max_residents,
            unique_by=_digits,
        )
    )
    approved = [
        attrs.evolve(draw(approvals(clinic_id=clinic.id, pnr=person.pnr, today=on)), name=person.name)
        for clinic in places
        for person in draw(_subset(people))
    ]
    granted = [
        attrs.evolve(
            draw(grants(clinic_id=kind.clinic_id, case_type_id=kind.id, pnr=person.pnr, today=on)),
            name=person.name,
        )
        for kind in kinds
        if kind.restricted
        for person in draw(_subset(people))
    ]
    return World(tuple(places), tuple(kinds), tuple(approved), tuple(granted), tuple(people), on)


# DecisionRequest lives here, so it is registered here; careaccess.testing.registration
# (the hypothesis entry point) registers every other type.
st.register_type_strategy(DecisionRequest, decision_requests())
