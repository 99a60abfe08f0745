"""Adversarial hypothesis strategies: values that collide in a careless index.

The strategies of :mod:`careaccess.testing.strategies` draw values spread over their
whole space, where two residents almost never share a birth date and two ids almost
never share a prefix. A store that keys facts by something coarser than the full key
passes every test built on them. The strategies here draw *families* of values that are
distinct to careaccess and equal, or nearly so, to a careless implementation:

- :func:`colliding_identity_numbers`: residents sharing a birth date, the last four
  digits, the same 10 digits a century apart, and coordination numbers beside the
  person born on the day 60 days earlier in the month's numbering;
- :func:`colliding_ids`: clinic and case-type ids that are prefixes, extensions, case
  variants and Unicode look-alikes of one another;
- :func:`colliding_names`: names that differ only by case folding or Unicode
  normalization ("Strauß" / "STRAUSS", composed and decomposed "Åsa"), with the
  search text that must find all of them and near misses that must find none;
- :func:`batches`: request batches with repeats and sizes on both sides of every chunk
  size a backend is known to use (:data:`CHUNK_SIZES`);
- :func:`adversarial_worlds`: a whole :class:`~careaccess.testing.world.World` built from
  all of the above.

Every strategy is sound: each value is one the library accepts. They are re-exported by
:mod:`careaccess.testing.strategies`.

.. versionadded:: 0.2
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Sequence
from typing import Final, Literal, TypeVar

import attrs
from attrs import frozen
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.models import CaseType, Clinic, Resident, ServiceArea
from careaccess.testing.world import World

__all__ = [
    "CHUNK_SIZES",
    "COLLISIONS",
    "Collision",
    "NameFamily",
    "adversarial_worlds",
    "batches",
    "colliding_identity_numbers",
    "colliding_ids",
    "colliding_names",
    "neighbours",
]

T = TypeVar("T")

Collision = Literal["birth_date", "last_four", "century", "coordination"]
#: Every way :func:`colliding_identity_numbers` makes two numbers collide.
COLLISIONS: Final[tuple[Collision, ...]] = ("birth_date", "last_four", "century", "coordination")

#: Batch sizes at which backends of this repository split work (facts per script call,
#: keys per Lua ``unpack``): :func:`batches` draws sizes on both sides of each.
CHUNK_SIZES: Final[tuple[int, ...]] = (1000,)

_EARLIEST: Final = dt.date(1800, 1, 1)


def _today(today: dt.date | None) -> dt.date:
    return today if today is not None else dt.datetime.now(dt.UTC).astimezone().date()


# ---------------------------------------------------------------------------
# Identity numbers
# ---------------------------------------------------------------------------


def _number(birth: dt.date, serial: int, *, coordination: bool = False) -> PersonalIdentityNumber:
    day = birth.day + 60 if coordination else birth.day
    nine = f"{birth.year % 100:02d}{birth.month:02d}{day:02d}{serial:03d}"
    return PersonalIdentityNumber.from_digits(f"{birth.year // 100:02d}{nine}{luhn_check_digit(nine)}")


def _birth(anchor: PersonalIdentityNumber) -> dt.date:
    """*anchor*'s birth date; collisions are drawn around numbers whose date is known."""
    born = anchor.birth_date
    if born is None:
        raise ValueError("collisions need a number whose birth date is known")
    return born


def _same_last_four(anchor: PersonalIdentityNumber, today: dt.date, step: int) -> PersonalIdentityNumber | None:
    """Another plain number with *anchor*'s serial and check digit, born on another day."""
    serial = int(anchor.digits[8:11])
    day = _birth(anchor)
    for _ in range(400):
        day += dt.timedelta(days=step)
        if not _EARLIEST <= day <= today:
            return None
        other = _number(day, serial)
        if other.digits[-4:] == anchor.digits[-4:]:
            return other
    return None


def _a_century_apart(anchor: PersonalIdentityNumber, today: dt.date) -> PersonalIdentityNumber | None:
    """The number with *anchor*'s 10 digits, born 100 years earlier or later (same check digit)."""
    born = _birth(anchor)
    for years in (-100, 100):
        try:
            other_day = born.replace(year=born.year + years)
        except ValueError:  # 29 February in a year that has none
            continue
        if _EARLIEST <= other_day <= today:
            century = f"{other_day.year // 100:02d}"
            return PersonalIdentityNumber.from_digits(century + anchor.digits[2:])
    return None


def neighbours(
    anchor: PersonalIdentityNumber, *, today: dt.date | None = None
) -> dict[Collision, PersonalIdentityNumber]:
    """One number per kind of collision with *anchor* (an ordinary number), each born
    before *today* (default: the local date); a kind with no such number is left out.

    ``"birth_date"`` has the next free serial, ``"coordination"`` the same serial.
    """
    yesterday = _today(today) - dt.timedelta(days=1)
    serial = int(anchor.digits[8:11])
    found: dict[Collision, PersonalIdentityNumber | None] = {
        "birth_date": _number(_birth(anchor), serial % 999 + 1),
        "last_four": _same_last_four(anchor, yesterday, 1) or _same_last_four(anchor, yesterday, -1),
        "century": _a_century_apart(anchor, yesterday),
        "coordination": _number(_birth(anchor), serial, coordination=True),
    }
    return {kind: number for kind, number in found.items() if number is not None}


@st.composite
def colliding_identity_numbers(
    draw: st.DrawFn,
    *,
    collisions: Sequence[Collision] = COLLISIONS,
    min_size: int = 2,
    max_size: int = 6,
    today: dt.date | None = None,
) -> list[PersonalIdentityNumber]:
    """Distinct identity numbers born before *today* (default: the local date), each
    colliding with the first.

    The first number is an ordinary personal identity number (not a coordination
    number); each further one shares with it, per a kind drawn from *collisions*:

    - ``"birth_date"``: the birth date (another serial);
    - ``"last_four"``: the last four digits (serial and check digit), another birth date;
    - ``"century"``: all 10 digits of the short form, born 100 years apart;
    - ``"coordination"``: the birth date, as a coordination number (day + 60), often
      with the same serial, so the digits as written differ in one place only.

    Where a kind has no partner left (no second century before *today*, say), a number
    sharing the birth date is drawn instead. The numbers come in drawn order, not sorted.

    :raises InvalidArgument: for an empty *collisions*, an unknown kind, or sizes out of order.
    """
    if not collisions or any(kind not in COLLISIONS for kind in collisions):
        raise InvalidArgument(f"collisions={collisions!r} must name some of {COLLISIONS}")
    if not 1 <= min_size <= max_size:
        raise InvalidArgument(f"need 1 <= min_size={min_size} <= max_size={max_size}")
    yesterday = _today(today) - dt.timedelta(days=1)
    birth = draw(st.dates(dt.date(1900, 1, 1), yesterday))
    anchor = _number(birth, draw(st.integers(1, 999)))
    found = {anchor.digits: anchor}
    wanted = draw(st.integers(min_size, max_size))
    while len(found) < wanted:
        kind = draw(st.sampled_from(list(collisions)))
        other: PersonalIdentityNumber | None = None
        if kind == "last_four":
            other = _same_last_four(anchor, yesterday, draw(st.sampled_from([-1, 1, -7, 7, -365, 365])))
        elif kind == "century":
            other = _a_century_apart(anchor, yesterday)
        elif kind == "coordination":
            same_serial = draw(st.booleans())
            serial = int(anchor.digits[8:11]) if same_serial else draw(st.integers(1, 999))
            other = _number(_birth(anchor), serial, coordination=True)
        if other is None or other.digits in found:
            other = _number(_birth(anchor), draw(st.integers(1, 999)))
        serial = int(other.digits[8:11])
        while other.digits in found:  # the drawn serial was taken: the next free one
            serial = serial % 999 + 1
            other = _number(_birth(anchor), serial)
        found[other.digits] = other
    return list(found.values())


# ---------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------

#: Latin letters and a character that looks the same (Cyrillic, Greek, or a ligature's part).
LOOK_ALIKES: Final = {
    "a": "\u0430",  # Cyrillic a
    "c": "\u0441",  # Cyrillic es
    "e": "\u0435",  # Cyrillic ie
    "i": "\u0456",  # Cyrillic Byelorussian-Ukrainian i
    "o": "\u03bf",  # Greek omicron
    "p": "\u0440",  # Cyrillic er
    "x": "\u0445",  # Cyrillic ha
    "k": "\u03ba",  # Greek kappa
    "s": "\u0455",  # Cyrillic dze
}
_BASE_IDS: Final = ("kbt", "kbt-barn", "vc-ost", "psyk", "recept", "a", "fraga", "diabetes", "c1", "x")
_EXTENSIONS: Final = ("-barn", "2", "x", "-", " vuxen", "ä", "\u0430")


def _variants(base: str) -> list[str]:
    """Ids that a careless index confuses with *base*."""
    out = [base[:k].strip() for k in range(1, len(base))]
    out += [base + extension for extension in _EXTENSIONS]
    out += [base.upper(), base.title(), base.swapcase(), base[:1].upper() + base[1:]]
    for index, char in enumerate(base):
        if char in LOOK_ALIKES:
            out.append(base[:index] + LOOK_ALIKES[char] + base[index + 1 :])
    out.append("".join(LOOK_ALIKES.get(char, char) for char in base))
    return [v for v in out if v and v == v.strip() and v != base]


@st.composite
def colliding_ids(draw: st.DrawFn, *, min_size: int = 2, max_size: int = 5) -> list[str]:
    """Distinct valid ids, each a prefix, extension, case variant or look-alike of the first.

    The first id is a realistic one (``"kbt"``, ``"kbt-barn"``, ``"vc-ost"``, ...) or a
    drawn lowercase one. Ids are compared exactly by careaccess: ``"kbt"``, ``"kbt-barn"``,
    ``"KBT"`` and ``"kbt"`` with a Cyrillic ``а`` are four clinics or case types.
    All ids are in Unicode normal form C, so no layer may merge two of them by normalizing.

    :raises InvalidArgument: when the sizes are out of order.
    """
    if not 1 <= min_size <= max_size:
        raise InvalidArgument(f"need 1 <= min_size={min_size} <= max_size={max_size}")
    base = draw(st.sampled_from(_BASE_IDS) | st.text("abceikopsx-", min_size=2, max_size=8).map(str.strip))
    base = base.strip("-") or "kbt"
    pool = sorted({v for v in _variants(base) if unicodedata.is_normalized("NFC", v)})
    chosen = draw(st.lists(st.sampled_from(pool), min_size=min_size - 1, max_size=max_size - 1, unique=True))
    return [base, *chosen]


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------


@frozen
class NameFamily:
    """Names one search must find together, and names it must not find.

    ``query`` is what an administrator types. Every name in ``names`` contains it once
    both are folded (:func:`careaccess.names.fold`: NFC, casefold, NFC, separators as one
    space), and no name in ``strangers`` does, although a search that only lower-cases,
    does not normalize, or normalizes too much would see it the other way.
    """

    names: tuple[str, ...]
    query: str
    strangers: tuple[str, ...]


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


_FAMILIES: Final[tuple[NameFamily, ...]] = (
    NameFamily(("Strauß", "STRAUSS", "Strauss", "STRAUẞ"), "strauss", ("Straus", "Sträuss")),
    NameFamily(("Strauß", "STRAUSS", "Johann Strauss"), "Strauß", ("Straus", "Strau")),
    NameFamily(("Åsa Öberg", _nfd("Åsa Öberg"), "ÅSA ÖBERG", "åsa öberg"), _nfd("åsa"), ("Asa Oberg", "Aasa Oberg")),
    NameFamily(("Åsa Öberg", _nfd("Åsa Öberg"), "ÅSA-ÖBERG"), "Åsa öberg", ("Åsa Oberg", "Asa Öberg")),
    NameFamily(
        ("Öberg-Ärlig", "Öberg Ärlig", "ÖBERG–ÄRLIG", "öberg  ärlig"), "öberg-ärlig", ("Öbergärlig", "Oberg-Arlig")
    ),
    NameFamily(("Σίσυφος", "ΣΊΣΥΦΟΣ"), "σίσυφοσ", ("Σισυφος",)),
    NameFamily(("Zoë Ångström", _nfd("Zoë Ångström"), "ZOË ÅNGSTRÖM"), "ÅNGSTRÖM", ("Zoe Angstrom", "Ångstrom")),
)


@st.composite
def colliding_names(draw: st.DrawFn) -> NameFamily:
    """A family of resident names that differ only by case folding, normalization or
    separators, with the search text that must find every one of them and look-alike
    names it must find none of. Names may be decomposed (NFD) as a caller might send
    them; careaccess stores them in normal form C."""
    family = draw(st.sampled_from(_FAMILIES))
    names = draw(st.permutations(family.names))
    return attrs.evolve(family, names=tuple(names))


# ---------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------


def _sizes(min_size: int, max_size: int) -> st.SearchStrategy[int]:
    edges = {min_size, max_size}
    for chunk in CHUNK_SIZES:
        for multiple in (chunk, 2 * chunk):
            edges.update({multiple - 1, multiple, multiple + 1})
    near = sorted(n for n in edges if min_size <= n <= max_size)
    return st.sampled_from(near) | st.integers(min_size, max_size)


@st.composite
def batches(
    draw: st.DrawFn, pool: Sequence[T], *, min_size: int = 0, max_size: int = 2 * CHUNK_SIZES[-1] + 1
) -> list[T]:
    """Lists of elements of *pool*, with repeats, sized on both sides of every chunk size.

    When the size allows it, every element of *pool* appears at least once and some
    appear more than once; the order is shuffled. Sizes near each of
    :data:`CHUNK_SIZES` (and twice each) are drawn often.

    :raises InvalidArgument: for an empty *pool* with ``min_size > 0`` or sizes out of order.
    """
    if not 0 <= min_size <= max_size:
        raise InvalidArgument(f"need 0 <= min_size={min_size} <= max_size={max_size}")
    if not pool:
        if min_size:
            raise InvalidArgument("an empty pool makes only empty batches")
        return []
    size = draw(_sizes(min_size, max_size))
    # One drawn seed, not one draw per element: cheap at any size, and only test data.
    shuffle = random.Random(draw(st.integers(0, 2**32 - 1)))  # noqa: S311
    elements = list(pool)
    shuffle.shuffle(elements)
    chosen = elements[:size] + [shuffle.choice(elements) for _ in range(size - len(elements))]
    shuffle.shuffle(chosen)
    return chosen


# ---------------------------------------------------------------------------
# Worlds
# ---------------------------------------------------------------------------


@st.composite
def adversarial_worlds(draw: st.DrawFn, *, max_residents: int = 6, today: dt.date | None = None) -> World:
    """Worlds relative to *today* (default: the local date) whose clinics, case types,
    residents and names collide as above.

    Clinic ids are one :func:`colliding_ids` family and every clinic has case types from
    one other family (so ``"kbt"`` and ``"kbt-barn"`` exist at each clinic, restricted or
    not). Residents are :func:`colliding_identity_numbers` named from one
    :func:`colliding_names` family. Approvals and grants are drawn as in
    :func:`~careaccess.testing.strategies.worlds`: exactly what the API would store.
    """
    from careaccess.testing.strategies import approvals, display_names, grants  # noqa: PLC0415 (cycle)

    if max_residents < 1:
        raise InvalidArgument(f"max_residents={max_residents} must be at least 1")
    today = _today(today)
    clinic_ids = draw(colliding_ids(min_size=1, max_size=3))
    kind_ids = draw(colliding_ids(min_size=2, max_size=4))
    places = [Clinic(c, draw(display_names(max_size=12)), ServiceArea()) for c in clinic_ids]
    kinds = [CaseType(c, t, t, draw(st.booleans())) for c in clinic_ids for t in kind_ids]
    numbers = draw(colliding_identity_numbers(max_size=max_residents, today=today - dt.timedelta(days=1)))
    family = draw(colliding_names())
    people = [
        Resident(p, unicodedata.normalize("NFC", family.names[i % len(family.names)]), None)
        for i, p in enumerate(numbers)
    ]
    approved = [
        attrs.evolve(draw(approvals(clinic_id=clinic.id, pnr=person.pnr, today=today)), name=person.name)
        for clinic in places
        for person in people
        if draw(st.booleans())
    ]
    granted = [
        attrs.evolve(
            draw(grants(clinic_id=kind.clinic_id, case_type_id=kind.id, pnr=person.pnr, today=today)),
            name=person.name,
        )
        for kind in kinds
        if kind.restricted
        for person in people
        if draw(st.booleans())
    ]
    return World(tuple(places), tuple(kinds), tuple(approved), tuple(granted), tuple(people), today)
