"""A population register read from a file: the directory plugin shipped with the core.

The manual's first step — enter the personnummer, and the resident's name and
personnummer are shown — needs a population register. :class:`FileRegister` answers
the ``careaccess_lookup_resident`` hook from a CSV or JSON Lines file of residents::

    import careaccess
    from careaccess.register import FileRegister

    register = FileRegister.from_path("residents.csv")
    access = careaccess.connect("sqlite:///careaccess.db", plugins=[register])
    access.lookup_resident("19121212-1212")   # Resident(pnr, name, residence)

CSV (``,`` or ``;`` separated, a header line naming the columns)::

    personnummer,name,region,municipality
    19121212-1212,Tolvan Tolvansson,12,1280
    8506152384,Greta Exempelsson,,0180

JSON Lines, one object per line, the same keys::

    {"personnummer": "191212121212", "name": "Tolvan Tolvansson", "region": "12", "municipality": "1280"}

``personnummer`` takes any legal written form (10 or 12 digits, with or without
``-``/``+``); ``name`` may be empty; ``region`` (county code) may be left out when
``municipality`` is given (it implies its county); with neither the residence is
unknown, and service-area rules that need it do not match (DESIGN.md, "The access
decision"). The command line reads one with ``--directory FILE`` or
``CAREACCESS_DIRECTORY``.

The whole file is read and checked when the register is built: a bad line is an
error naming every bad line (:class:`~careaccess.linefile.InvalidFile`, code
``invalid_register``), never a register that silently lacks residents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from careaccess import regions
from careaccess.directory import StaticDirectory
from careaccess.errors import CareAccessError, InvalidRequest
from careaccess.identity import PersonalIdentityNumber
from careaccess.linefile import (
    Format,
    InvalidFile,
    LineProblem,
    Row,
    format_of,
    parse_pnr,
    problem,
    read_rows,
    text_field,
)
from careaccess.models import Residence, Resident
from careaccess.texts import ERRORS, Text

__all__ = ["DEMO_REGISTER", "FileRegister", "demo_register"]

#: The name of the demo's register file, shipped in ``careaccess/data``.
DEMO_REGISTER = "demo-register.csv"


class FileRegister(StaticDirectory):
    """A population register held in memory, read from a CSV or JSON Lines file.

    Register it as a plugin (``connect(url, plugins=[register])``); it answers
    ``careaccess_lookup_resident`` and returns None for residents it does not hold,
    so another directory plugin may answer them.
    """

    def __init__(self, residents: Iterable[Resident] = ()) -> None:
        super().__init__(residents)

    @classmethod
    def from_path(cls, path: str | Path, *, today: dt.date | None = None) -> FileRegister:
        """Read the residents of the file at *path*; CSV or JSON Lines by suffix or content.

        :param today: the date 10-digit identity numbers are judged against; default
            the local date (pass the service's ``access.today()`` to judge by its clock).
        :raises InvalidRequest: ``register_unreadable`` when the file cannot be read.
        :raises InvalidFile: ``invalid_register``, listing every bad line.
        """
        path = Path(path)
        try:
            with path.open(encoding="utf-8-sig", newline="") as file:
                first = file.readline()
                file.seek(0)
                return cls.from_lines(file, format_of(path, first), today=today)
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidRequest(
                "register_unreadable",
                f"The population register file {path.name!r} cannot be read ({type(error).__name__}).",
                f"Folkbokföringsfilen {path.name!r} går inte att läsa.",
            ) from None

    @classmethod
    def from_lines(cls, lines: Iterable[str], format: Format, *, today: dt.date | None = None) -> FileRegister:
        """Read residents from the lines of a file in *format* (``"csv"`` or ``"jsonl"``).

        :raises InvalidFile: ``invalid_register``, listing every bad line.
        """
        residents: dict[PersonalIdentityNumber, Resident] = {}
        problems: list[LineProblem] = []
        first_line: dict[PersonalIdentityNumber, int] = {}
        for number, row in read_rows(lines, format, required=("personnummer", "pnr")):
            if isinstance(row, LineProblem):
                problems.append(row)
                continue
            found = _resident(row, number, today)
            if isinstance(found, LineProblem):
                problems.append(found)
            elif found.pnr in residents:
                problems.append(
                    LineProblem(
                        number,
                        found.pnr.masked(),
                        "personnummer",
                        "invalid_line",
                        Text(
                            f"The resident is already on line {first_line[found.pnr]}.",
                            f"Invånaren finns redan på rad {first_line[found.pnr]}.",
                        ),
                    )
                )
            else:
                residents[found.pnr] = found
                first_line[found.pnr] = number
        if problems:
            raise InvalidFile("invalid_register", ERRORS["invalid_register"].text, problems)
        return cls(residents.values())

    def __len__(self) -> int:
        return len(self._residents)

    def __iter__(self) -> Iterator[Resident]:
        return iter(self._residents.values())

    def get(self, pnr: PersonalIdentityNumber) -> Resident | None:
        """The resident with this identity number, or None."""
        return self._residents.get(pnr)


def _resident(row: Row, number: int, today: dt.date | None) -> Resident | LineProblem:
    pnr = parse_pnr(row, number, today=today)
    if isinstance(pnr, LineProblem):
        return pnr
    name = text_field(row, "name", "namn") or None
    region = text_field(row, "region", "county", "län") or None
    municipality = text_field(row, "municipality", "kommun") or None
    if region is None and municipality is not None:
        found = regions.municipality(municipality)
        region = found.county_code if found is not None else None
        if region is None:
            unknown = InvalidRequest("unknown_municipality")
            return problem(number, pnr.masked(), "municipality", unknown)
    residence = None
    if region is not None:
        try:
            residence = Residence(region, municipality)
        except CareAccessError as error:
            field = "municipality" if error.code != "unknown_region" else "region"
            return problem(number, pnr.masked(), field, error)
    return Resident(pnr, name, residence)


def demo_register() -> FileRegister:
    """The register of the demo's fictional residents, shipped with careaccess."""
    source = resources.files("careaccess") / "data" / DEMO_REGISTER
    with source.open(encoding="utf-8") as file:
        return FileRegister.from_lines(file, "csv")
