"""The resident list's search indexes: names by trigram, identity numbers by their last four digits.

Schema (added by revision 0004):

=========================  ==========================================================
``name_grams``             ``(clinic_id, gram, pnr, case_type_id)``: one row per
                           distinct trigram (three code points) of the folded name
                           (:func:`careaccess.names.fold`, stored as ``name_folded``) of
                           each approval (``case_type_id`` empty) and each grant; a
                           second index ``(clinic_id, pnr, case_type_id, gram)`` finds
                           a record's rows when it changes or is checked
``pnr_tail``               a column of approvals and grants: the last four digits,
                           indexed ``(clinic_id, pnr_tail, pnr)``
=========================  ==========================================================

The trigram rows are written by the store's writer in the transaction that writes the
approval or grant (:class:`careaccess_sql.namesearch.IndexingWriter`), so they agree with the names at every
commit. A record's rows change only with the record's own row, which the writer holds
locked until commit, so concurrent writes of one resident's records never mix them.

Every trigram of a text is a trigram of each name containing it, so a search that
walks the rows of the text's trigrams misses no match (:mod:`careaccess_sql.namesearch`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

__all__ = [
    "APPROVAL",
    "GRAM",
    "GRAM_COLUMNS",
    "TAIL",
    "add_search_schema",
    "gram_rows",
    "name_grams",
    "pnr_tail",
    "records_of",
    "sorted_gram_rows",
]

#: Code points per gram.
GRAM_SIZE = 3
#: Digits in ``pnr_tail``.
TAIL_SIZE = 4
GRAM = sa.String(GRAM_SIZE).with_variant(sa.String(GRAM_SIZE, collation="C"), "postgresql")
TAIL = sa.String(TAIL_SIZE).with_variant(sa.String(TAIL_SIZE, collation="C"), "postgresql")
#: ``case_type_id`` of an approval's rows (case type ids are never empty).
APPROVAL = ""
#: The columns of ``name_grams``, in the order of its key: rows as tuples come so.
GRAM_COLUMNS = ("clinic_id", "gram", "pnr", "case_type_id")


def name_grams(folded: str | None) -> set[str]:
    """The distinct trigrams of a folded name (none for a name shorter than three)."""
    if folded is None:
        return set()
    return {folded[i : i + GRAM_SIZE] for i in range(len(folded) - GRAM_SIZE + 1)}


def pnr_tail(digits: str) -> str:
    """The ``pnr_tail`` of an identity number's 12 digits: the last four."""
    return digits[-TAIL_SIZE:]


def gram_rows(clinic_id: str, pnr: str, case_type_id: str, folded: str | None) -> list[dict[str, str]]:
    """The ``name_grams`` rows of one record (``case_type_id`` empty for an approval)."""
    return [
        {"clinic_id": clinic_id, "gram": gram, "pnr": pnr, "case_type_id": case_type_id}
        for gram in sorted(name_grams(folded))
    ]


#: Characters of ``pnr`` in ``name_grams``: the 12 canonical digits.
PNR_DIGITS = 12


def sorted_gram_rows(records: Iterable[tuple[str, str, str, str | None]]) -> list[tuple[str, str, str, str]]:
    """The ``name_grams`` rows ``(clinic_id, gram, pnr, case_type_id)`` of *records*, in key order.

    *records*: ``(clinic_id, pnr, case_type_id, folded name)`` (``case_type_id`` empty for an
    approval), each record once. The rows are those of :func:`gram_rows`, sorted as tuples
    are: a gram is three code points and a pnr twelve, so within a clinic the text
    ``gram + pnr + case_type_id`` sorts as the row does, and strings sort faster than tuples.

    :raises ValueError: a pnr that is not twelve characters long.
    """
    by_clinic: dict[str, list[str]] = {}
    for clinic_id, pnr, case_type_id, folded in records:
        if len(pnr) != PNR_DIGITS:
            raise ValueError(f"expected the {PNR_DIGITS} canonical digits, got {pnr!r}")
        tail = pnr + case_type_id
        keys = by_clinic.get(clinic_id)
        if keys is None:
            keys = by_clinic[clinic_id] = []
        keys += [gram + tail for gram in name_grams(folded)]
    rows: list[tuple[str, str, str, str]] = []
    end = GRAM_SIZE + PNR_DIGITS
    for clinic_id in sorted(by_clinic):
        keys = by_clinic[clinic_id]
        keys.sort()
        rows += [(clinic_id, key[:GRAM_SIZE], key[GRAM_SIZE:end], key[end:]) for key in keys]
    return rows


def add_search_schema(metadata: sa.MetaData, prefix: str, approvals: sa.Table, grants: sa.Table) -> sa.Table:
    """Add ``name_grams`` and the ``pnr_tail`` indexes to *metadata* (called by ``make_tables``).

    The ``pnr_tail`` columns themselves are declared with the tables.
    """
    for table in (approvals, grants):
        sa.Index(f"{table.name}_tail_idx", table.c.clinic_id, table.c.pnr_tail, table.c.pnr)
    return sa.Table(
        f"{prefix}name_grams",
        metadata,
        sa.Column("clinic_id", approvals.c.clinic_id.type, primary_key=True),
        sa.Column("gram", GRAM, primary_key=True),
        sa.Column("pnr", approvals.c.pnr.type, primary_key=True),
        sa.Column("case_type_id", approvals.c.clinic_id.type, primary_key=True),
        sa.Index(f"{prefix}name_grams_record_idx", "clinic_id", "pnr", "case_type_id", "gram"),
        # SQLite: the key is the table, with no rowid table beside it.
        sqlite_with_rowid=False,
        **approvals.dialect_kwargs,
    )


def records_of(rows: Iterable[Sequence[Any]]) -> list[dict[str, str]]:
    """``name_grams`` rows of stored (clinic_id, pnr, case_type_id or None, name_folded) rows."""
    return [item for c, p, t, folded in rows for item in gram_rows(c, p, t or APPROVAL, folded)]
