"""Searches that answer from the search indexes (:mod:`careaccess_sql.searchindex`), and the
writer that keeps ``name_grams`` in step with the names, in the same transaction.

A name search whose text has a trigram walks the rarest trigram's rows of the clinic in
identity-number order, keeps a record only if its rows hold the text's other (rarest)
trigrams too, and re-checks that record's folded name exactly as the scan does: the
index narrows the candidates and never decides.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from attrs import frozen
from careaccess.store import ApprovalKey, ClinicKey, GrantKey, MustBeAbsent
from sqlalchemy.dialects import postgresql

from careaccess_sql.reach import SqlReach
from careaccess_sql.reachwriter import ReachWriter
from careaccess_sql.searchindex import APPROVAL, GRAM_COLUMNS, name_grams, sorted_gram_rows
from careaccess_sql.statements import DriverInsert, Statements
from careaccess_sql.writes import Prepared

__all__ = ["GramPlan", "IndexingWriter", "NameSearch"]

#: The rows as one JSON parameter (PostgreSQL), as ``json.dumps`` with these options writes them.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: How many of a text's trigrams (an even spread of them, in sorted order) are counted to find the rarest.
COUNTED = 8
#: Counting a trigram's rows stops here: beyond it, which is rarer matters little.
COUNT_BOUND = 1000
#: Trigrams besides the walked one that a candidate record must hold.
CHECKED = 3


@frozen
class GramPlan:
    """Which trigrams a name search walks and checks."""

    walked: str
    checked: tuple[str, ...]


class NameSearch:
    """The statements of the indexed searches for one store's tables."""

    def __init__(self, statements: Statements, grams: sa.Table) -> None:
        self._s = statements
        self.grams = grams
        self.flavour = statements.flavour
        self._counts: dict[int, sa.CompoundSelect[Any] | sa.Select[Any]] = {}
        self._walks: dict[tuple[int, bool, bool], sa.Select[Any]] = {}

    # -- choosing the trigrams ---------------------------------------------------------

    def plan(self, connection: sa.Connection, clinic_id: str, needle: str) -> GramPlan | None:
        """The trigrams to walk and check for *needle*, rarest first; None when it has none."""
        grams = sorted(name_grams(needle))
        if not grams:
            return None
        if len(grams) > COUNTED:
            step = (len(grams) - 1) / (COUNTED - 1)
            grams = sorted({grams[round(i * step)] for i in range(COUNTED)})
        if len(grams) == 1:
            return GramPlan(grams[0], ())
        params: dict[str, Any] = {"clinic_id": clinic_id, "bound": COUNT_BOUND}
        params.update({f"gram_{i}": gram for i, gram in enumerate(grams)})
        counts: dict[int, int] = dict(connection.execute(self._count_statement(len(grams)), params).all())
        ranked = sorted(range(len(grams)), key=lambda i: (counts.get(i, 0), i))
        return GramPlan(grams[ranked[0]], tuple(grams[i] for i in ranked[1 : 1 + CHECKED]))

    def _count_statement(self, count: int) -> sa.CompoundSelect[Any] | sa.Select[Any]:
        """Each trigram's rows in the clinic, counted up to ``bound``: rows (i, count)."""
        statement = self._counts.get(count)
        if statement is None:
            g = self.grams
            parts = []
            for i in range(count):
                rows = (
                    sa.select(g.c.pnr)
                    .where(g.c.clinic_id == sa.bindparam("clinic_id"), g.c.gram == sa.bindparam(f"gram_{i}"))
                    .limit(sa.bindparam("bound", type_=sa.Integer))
                    .subquery(f"g{i}")
                )
                counted = sa.select(sa.literal(i, sa.Integer).label("i"), sa.func.count().label("n"))
                parts.append(counted.select_from(rows))
            statement = sa.union_all(*parts)
            self._counts[count] = statement
        return statement

    # -- the page ------------------------------------------------------------------------

    def walk(self, plan: GramPlan, *, after: bool, suffix: bool) -> sa.Select[Any]:
        """The page of a name search by *plan* (parameters as :meth:`Statements.listing`, plus
        ``gram_walked``, ``gram_checked_0`` ...), rows as :meth:`Statements.listing`'s."""
        key = (len(plan.checked), after, suffix)
        statement = self._walks.get(key)
        if statement is not None:
            return statement
        g, a, t = self.grams, self._s.tables.approvals, self._s.tables.grants
        bp = sa.bindparam
        clinic: sa.BindParameter[Any] = bp("clinic_id")
        where: list[sa.ColumnElement[bool]] = [g.c.clinic_id == clinic, g.c.gram == bp("gram_walked")]
        if after:
            where.append(g.c.pnr > bp("after"))
        if suffix:
            where.append(g.c.pnr.like(bp("suffix_pattern", type_=sa.String), escape="\\"))
        if plan.checked:
            # One scalar lookup of the record's rows per row walked: the planner keeps it a
            # probe (an EXISTS per trigram would be turned into joins of whole posting lists).
            other = g.alias("checked")
            held = (
                sa.select(sa.func.count())
                .where(
                    other.c.clinic_id == clinic,
                    other.c.pnr == g.c.pnr,
                    other.c.case_type_id == g.c.case_type_id,
                    other.c.gram.in_([bp(f"gram_checked_{i}") for i in range(len(plan.checked))]),
                )
                .scalar_subquery()
            )
            where.append(held == len(plan.checked))
        # The exact test, as the scan makes it, on the record the row is of: a resident
        # matches through a record whose name holds the text, and that record's rows hold
        # every trigram of the text. A lookup by key for each row walked (never a scan).
        approval_name = sa.select(a.c.name_folded).where(a.c.clinic_id == clinic, a.c.pnr == g.c.pnr).scalar_subquery()
        grant_name = (
            sa.select(t.c.name_folded)
            .where(t.c.clinic_id == clinic, t.c.pnr == g.c.pnr, t.c.case_type_id == g.c.case_type_id)
            .scalar_subquery()
        )
        where.append(self._s.name_matches(sa.case((g.c.case_type_id == APPROVAL, approval_name), else_=grant_name)))
        limit = bp("limit", type_=sa.Integer)
        page = sa.select(g.c.pnr).distinct().where(*where).order_by(g.c.pnr).limit(limit).subquery("page")
        statement = self._s.page_rows(page)
        if len(self._walks) < 64:  # (checked, after, suffix): a handful of shapes
            self._walks[key] = statement
        return statement


class IndexingWriter(ReachWriter):
    """The store's writer, also keeping ``name_grams`` in the caller's transaction."""

    def __init__(self, statements: Statements, reach: SqlReach, grams: sa.Table) -> None:
        super().__init__(statements, reach)
        self.grams = grams
        g = grams
        bp = sa.bindparam
        self._delete_record_grams = g.delete().where(
            g.c.clinic_id == bp("k_clinic"), g.c.pnr == bp("k_pnr"), g.c.case_type_id == bp("k_case_type")
        )
        self._delete_clinic_grams = g.delete().where(g.c.clinic_id == bp("k_clinic"))
        #: PostgreSQL: ``INSERT ... SELECT`` from a JSONB array of ``[clinic_id, gram, pnr, case_type_id]``.
        self._insert_grams: sa.Insert | None = None
        #: SQLite and MariaDB: the driver's executemany of tuples in :data:`GRAM_COLUMNS` order.
        self._driver_grams: DriverInsert | None = None
        if statements.flavour == "postgresql":
            # JSONB: parsed once, each element's values then read directly (measured faster
            # on the server than JSON, whose ``->>`` parses the element again for each value).
            items = sa.func.jsonb_array_elements(sa.cast(bp("rows", type_=sa.Text), postgresql.JSONB))
            item = sa.type_coerce(items.table_valued("value").render_derived(name="batch").c.value, postgresql.JSONB)
            values = [item[i].astext for i in range(len(GRAM_COLUMNS))]
            self._insert_grams = g.insert().from_select(list(GRAM_COLUMNS), sa.select(*values))
        else:
            self._driver_grams = DriverInsert.of(g, statements.dialect, order=GRAM_COLUMNS)

    def apply(self, connection: sa.Connection, prepared: Prepared) -> Any:
        """As the writer does, then the trigram rows of every approval and grant written."""
        result = super().apply(connection, prepared)
        self._index(connection, prepared)
        return result

    def _index(self, connection: sa.Connection, prepared: Prepared) -> None:
        # The last write of each record is what it holds now.
        final: dict[tuple[str, str, str], dict[str, Any] | None] = {}
        cleared: list[str] = []
        for key, row in zip(prepared.keys, prepared.rows, strict=True):
            if isinstance(key, ClinicKey) and row is None:
                cleared.append(key.clinic_id)
                final = {k: v for k, v in final.items() if k[0] != key.clinic_id}
            elif isinstance(key, ApprovalKey):
                final[(key.clinic_id, key.digits, APPROVAL)] = row
            elif isinstance(key, GrantKey):
                final[(key.clinic_id, key.digits, key.case_type_id)] = row
        for clinic_id in cleared:
            connection.execute(self._delete_clinic_grams, {"k_clinic": clinic_id})
        if not final:
            return
        # A record checked absent (and so inserted) had no rows: its delete would find nothing.
        absent = {_record(p.key) for p in prepared.changeset.preconditions if isinstance(p, MustBeAbsent)}
        stale = [
            {"k_clinic": c, "k_pnr": p, "k_case_type": t}
            for (c, p, t) in final
            if (c, p, t) not in absent and c not in cleared
        ]
        if stale:
            connection.execute(self._delete_record_grams, stale)
        named = ((c, p, t, row["name_folded"]) for (c, p, t), row in final.items() if row is not None)
        self.insert_grams(connection, sorted_gram_rows(named))

    def insert_grams(self, connection: sa.Connection, rows: list[tuple[str, str, str, str]]) -> None:
        """Insert ``name_grams`` rows, each ``(clinic_id, gram, pnr, case_type_id)`` (:data:`GRAM_COLUMNS`).

        Given in the table's key order (:func:`~careaccess_sql.searchindex.sorted_gram_rows`),
        so the B-tree takes them in order. PostgreSQL: one statement, the rows as one JSON
        parameter; SQLite and MariaDB: the driver's own executemany, without SQLAlchemy's
        per-row work.
        """
        if not rows:
            return
        if self._insert_grams is not None:
            text = _JSON.encode(rows)
            connection.execute(self._insert_grams, {"rows": text})
        else:
            assert self._driver_grams is not None
            connection.exec_driver_sql(self._driver_grams.sql, self._driver_grams.tuples(rows))


def _record(key: object) -> tuple[str, str, str] | None:
    """The ``name_grams`` record (clinic_id, pnr, case_type_id) of an approval's or grant's key."""
    if isinstance(key, ApprovalKey):
        return (key.clinic_id, key.digits, APPROVAL)
    if isinstance(key, GrantKey):
        return (key.clinic_id, key.digits, key.case_type_id)
    return None
