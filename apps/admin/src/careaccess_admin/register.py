"""A population register read from a file, for ``serve --directory FILE`` and the demo.

CSV with a header row (``personnummer,name,region,municipality``; region and
municipality may be empty) or JSON Lines (``{"personnummer": ..., "name": ...,
"region": ..., "municipality": ...}``), chosen by the ``.csv`` suffix. Every row is
checked when the file is read; the residents are answered through the library's
:class:`careaccess.StaticDirectory`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from careaccess import CareAccessError, PersonalIdentityNumber, Residence, Resident, StaticDirectory

__all__ = ["RegisterFileError", "read_register", "write_register"]


class RegisterFileError(ValueError):
    """A row of the register file is not a resident; the message names the line."""


def _rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    with path.open(encoding="utf-8", newline="") as file:
        if path.suffix.lower() == ".csv":
            for number, row in enumerate(csv.DictReader(file), 2):
                yield number, row
            return
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                raise RegisterFileError(f"{path}:{number}: not JSON ({error.msg})") from None
            if not isinstance(data, dict):
                raise RegisterFileError(f"{path}:{number}: not a JSON object")
            yield number, data


def _resident(row: Mapping[str, Any]) -> Resident:
    pnr = PersonalIdentityNumber.parse(str(row.get("personnummer") or row.get("pnr") or ""))
    region = row.get("region") or None
    municipality = row.get("municipality") or None
    residence = Residence(str(region), str(municipality) if municipality else None) if region else None
    name = row.get("name") or None
    return Resident(pnr, str(name) if name else None, residence)


def read_register(path: str | Path) -> StaticDirectory:
    """A directory plugin answering for every resident in the file at *path*.

    :raises RegisterFileError: the file cannot be read, or a row is malformed (with its line number).
    """
    file = Path(path)
    residents = []
    try:
        for number, row in _rows(file):
            try:
                residents.append(_resident(row))
            except CareAccessError as error:
                raise RegisterFileError(f"{file}:{number}: {error.message_en}") from None
    except OSError as error:
        raise RegisterFileError(f"cannot read {file}: {error.strerror}") from error
    return StaticDirectory(residents)


def write_register(path: str | Path, residents: Iterable[Resident]) -> None:
    """Write *residents* as a CSV register file (the format :func:`read_register` reads)."""
    with Path(path).open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["personnummer", "name", "region", "municipality"])
        for resident in residents:
            residence = resident.residence
            writer.writerow(
                [
                    str(resident.pnr),
                    resident.name or "",
                    residence.region if residence else "",
                    (residence.municipality or "") if residence else "",
                ]
            )
