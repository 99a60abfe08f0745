"""Files of residents as administrators keep them: CSV from a spreadsheet, or JSON Lines.

Both the file population register (:mod:`careaccess.register`) and the command line's
import read files through this module, so both accept the same forms and report bad
lines the same way: line number, the identity number masked, the field that is wrong,
and why, in English and Swedish (:class:`LineProblem`). Nothing here ever puts a full
identity number in a problem or an error.

CSV: the first line names the columns (any order, any case); ``,`` or ``;`` separates
them (spreadsheets in Swedish locales write ``;``); a UTF-8 byte-order mark is allowed.
JSON Lines: one JSON object per line. Empty lines are skipped in both.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

from attrs import frozen

from careaccess.errors import CareAccessError, InvalidRequest
from careaccess.identity import PersonalIdentityNumber
from careaccess.texts import Text

__all__ = ["MAX_REPORTED", "Format", "InvalidFile", "LineProblem", "format_of", "mask", "parse_pnr", "read_rows"]

#: The file formats read here.
Format = Literal["csv", "jsonl"]

#: How many problems an :class:`InvalidFile` message lists; ``problems`` holds them all.
MAX_REPORTED = 20


def mask(text: str) -> str:
    """*text* (a possibly malformed identity number) with its last four characters hidden.

    ``"19121212-1213"`` and ``"191212121213"`` → ``"19121212-****"``; texts of four
    characters or fewer are hidden whole. Used for numbers that could not be parsed, so
    the line can still be found without the number being shown.
    """
    text = text.strip()
    shaped = _SHAPED.fullmatch(text)
    if shaped is not None:
        return f"{shaped['date']}{shaped['separator'] or '-'}****"
    return "****" if len(text) <= 4 else text[:-4] + "****"


_SHAPED = re.compile(r"(?P<date>\d{6}|\d{8})(?P<separator>[-+]?)\d{4}", re.ASCII)


@frozen
class LineProblem:
    """One bad line of a file.

    :ivar line: the line's number in the file, from 1 (a CSV header is line 1).
    :ivar masked: the identity number on the line, last four digits hidden; None when
        the line has none.
    :ivar field: the column or key that is wrong; None when the line as a whole is.
    :ivar code: an error code from :data:`careaccess.texts.ERRORS`.
    :ivar text: what is wrong, in both languages.
    """

    line: int
    masked: str | None
    field: str | None
    code: str
    text: Text

    @property
    def en(self) -> str:
        """``Line 3 (19121212-****), personnummer: The check digit ...``"""
        return f"Line {self.line}{self._where()}: {self.text.en}"

    @property
    def sv(self) -> str:
        """``Rad 3 (19121212-****), personnummer: Kontrollsiffran ...``"""
        return f"Rad {self.line}{self._where()}: {self.text.sv}"

    def _where(self) -> str:
        masked = f" ({self.masked})" if self.masked else ""
        return masked + (f", {self.field}" if self.field else "")

    def __str__(self) -> str:
        return f"{self.en} / {self.sv}"


def problem(line: int, masked: str | None, field: str | None, error: CareAccessError) -> LineProblem:
    """A :class:`LineProblem` from the error a field's value raised."""
    return LineProblem(line, masked, field, error.code, Text(error.message_en, error.message_sv))


class InvalidFile(InvalidRequest):
    """A file has bad lines; nothing was done with it.

    :ivar problems: every bad line, in file order. The message names the first
        :data:`MAX_REPORTED`.
    """

    def __init__(self, code: str, summary: Text, problems: Sequence[LineProblem]) -> None:
        self.problems = tuple(problems)
        shown = self.problems[:MAX_REPORTED]
        more = len(self.problems) - len(shown)
        en = " ".join([summary.en, *(p.en for p in shown)] + ([f"... and {more} more."] if more else []))
        sv = " ".join([summary.sv, *(p.sv for p in shown)] + ([f"... och {more} till."] if more else []))
        super().__init__(code, en, sv)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_invalid_file, (self.code, self.message_en, self.message_sv, self.problems))


def _rebuild_invalid_file(code: str, en: str, sv: str, problems: tuple[LineProblem, ...]) -> InvalidFile:
    error = InvalidFile.__new__(InvalidFile)
    InvalidRequest.__init__(error, code, en, sv)
    error.problems = problems
    return error


def format_of(path: str | Path, first_line: str = "") -> Format:
    """``"csv"`` or ``"jsonl"``: by the file's suffix, else by its first line (``{`` is JSON)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "jsonl" if first_line.lstrip("\ufeff \t").startswith(("{", "[")) else "csv"


Row = Mapping[str, object]


def read_rows(
    lines: Iterable[str], format: Format, *, required: Sequence[str] = ()
) -> Iterator[tuple[int, Row | LineProblem]]:
    """Each non-empty line's number and its fields (column or key, lower-cased), or its problem.

    CSV cells are strings, empty cells ``""``; JSON values are as decoded. A CSV line
    with more cells than the header has is a problem.

    :param required: names of one CSV column, alternatives (e.g. ``("personnummer",
        "pnr")``); a header without any of them is a problem of the header line, and
        then no row is read.
    """
    if format == "jsonl":
        yield from _json_rows(lines)
    else:
        yield from _csv_rows(lines, required)


def _json_rows(lines: Iterable[str]) -> Iterator[tuple[int, Row | LineProblem]]:
    for number, line in enumerate(lines, start=1):
        text = line.lstrip("\ufeff") if number == 1 else line
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            yield number, _line_problem(number, "A line must be one JSON object.", "En rad måste vara ett JSON-objekt.")
            continue
        yield number, {str(key).strip().lower(): value for key, value in data.items()}


def _csv_rows(lines: Iterable[str], required: Sequence[str]) -> Iterator[tuple[int, Row | LineProblem]]:
    iterator = iter(lines)
    header_line = ""
    offset = -1  # lines skipped before the header
    for header_line in iterator:
        offset += 1
        if header_line.strip():
            break
    header_line = header_line.lstrip("\ufeff")
    if not header_line.strip():
        return  # an empty file
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(_chain(header_line, iterator), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return
    if required and not set(required) & set(header):
        yield (
            offset + 1,
            LineProblem(
                offset + 1,
                None,
                required[0],
                "invalid_line",
                Text(
                    f"The header line names no {required[0]} column.",
                    f"Rubrikraden saknar kolumnen {required[0]}.",
                ),
            ),
        )
        return
    for row in reader:
        number = reader.line_num + offset
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            yield (
                number,
                _line_problem(
                    number,
                    f"The line has {len(row)} cells, the header {len(header)}.",
                    f"Raden har {len(row)} celler, rubrikraden {len(header)}.",
                ),
            )
            continue
        yield number, dict(zip(header, [cell.strip() for cell in row] + [""] * (len(header) - len(row)), strict=True))


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _line_problem(number: int, en: str, sv: str) -> LineProblem:
    return LineProblem(number, None, None, "invalid_line", Text(en, sv))


def text_field(row: Row, *names: str) -> str:
    """The first of *names* present in *row*, as stripped text (``""`` when absent or null)."""
    for name in names:
        value = row.get(name)
        if value is not None:
            return value.strip() if isinstance(value, str) else str(value)
    return ""


def parse_pnr(
    row: Row, number: int, *, today: dt.date | None = None, names: Sequence[str] = ("personnummer", "pnr")
) -> PersonalIdentityNumber | LineProblem:
    """The identity number of a row, in any legal written form, or the line's problem.

    :param today: the date 10-digit forms are judged against (see
        :meth:`PersonalIdentityNumber.parse`).
    """
    text = text_field(row, *names)
    if not text:
        missing = InvalidRequest("invalid_line", "The identity number is missing.", "Personnumret saknas.")
        return problem(number, None, names[0], missing)
    try:
        return PersonalIdentityNumber.parse(text, today=today)
    except CareAccessError as error:
        return problem(number, mask(text), names[0], error)
