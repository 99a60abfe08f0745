"""Every statement the store runs, built once per store from its tables and SQL flavour.

SQLAlchemy Core builds them; :class:`Statements` holds them compiled-once-ready, so a
request only binds parameters. Where the databases differ (a list bound as one
parameter, ``UPDATE ... RETURNING``, bulk inserts) the flavour chooses the form; the
meaning is the same on each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from attrs import frozen
from sqlalchemy.dialects import postgresql

from careaccess_sql.schema import Tables, UtcDateTime

__all__ = ["DriverInsert", "Statements", "prefix_range"]

#: The longest value of the ``pnr`` columns (schema.PNR): the 12 canonical digits.
PNR_LENGTH = 12

# MariaDB: a JSON array parameter as a table. TEXT, so no value is ever cut short, in the
# tables' collation, so it is compared as the keys are.
_MARIADB_PNRS = (
    "SELECT value FROM JSON_TABLE(:pnrs, '$[*]' COLUMNS ("
    "value TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$')) AS items"
)
_MARIADB_REQUESTS = (
    "SELECT i, pnr, clinic_id, case_type_id FROM JSON_TABLE(:batch, '$[*]' COLUMNS ("
    "i FOR ORDINALITY, "
    "pnr TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$[0]', "
    "clinic_id TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$[1]', "
    "case_type_id TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$[2]')) AS items"
)
# PostgreSQL: the same JSON array of [pnr, clinic id, case type id] as a table. One text
# parameter costs the driver next to nothing to send, where three text arrays are escaped
# in Python one value at a time. JSONB, parsed once: each ``->>`` of plain JSON would parse
# its element's text again, at every join that reads it.
_POSTGRESQL_REQUESTS = (
    "SELECT i, e ->> 0 AS pnr, e ->> 1 AS clinic_id, e ->> 2 AS case_type_id "
    "FROM jsonb_array_elements(CAST(:batch AS JSONB)) WITH ORDINALITY AS items(e, i)"
)


class Statements:
    """The store's statements for *tables* on one database.

    :param flavour: ``"sqlite"``, ``"postgresql"`` or ``"mariadb"``.
    :param dialect: the engine's dialect (for driver-level inserts and ``RETURNING``).
    """

    def __init__(self, tables: Tables, flavour: str, dialect: sa.Dialect) -> None:
        self.tables = tables
        self.flavour = flavour
        self.dialect = dialect
        t = tables
        c, ct, a, g, e = t.clinics, t.case_types, t.approvals, t.grants, t.events
        bp = sa.bindparam
        self.clinic_cols = [c.c.name, c.c.service_area]
        self.case_type_cols = [ct.c.id, ct.c.name, ct.c.restricted]
        self.approval_cols = [a.c.pnr, a.c.name, a.c.approved_at, a.c.approved_by]
        self.grant_cols = [
            g.c.case_type_id,
            g.c.until,
            g.c.version,
            g.c.granted_at,
            g.c.granted_by,
            g.c.changed_at,
            g.c.name,
        ]
        facts_cols = [*self.clinic_cols, *self.case_type_cols, *self.approval_cols, *self.grant_cols]
        #: The instants among the facts columns: approved, granted, changed.
        self.instant_columns = [a.c.approved_at, g.c.granted_at, g.c.changed_at]

        self.get_clinic = sa.select(c.c.id, *self.clinic_cols).where(c.c.id == bp("clinic_id"))
        self.list_case_types = (
            sa.select(ct.c.clinic_id, ct.c.id, ct.c.name, ct.c.restricted)
            .where(ct.c.clinic_id == bp("clinic_id"))
            .order_by(ct.c.id)
        )
        # One decision: every fact by primary key, in one statement.
        self.load_facts = (
            sa.select(*facts_cols)
            .select_from(
                c.outerjoin(ct, sa.and_(ct.c.clinic_id == c.c.id, ct.c.id == bp("case_type_id")))
                .outerjoin(a, sa.and_(a.c.clinic_id == c.c.id, a.c.pnr == bp("pnr")))
                .outerjoin(
                    g,
                    sa.and_(g.c.clinic_id == c.c.id, g.c.pnr == bp("pnr"), g.c.case_type_id == bp("case_type_id")),
                )
            )
            .where(c.c.id == bp("clinic_id"))
        )
        req = self._request_table()
        self.load_facts_many = sa.select(req.c.i, *facts_cols).select_from(
            req.outerjoin(c, c.c.id == req.c.clinic_id)
            .outerjoin(ct, sa.and_(ct.c.clinic_id == req.c.clinic_id, ct.c.id == req.c.case_type_id))
            .outerjoin(a, sa.and_(a.c.clinic_id == req.c.clinic_id, a.c.pnr == req.c.pnr))
            .outerjoin(
                g,
                sa.and_(g.c.clinic_id == req.c.clinic_id, g.c.pnr == req.c.pnr, g.c.case_type_id == req.c.case_type_id),
            )
        )
        self._listings: dict[tuple[bool, bool, int, bool, bool, bool], sa.Select[Any]] = {}

        self.events_all = sa.select(e).where(e.c.id > bp("after")).order_by(e.c.id).limit(bp("limit"))
        self.events_of = (
            sa.select(e)
            .where(e.c.clinic_id == bp("clinic_id"), e.c.id > bp("after"))
            .order_by(e.c.id)
            .limit(bp("limit"))
        )
        counter = t.event_counter
        # Takes a block of "count" ids at once; returns the last of them.
        last = counter.c.last_event_id + bp("count", type_=sa.BigInteger)
        bump = counter.update().where(counter.c.id == 1)
        #: The counter update (and, without ``UPDATE ... RETURNING``, the read back).
        self.next_event_id: tuple[sa.Executable, ...]
        if flavour == "mariadb":
            # No UPDATE ... RETURNING: LAST_INSERT_ID(expr) hands the value back with the row count.
            self.next_event_id = (bump.values(last_event_id=sa.func.last_insert_id(last)),)
        elif dialect.update_returning:
            self.next_event_id = (bump.values(last_event_id=last).returning(counter.c.last_event_id),)
        else:  # pragma: no cover - SQLite before 3.35 cannot return from UPDATE
            read_back = sa.select(counter.c.last_event_id).where(counter.c.id == 1)
            self.next_event_id = (bump.values(last_event_id=last), read_back)
        self.insert_event = e.insert()
        self._build_bulk_statements(dialect)

    def _build_bulk_statements(self, dialect: sa.Dialect) -> None:
        """The statements of a large changeset: one locking read per kind of key, one insert per table.

        Each read comes in two forms, indexed by whether it locks exclusively
        (``FOR UPDATE``) or shared (``FOR SHARE``).
        """
        t = self.tables
        ct, a, g = t.case_types, t.approvals, t.grants
        bp = sa.bindparam
        case_types = sa.select(ct.c.id, ct.c.restricted).where(
            ct.c.clinic_id == bp("clinic_id"), ct.c.id.in_(bp("ids", expanding=True))
        )
        approvals = self._stored_of(a, a.c.pnr)
        grants = self._stored_of(g, g.c.pnr, g.c.case_type_id, g.c.version)
        #: (id, restricted) of the case types ``ids`` of ``clinic_id``.
        self.case_types_of = tuple(case_types.with_for_update(read=not x) for x in (False, True))
        #: (pnr,) of the approvals of ``clinic_id`` whose pnr is in the JSON array ``pnrs``.
        self.approvals_of = tuple(approvals.with_for_update(read=not x) for x in (False, True))
        #: (pnr, case_type_id, version) of the grants of ``clinic_id`` whose pnr is in ``pnrs``.
        self.grants_of = tuple(grants.with_for_update(read=not x) for x in (False, True))
        #: PostgreSQL: ``INSERT ... SELECT`` from ``json_to_recordset``, by table name.
        self.bulk_inserts: dict[str, sa.Insert] = {}
        #: SQLite and MariaDB: the driver's executemany, by table name.
        self.driver_inserts: dict[str, DriverInsert] = {}
        for table in (a, g, t.events):
            if self.flavour == "postgresql":
                self.bulk_inserts[table.name] = self._recordset_insert(table)
            else:
                self.driver_inserts[table.name] = DriverInsert.of(table, dialect)

    def _stored_of(self, table: sa.Table, *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
        """*columns* of *table*'s rows of one clinic whose pnr is in the JSON array parameter ``pnrs``.

        JSON rather than a PostgreSQL array: the driver sends one string as is, where it
        would escape an array's thousands of values one at a time.
        """
        clinic = table.c.clinic_id == sa.bindparam("clinic_id")
        values = sa.bindparam("pnrs", type_=sa.Text)
        if self.flavour == "mariadb":
            # A join led by the list: one key lookup per pnr, never a scan of the clinic's rows.
            pnrs = sa.text(_MARIADB_PNRS).bindparams(values).columns(value=sa.Text).subquery("pnrs")
            return sa.select(*columns).select_from(pnrs.join(table, sa.and_(clinic, table.c.pnr == pnrs.c.value)))
        if self.flavour == "postgresql":
            items = sa.select(sa.func.json_array_elements_text(sa.cast(values, postgresql.JSON)))
        else:
            items = sa.select(sa.func.json_each(values).table_valued("value").c.value)
        return sa.select(*columns).where(clinic, table.c.pnr.in_(items))

    @staticmethod
    def _recordset_insert(table: sa.Table) -> sa.Insert:
        """PostgreSQL: insert rows given as one JSON array of objects, in one statement of fixed text.

        One text parameter costs the driver next to nothing to send, where arrays of
        thousands of values are escaped one value at a time.
        """
        columns = [sa.column(column.name, _plain_type(column)) for column in table.columns]
        rows = (
            sa.func.json_to_recordset(sa.cast(sa.bindparam("rows", type_=sa.Text), postgresql.JSON))
            .table_valued(*columns)
            .render_derived(name="batch", with_types=True)
        )
        names = [column.name for column in table.columns]
        return table.insert().from_select(names, sa.select(*(rows.c[name] for name in names)))

    def _request_table(self) -> sa.Subquery:
        """The batch of a decide_many as a table (i, pnr, clinic_id, case_type_id), bound as one parameter:
        ``batch``, a JSON array of ``[pnr, clinic id, case type id]`` (``i`` counts from 0 on
        SQLite, from 1 on the others)."""
        if self.flavour in ("mariadb", "postgresql"):
            query = _MARIADB_REQUESTS if self.flavour == "mariadb" else _POSTGRESQL_REQUESTS
            text = sa.text(query).bindparams(sa.bindparam("batch", type_=sa.Text))
            return text.columns(i=sa.Integer, pnr=sa.Text, clinic_id=sa.Text, case_type_id=sa.Text).subquery("req")
        items = sa.func.json_each(sa.bindparam("batch", type_=sa.Text)).table_valued("key", "value")
        return sa.select(
            items.c.key.label("i"),
            sa.func.json_extract(items.c.value, "$[0]").label("pnr"),
            sa.func.json_extract(items.c.value, "$[1]").label("clinic_id"),
            sa.func.json_extract(items.c.value, "$[2]").label("case_type_id"),
        ).subquery("req")

    def listing(
        self, *, exact: bool, after: bool, prefixes: int, suffix: bool, name: bool, tail: bool = False
    ) -> sa.Select[Any]:
        """Residents (approved or granted) of one clinic with their approval and grants, by pnr.

        Parameters: ``clinic_id``, ``limit``; with *exact* ``pnr``; with *after* ``after``;
        for each of *prefixes* (any may match) ``prefix_0`` ... (a LIKE pattern) with
        ``prefix_low_0``, ``prefix_high_0`` ... (its range, :func:`prefix_range`); with
        *suffix* ``suffix_pattern``; with *tail* also ``suffix_tail`` (the suffix's last
        four digits, a seek of ``(clinic_id, pnr_tail, pnr)``); with *name* ``name_pattern``
        (SQLite: ``name_needle``, the text itself), matched against the folded names.
        Rows: ``pnr``, the approval columns, the grant columns; ordered by pnr, then case type.
        """
        key = (exact, after, prefixes, suffix, name, tail)
        statement = self._listings.get(key)
        if statement is not None:
            return statement
        a, g = self.tables.approvals, self.tables.grants
        bp = sa.bindparam
        limit = bp("limit", type_=sa.Integer)

        def candidates(table: sa.Table, prefix: int | None) -> sa.Subquery:
            where: list[sa.ColumnElement[bool]] = [table.c.clinic_id == bp("clinic_id")]
            if exact:
                where.append(table.c.pnr == bp("pnr"))
            if after:
                where.append(table.c.pnr > bp("after"))
            if prefix is not None:
                # The range makes it a seek of the (clinic_id, pnr) key; LIKE keeps the match exact.
                low, high = bp(f"prefix_low_{prefix}", type_=sa.String), bp(f"prefix_high_{prefix}", type_=sa.String)
                where.append(table.c.pnr.between(low, high))
                where.append(table.c.pnr.like(bp(f"prefix_{prefix}", type_=sa.String), escape="\\"))
            if tail:
                # A seek of (clinic_id, pnr_tail, pnr): the residents ending so, in pnr order.
                where.append(table.c.pnr_tail == bp("suffix_tail", type_=sa.String))
            if suffix:
                where.append(table.c.pnr.like(bp("suffix_pattern", type_=sa.String), escape="\\"))
            if name:
                where.append(self.name_matches(table.c.name_folded))
            # Each side is a keyset range scan of its (clinic_id, pnr) key, cut at the page size.
            return sa.select(table.c.pnr).distinct().where(*where).order_by(table.c.pnr).limit(limit).subquery()

        # One ordered, cut scan per table and prefix: an OR of the ranges would have the
        # database collect and sort every resident of a short prefix before cutting the page.
        sides = [candidates(table, prefix) for table in (a, g) for prefix in (range(prefixes) if prefixes else [None])]
        either = sa.union(*(sa.select(side.c.pnr) for side in sides)).subquery()
        page = sa.select(either.c.pnr).order_by(either.c.pnr).limit(limit).subquery("page")
        statement = self.page_rows(page)
        if len(self._listings) < 256:  # a few shapes are ever used; the bound is for safety
            self._listings[key] = statement
        return statement

    def name_matches(self, folded: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """The folded name *folded* holds the search text: ``name_needle`` on SQLite, else ``name_pattern``."""
        if self.flavour == "sqlite":
            # SQLite's LIKE ignores ASCII case; instr compares exactly, as the others' LIKE does.
            return sa.func.instr(folded, sa.bindparam("name_needle", type_=sa.String)) > 0
        return folded.like(sa.bindparam("name_pattern", type_=sa.String), escape="\\")

    def page_rows(self, page: sa.Subquery) -> sa.Select[Any]:
        """The listing rows of the residents whose pnr *page* (a subquery of ``pnr``) holds."""
        a, g = self.tables.approvals, self.tables.grants
        clinic: sa.BindParameter[Any] = sa.bindparam("clinic_id")
        return (
            sa.select(page.c.pnr, *self.approval_cols, *self.grant_cols)
            .select_from(
                page.outerjoin(a, sa.and_(a.c.clinic_id == clinic, a.c.pnr == page.c.pnr)).outerjoin(
                    g, sa.and_(g.c.clinic_id == clinic, g.c.pnr == page.c.pnr)
                )
            )
            .order_by(page.c.pnr, g.c.case_type_id)
        )


def prefix_range(prefix: str) -> tuple[str, str]:
    """The smallest and the largest identity number column value (at most 12 characters) that start with *prefix*.

    In code point order, which every store's binary collation of ``pnr`` follows: a
    value starts with *prefix* exactly when it lies between *prefix* and *prefix*
    followed by twelve of the last code point.
    """
    return prefix, prefix + "\U0010ffff" * PNR_LENGTH


@frozen
class DriverInsert:
    """SQLite and MariaDB: a table's INSERT run by the driver's own executemany.

    The values are converted by the columns' own SQLAlchemy bind processors, a column at
    a time, so they are stored exactly as SQLAlchemy stores them, without its per-row work.
    (PyMySQL's executemany sends the rows as a few multi-row INSERTs.)
    """

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    #: The driver takes tuples (SQLite's ``?``) rather than mappings (PyMySQL's ``%(name)s``).
    positional: bool
    #: The order of the values of rows given as tuples (:meth:`tuples`).
    order: tuple[str, ...]

    @classmethod
    def of(cls, table: sa.Table, dialect: sa.Dialect, *, order: Sequence[str] | None = None) -> DriverInsert:
        """The INSERT of every column of *table*; rows given as tuples come in *order* (default: the columns')."""
        compiled = table.insert().compile(dialect=dialect)
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
        if sorted(names) != sorted(table.columns.keys()):  # pragma: no cover - an INSERT binds every column
            raise TypeError(f"expected an INSERT of every column of {table.name}, got {compiled}")
        given = tuple(table.columns.keys()) if order is None else tuple(order)
        if sorted(given) != sorted(names):
            raise ValueError(f"{given} are not the columns of {table.name}")
        processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
        return cls(str(compiled), names, processors, compiled.positional, given)

    def parameters(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]] | list[dict[str, Any]]:
        """The rows as the driver's executemany takes them, every value bind-processed."""
        columns: list[list[Any]] = []
        for name, process in zip(self.names, self.processors, strict=True):
            values = [row[name] for row in rows]
            columns.append(values if process is None else _processed(values, process))
        if self.positional:
            return list(zip(*columns, strict=True))
        return [dict(zip(self.names, values, strict=True)) for values in zip(*columns, strict=True)]

    def tuples(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]] | list[dict[str, Any]]:
        """:meth:`parameters` of rows given as tuples in the ``order`` of :meth:`of`.

        Rows already in the driver's order with no value to process are passed as they are.
        """
        if self.positional and self.names == self.order and not any(self.processors):
            return rows
        at = {name: i for i, name in enumerate(self.order)}
        columns: list[list[Any]] = []
        for name, process in zip(self.names, self.processors, strict=True):
            i = at[name]
            values = [row[i] for row in rows]
            columns.append(values if process is None else _processed(values, process))
        if self.positional:
            return list(zip(*columns, strict=True))
        return [dict(zip(self.names, values, strict=True)) for values in zip(*columns, strict=True)]


def _processed(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    """*process* of each of *values*, run once per distinct object (a batch's rows mostly share
    their times): by identity, which *values* keeps alive meanwhile, so equal values that
    differ (an instant in two time zones) are each processed."""
    done: dict[int, Any] = {}
    processed: list[Any] = []
    for value in values:
        key = id(value)
        if key in done:
            processed.append(done[key])
        else:
            done[key] = result = process(value)
            processed.append(result)
    return processed


def _plain_type(column: sa.Column[Any]) -> sa.types.TypeEngine[Any]:
    """*column*'s type as read from JSON: no collation, which the column applies on insert."""
    if isinstance(column.type, UtcDateTime):
        return sa.DateTime(timezone=True)
    if isinstance(column.type, sa.String):
        return sa.Text()
    return column.type
