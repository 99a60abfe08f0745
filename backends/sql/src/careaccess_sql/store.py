"""``SqlStore``: the careaccess Store on SQLite, PostgreSQL and MariaDB.

Reads are single statements. ``apply`` runs one transaction: it checks the
preconditions in order with locking reads (``FOR SHARE``/``FOR UPDATE`` on PostgreSQL,
``LOCK IN SHARE MODE``/``FOR UPDATE`` on MariaDB; SQLite's ``BEGIN IMMEDIATE``
serializes writers), writes with guarded statements whose row counts are checked,
takes the next event id from a counter row (so ids follow commit order and the feed
never skips an event), inserts the event and commits. A race that a lock cannot cover
(two inserts of the same absent key) ends in a unique-key violation; the transaction
is then retried and its precondition check reports the conflict.
``import_batch`` writes a whole batch the same way, with a fixed number of statements
and one block of event ids.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from attrs import frozen
from careaccess.errors import Conflict, InvalidRequest, StoreUnavailable
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Action, Approval, CaseType, Clinic, Event, Grant, ResidentAccess, ServiceArea
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest
from careaccess.serialization import converter
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    DecisionFacts,
    Delete,
    EventDraft,
    FactsRequest,
    GrantKey,
    ImportBatch,
    Key,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    Record,
    ResidentQuery,
    key_of,
)
from sqlalchemy.dialects import postgresql

from careaccess_sql import migrate
from careaccess_sql.driverquery import ConnectionLostError, DriverQuery
from careaccess_sql.engine import make_engines
from careaccess_sql.options import StoreOptions, parse_url
from careaccess_sql.reach import SqlReach
from careaccess_sql.schema import Tables, UtcDateTime, make_tables

__all__ = ["SqlStore"]

T = TypeVar("T")

_NO_FACTS = DecisionFacts(None, None, None, None)
_EVENT_ID = re.compile(r"[0-9]{16}")
# Lost unique-key races and deadlocks are retried this often before giving up.
_ATTEMPTS = 8
# PostgreSQL: serialization_failure, deadlock_detected.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})
# MariaDB (PyMySQL reports error numbers): deadlock found, lock wait timeout exceeded.
_RETRY_MARIADB_ERRORS = frozenset({1213, 1205})
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


class _RetryError(Exception):
    """The transaction lost a race the database caught; run it again."""


class _ReconnectError(Exception):
    """The connection died before COMMIT was sent; run the transaction again on a new one."""


def _unavailable(error: BaseException) -> StoreUnavailable:
    return StoreUnavailable(
        "store_unavailable",
        f"The database is unavailable ({type(error).__name__}); nothing was half-written. Try again later.",
        "Databasen går inte att nå; inget har sparats till hälften. Försök igen senare.",
    )


def _sqlstate(error: sa.exc.DBAPIError) -> str | None:
    state = getattr(error.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def _retryable(error: sa.exc.DBAPIError) -> bool:
    """A deadlock or similar: the transaction was rolled back and may simply run again."""
    if _sqlstate(error) in _RETRY_SQLSTATES:
        return True
    args: tuple[Any, ...] = getattr(error.orig, "args", ())
    return bool(args) and args[0] in _RETRY_MARIADB_ERRORS


def _json(data: Any) -> str | None:
    if data is None:
        return None
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _fold(name: str | None) -> str | None:
    return None if name is None else name.casefold()


def _like_pattern(text: str, *, anywhere: bool) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if anywhere else f"{escaped}%"


class SqlStore:
    """A :class:`~careaccess.store.Store` in a SQL database (SQLite, PostgreSQL or MariaDB).

    Build it with :meth:`open` from a store URL, e.g. ``sqlite:///careaccess.db``,
    ``sqlite://`` (in memory), ``postgresql+psycopg://user@host/db?prefix=app_`` or
    ``mariadb+pymysql://user@host/db``.
    Safe to share between threads; any number of processes may share one database.
    """

    def __init__(self, options: StoreOptions) -> None:
        self.options = options
        self._reader, self._writer = make_engines(options)
        #: The engine changes and migrations run on (reads may use another pool).
        self.engine = self._writer
        #: The engine single-statement reads run on, without a transaction.
        self.read_engine = self._reader
        self.tables: Tables = make_tables(options.prefix)
        self._reach = SqlReach.of(self.tables, options.prefix, self._clinic)
        #: Which SQL this store speaks beyond the common core: "sqlite", "postgresql" or "mariadb".
        self.flavour = "mariadb" if options.is_mariadb else self._writer.dialect.name
        # In-memory SQLite is one shared connection: operations must not interleave.
        self._serial: contextlib.AbstractContextManager[object] = (
            threading.RLock() if options.is_memory else contextlib.nullcontext()
        )
        self._service_areas: dict[str, ServiceArea] = {}
        # Stored values -> the immutable record they make, so a decision builds neither anew.
        self._case_types: dict[tuple[str, str, str, bool], CaseType] = {}
        self._build_statements()
        # The decision reads, the hot path, run on the driver directly (see driverquery).
        self._facts_query = DriverQuery(self._reader, self._load_facts, self._serial)
        self._facts_many_query = DriverQuery(self._reader, self._load_facts_many, self._serial)
        self._driver_error: type[Exception] = self._reader.dialect.loaded_dbapi.Error
        _forget_connections_in_forked_children(self)

    @classmethod
    def open(cls, url: str, *, create: bool | None = None) -> SqlStore:
        """Open the store a URL names, checking (or with *create*, creating) its schema.

        :param create: overrides the URL's ``create`` option.
        :raises SchemaMismatch: the schema is missing, out of date or too new.
        :raises StoreUnavailable: the database cannot be reached.
        """
        options = parse_url(url)
        store = cls(options)
        try:
            store._prepare(options.create if create is None else create)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self, create: bool | None) -> None:
        with self._guard():
            if create:
                self.upgrade()
                return
            with self._reader.connect() as connection:
                new = migrate.current_revision(connection, self.options.prefix) is None
                if create is None and self.options.is_sqlite and new:
                    connection.close()
                    self.upgrade()  # a new embedded database gets its schema
                    return
                migrate.check_schema(connection, self.options.prefix, self.options.display_url)

    def upgrade(self, revision: str = "head") -> tuple[str | None, str | None]:
        """Create or migrate the schema; returns the (from, to) revisions."""
        with (
            self._guard(),
            migrate.exclusive(self._reader, self.options.prefix),
            self._writer.connect() as connection,
            connection.begin(),
        ):
            if self.options.schema is not None:
                connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.options.schema}"'))
            return migrate.upgrade(connection, self.options.prefix, revision)

    def close(self) -> None:
        """Release every pooled connection (an in-memory database is gone afterwards)."""
        self._reader.dispose()
        self._writer.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({self.options.display_url!r})"

    # -- statements --------------------------------------------------------------------

    def _build_statements(self) -> None:
        t = self.tables
        c, ct, a, g, e = t.clinics, t.case_types, t.approvals, t.grants, t.events
        bp = sa.bindparam
        self._clinic_cols = [c.c.name, c.c.service_area]
        self._case_type_cols = [ct.c.id, ct.c.name, ct.c.restricted]
        self._approval_cols = [a.c.pnr, a.c.name, a.c.approved_at, a.c.approved_by]
        self._grant_cols = [
            g.c.case_type_id,
            g.c.until,
            g.c.version,
            g.c.granted_at,
            g.c.granted_by,
            g.c.changed_at,
            g.c.name,
        ]
        facts_cols = [*self._clinic_cols, *self._case_type_cols, *self._approval_cols, *self._grant_cols]

        self._get_clinic = sa.select(c.c.id, *self._clinic_cols).where(c.c.id == bp("clinic_id"))
        self._list_case_types = (
            sa.select(ct.c.clinic_id, ct.c.id, ct.c.name, ct.c.restricted)
            .where(ct.c.clinic_id == bp("clinic_id"))
            .order_by(ct.c.id)
        )
        # One decision: every fact by primary key, in one statement.
        self._load_facts = (
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
        self._load_facts_many = sa.select(req.c.i, *facts_cols).select_from(
            req.outerjoin(c, c.c.id == req.c.clinic_id)
            .outerjoin(ct, sa.and_(ct.c.clinic_id == req.c.clinic_id, ct.c.id == req.c.case_type_id))
            .outerjoin(a, sa.and_(a.c.clinic_id == req.c.clinic_id, a.c.pnr == req.c.pnr))
            .outerjoin(
                g,
                sa.and_(g.c.clinic_id == req.c.clinic_id, g.c.pnr == req.c.pnr, g.c.case_type_id == req.c.case_type_id),
            )
        )
        self._listings: dict[tuple[bool, bool, bool, bool], sa.Select[Any]] = {}

        self._events_all = sa.select(e).where(e.c.id > bp("after")).order_by(e.c.id).limit(bp("limit"))
        self._events_of = (
            sa.select(e)
            .where(e.c.clinic_id == bp("clinic_id"), e.c.id > bp("after"))
            .order_by(e.c.id)
            .limit(bp("limit"))
        )
        counter = t.event_counter
        # Takes a block of "count" ids at once; returns the last of them.
        last = counter.c.last_event_id + bp("count", type_=sa.BigInteger)
        bump = counter.update().where(counter.c.id == 1)
        self._next_event_id: tuple[sa.Executable, ...]
        if self.flavour == "mariadb":
            # No UPDATE ... RETURNING: LAST_INSERT_ID(expr) hands the value back with the row count.
            self._next_event_id = (bump.values(last_event_id=sa.func.last_insert_id(last)),)
        elif self.engine.dialect.update_returning:
            self._next_event_id = (bump.values(last_event_id=last).returning(counter.c.last_event_id),)
        else:  # pragma: no cover - SQLite before 3.35 cannot return from UPDATE
            read_back = sa.select(counter.c.last_event_id).where(counter.c.id == 1)
            self._next_event_id = (bump.values(last_event_id=last), read_back)
        self._insert_event = e.insert()
        self._build_import_statements()

    def _build_import_statements(self) -> None:
        """The statements of a bulk import: a few checks and one insert per table."""
        t = self.tables
        c, ct, a, g = t.clinics, t.case_types, t.approvals, t.grants
        bp = sa.bindparam
        # Shared locks keep the clinic and the case types as checked until commit.
        self._import_clinic = sa.select(c.c.id).where(c.c.id == bp("clinic_id")).with_for_update(read=True)
        self._import_case_types = (
            sa.select(ct.c.id, ct.c.restricted)
            .where(ct.c.clinic_id == bp("clinic_id"), ct.c.id.in_(bp("case_type_ids", expanding=True)))
            .with_for_update(read=True)
        )
        self._import_approvals_stored = self._stored_of(a, a.c.pnr)
        self._import_grants_stored = self._stored_of(g, g.c.pnr, g.c.case_type_id)
        self._bulk_inserts: dict[str, sa.Insert] = {}
        self._driver_inserts: dict[str, _DriverInsert] = {}
        for table in (a, g, t.events):
            if self.flavour == "postgresql":
                self._bulk_inserts[table.name] = self._recordset_insert(table)
            else:
                self._driver_inserts[table.name] = _DriverInsert.of(table, self.engine.dialect)

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

    def _request_table(self) -> sa.Subquery | sa.TableValuedAlias:
        """The batch of a decide_many as a table (i, pnr, clinic_id, case_type_id), bound as one parameter."""
        if self.flavour == "mariadb":
            text = sa.text(_MARIADB_REQUESTS).bindparams(sa.bindparam("batch", type_=sa.Text))
            return text.columns(i=sa.Integer, pnr=sa.Text, clinic_id=sa.Text, case_type_id=sa.Text).subquery("req")
        if self.flavour == "postgresql":
            text_array = postgresql.ARRAY(sa.Text)
            return (
                sa.func.unnest(
                    sa.bindparam("pnrs", type_=text_array),
                    sa.bindparam("clinic_ids", type_=text_array),
                    sa.bindparam("case_type_ids", type_=text_array),
                )
                .table_valued("pnr", "clinic_id", "case_type_id", with_ordinality="i")
                .render_derived(name="req")
            )
        items = sa.func.json_each(sa.bindparam("batch", type_=sa.Text)).table_valued("key", "value")
        return sa.select(
            items.c.key.label("i"),
            sa.func.json_extract(items.c.value, "$[0]").label("pnr"),
            sa.func.json_extract(items.c.value, "$[1]").label("clinic_id"),
            sa.func.json_extract(items.c.value, "$[2]").label("case_type_id"),
        ).subquery("req")

    def _listing(self, *, exact: bool, after: bool, prefix: bool, name: bool) -> sa.Select[Any]:
        """Residents (approved or granted) of one clinic with their approval and grants, by pnr."""
        key = (exact, after, prefix, name)
        statement = self._listings.get(key)
        if statement is not None:
            return statement
        a, g = self.tables.approvals, self.tables.grants
        bp = sa.bindparam
        limit = bp("limit", type_=sa.Integer)

        def candidates(table: sa.Table) -> sa.Subquery:
            where: list[sa.ColumnElement[bool]] = [table.c.clinic_id == bp("clinic_id")]
            if exact:
                where.append(table.c.pnr == bp("pnr"))
            if after:
                where.append(table.c.pnr > bp("after"))
            if prefix:
                pattern: sa.BindParameter[str] = bp("prefix_pattern", type_=sa.String)
                where.append(
                    sa.or_(
                        table.c.pnr.like(pattern, escape="\\"),
                        sa.func.substr(table.c.pnr, 3).like(pattern, escape="\\"),
                    )
                )
            if name:
                where.append(table.c.name_folded.like(bp("name_pattern"), escape="\\"))
            # Each side is a keyset range scan of its (clinic_id, pnr) key, cut at the page size.
            return sa.select(table.c.pnr).distinct().where(*where).order_by(table.c.pnr).limit(limit).subquery()

        from_approvals, from_grants = candidates(a), candidates(g)
        either = sa.union(sa.select(from_approvals.c.pnr), sa.select(from_grants.c.pnr)).subquery()
        page = sa.select(either.c.pnr).order_by(either.c.pnr).limit(limit).subquery("page")
        statement = (
            sa.select(page.c.pnr, *self._approval_cols, *self._grant_cols)
            .select_from(
                page.outerjoin(a, sa.and_(a.c.clinic_id == bp("clinic_id"), a.c.pnr == page.c.pnr)).outerjoin(
                    g, sa.and_(g.c.clinic_id == bp("clinic_id"), g.c.pnr == page.c.pnr)
                )
            )
            .order_by(page.c.pnr, g.c.case_type_id)
        )
        self._listings[key] = statement
        return statement

    # -- running -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Database connection failures become StoreUnavailable."""
        try:
            yield
        except (sa.exc.DBAPIError, sa.exc.DisconnectionError, sa.exc.TimeoutError) as error:
            raise _unavailable(error) from error

    def _read(self, run: Callable[[sa.Connection], T]) -> T:
        """Run a read; a connection found dead (e.g. after a server restart) is replaced once."""
        for attempt in range(2):
            try:
                with self._serial, self._reader.connect() as connection:
                    return run(connection)
            except (sa.exc.DBAPIError, sa.exc.DisconnectionError, sa.exc.TimeoutError) as error:
                if attempt == 0 and isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
                    continue
                raise _unavailable(error) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def driver_queries(self) -> tuple[DriverQuery, ...]:
        """The reads that run on the driver directly, bypassing SQLAlchemy's cursor events."""
        return (self._facts_query, self._facts_many_query)

    def _driver_read(self, run: Callable[[dict[str, Any]], T], params: dict[str, Any]) -> T:
        """Like :meth:`_read`, for a :class:`DriverQuery`'s ``first`` or ``all``."""
        for attempt in range(2):
            try:
                return run(params)
            except ConnectionLostError as lost:
                if attempt == 0:
                    continue  # the dead connection left the pool; the next one is fresh
                raise _unavailable(lost.error) from lost.error
            except (sa.exc.SQLAlchemyError, self._driver_error) as error:  # no connection, pool timeout, ...
                raise _unavailable(error) from error
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reads -------------------------------------------------------------------------

    def _clinic(self, clinic_id: str, name: str, service_area: str) -> Clinic:
        area = self._service_areas.get(service_area)
        if area is None:
            area = converter.structure(json.loads(service_area), ServiceArea)
            if len(self._service_areas) > 4096:  # bound the cache; clinics are few
                self._service_areas.clear()
            self._service_areas[service_area] = area
        return Clinic(clinic_id, name, area)

    @staticmethod
    def _approval(clinic_id: str, pnr: PersonalIdentityNumber, row: Sequence[Any], at: int) -> Approval | None:
        if row[at] is None:
            return None
        return Approval(clinic_id, pnr, row[at + 1], row[at + 2], row[at + 3])

    @staticmethod
    def _grant(clinic_id: str, pnr: PersonalIdentityNumber, row: Sequence[Any], at: int) -> Grant | None:
        if row[at] is None:
            return None
        return Grant(
            clinic_id, pnr, row[at], row[at + 1], row[at + 2], row[at + 3], row[at + 4], row[at + 5], row[at + 6]
        )

    def _facts(self, request: FactsRequest, row: Sequence[Any], at: int) -> DecisionFacts:
        """Facts from the columns of one row starting at *at* (clinic, case type, approval, grant)."""
        if row[at] is None:
            return _NO_FACTS
        clinic = self._clinic(request.clinic_id, row[at], row[at + 1])
        if row[at + 2] is None:
            return DecisionFacts(clinic, None, None, None)
        case_type = self._case_type(request.clinic_id, row[at + 2], row[at + 3], bool(row[at + 4]))
        # Only the record the decision reads (DecisionFacts allows leaving the other out):
        # the grant for a restricted case type, the approval for an open one.
        column = at + 9 if case_type.restricted else at + 5
        if row[column] is None:
            return DecisionFacts(clinic, case_type, None, None)
        pnr = request.person if request.person is not None else PersonalIdentityNumber.from_digits(request.pnr)
        if case_type.restricted:
            return DecisionFacts(clinic, case_type, None, self._grant(request.clinic_id, pnr, row, column))
        return DecisionFacts(clinic, case_type, self._approval(request.clinic_id, pnr, row, column), None)

    def _case_type(self, clinic_id: str, case_type_id: str, name: str, restricted: bool) -> CaseType:
        key = (clinic_id, case_type_id, name, restricted)
        case_type = self._case_types.get(key)
        if case_type is None:
            case_type = CaseType(clinic_id, case_type_id, name, restricted)
            if len(self._case_types) > 16384:  # bound the cache; case types are few
                self._case_types.clear()
            self._case_types[key] = case_type
        return case_type

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        params = {"clinic_id": request.clinic_id, "case_type_id": request.case_type_id, "pnr": request.pnr}
        row = self._driver_read(self._facts_query.first, params)
        return _NO_FACTS if row is None else self._facts(request, row, 0)

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        if not requests:
            return []
        params: dict[str, Any]
        if self.flavour == "postgresql":
            params = {
                "pnrs": [r.pnr for r in requests],
                "clinic_ids": [r.clinic_id for r in requests],
                "case_type_ids": [r.case_type_id for r in requests],
            }
            base = 1  # WITH ORDINALITY counts from 1
        else:
            params = {"batch": json.dumps([[r.pnr, r.clinic_id, r.case_type_id] for r in requests])}
            # SQLite's json_each keys count from 0, MariaDB's FOR ORDINALITY from 1.
            base = 1 if self.flavour == "mariadb" else 0
        rows = self._driver_read(self._facts_many_query.all, params)
        facts: list[DecisionFacts] = [_NO_FACTS] * len(requests)
        for row in rows:
            index = int(row[0]) - base
            facts[index] = self._facts(requests[index], row, 1)
        return facts

    def get_clinic(self, clinic_id: str) -> Clinic | None:
        row = self._read(lambda connection: connection.execute(self._get_clinic, {"clinic_id": clinic_id}).first())
        return None if row is None else self._clinic(row[0], row[1], row[2])

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        rows = self._read(lambda connection: connection.execute(self._list_case_types, {"clinic_id": clinic_id}).all())
        return [CaseType(row[0], row[1], row[2], bool(row[3])) for row in rows]

    def _residents(self, clinic_id: str, rows: Sequence[Sequence[Any]]) -> list[ResidentAccess]:
        listed: list[ResidentAccess] = []
        current: str | None = None
        pnr: PersonalIdentityNumber | None = None
        approval: Approval | None = None
        grants: list[Grant] = []
        for row in rows:
            if row[0] != current:
                if pnr is not None:
                    listed.append(ResidentAccess.of(pnr, approval, grants))
                current = row[0]
                pnr = PersonalIdentityNumber.from_digits(row[0])
                approval = self._approval(clinic_id, pnr, row, 1)
                grants = []
            assert pnr is not None
            grant = self._grant(clinic_id, pnr, row, 5)
            if grant is not None:
                grants.append(grant)
        if pnr is not None:
            listed.append(ResidentAccess.of(pnr, approval, grants))
        return listed

    def resident_access(self, clinic_id: str, pnr: str) -> ResidentAccess | None:
        statement = self._listing(exact=True, after=False, prefix=False, name=False)
        params = {"clinic_id": clinic_id, "pnr": pnr, "limit": 1}
        rows = self._read(lambda connection: connection.execute(statement, params).all())
        listed = self._residents(clinic_id, rows)
        return listed[0] if listed else None

    def page_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        statement = self._listing(
            exact=False,
            after=query.after is not None,
            prefix=query.digits_prefix is not None,
            name=query.name_contains is not None,
        )
        params: dict[str, Any] = {"clinic_id": query.clinic_id, "limit": query.limit}
        if query.after is not None:
            params["after"] = query.after
        if query.digits_prefix is not None:
            params["prefix_pattern"] = _like_pattern(query.digits_prefix, anywhere=False)
        if query.name_contains is not None:
            params["name_pattern"] = _like_pattern(query.name_contains.casefold(), anywhere=True)
        rows = self._read(lambda connection: connection.execute(statement, params).all())
        return self._residents(query.clinic_id, rows)

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        if after is not None and not _EVENT_ID.fullmatch(after):
            raise InvalidRequest(
                "invalid_cursor",
                "The event cursor is not an event id of this store.",
                "Markören är inte ett händelse-id från den här lagringen.",
            )
        params: dict[str, Any] = {"after": 0 if after is None else int(after), "limit": limit}
        if clinic_id is None:
            statement = self._events_all
        else:
            statement = self._events_of
            params["clinic_id"] = clinic_id
        rows = self._read(lambda connection: connection.execute(statement, params).all())
        return [self._event(row) for row in rows]

    @staticmethod
    def _event(row: Any) -> Event:
        return Event(
            f"{row.id:016d}",
            row.at,
            row.actor_id,
            Action(row.action),
            row.clinic_id,
            None if row.pnr is None else PersonalIdentityNumber.from_digits(row.pnr),
            row.case_type_id,
            None if row.before_data is None else json.loads(row.before_data),
            None if row.after_data is None else json.loads(row.after_data),
        )

    # -- writes ------------------------------------------------------------------------

    def apply(self, changeset: Changeset) -> Event:
        """Check the preconditions, write, and append the event, in one transaction.

        :raises Conflict: the first failing precondition's; nothing written.
        :raises StoreUnavailable: the database failed; the change is either fully
            committed with its event or not at all (a failure during COMMIT cannot say which).
        """
        return self._transact(lambda connection: self._apply_in(connection, changeset))

    def _apply_in(self, connection: sa.Connection, changeset: Changeset) -> Event:
        self._check(connection, changeset)
        self._write(connection, changeset)
        event_id = self._append(connection, changeset.event)
        return changeset.event.with_id(f"{event_id:016d}")

    def _transact(self, work: Callable[[sa.Connection], T]) -> T:
        """Run *work* in one write transaction and commit it.

        A lost unique-key race or a deadlock runs *work* again (its checks then see the
        winner); a connection that died before COMMIT runs it once more on a new one.
        """
        reconnects = 1
        last: BaseException | None = None
        for _ in range(_ATTEMPTS):
            try:
                return self._transact_once(work)
            except _RetryError as retry:
                last = retry.__cause__
            except _ReconnectError as dead:
                if reconnects == 0 or dead.__cause__ is None:
                    raise _unavailable(dead) from dead.__cause__
                reconnects -= 1
        if isinstance(last, sa.exc.IntegrityError):
            # Every precondition held, yet a key or reference refused the writes each time.
            raise Conflict(
                "constraint_violated",
                "The change breaks a key or reference the database enforces; nothing was written.",
                "Ändringen bryter mot en nyckel eller referens i databasen; inget sparades.",
            ) from None  # the database's message quotes the row, identity number included
        raise Conflict(
            "concurrent_change",
            "The change kept clashing with concurrent changes; reload and try again.",
            "Ändringen krockade gång på gång med samtidiga ändringar; ladda om och försök igen.",
        ) from last

    def _transact_once(self, work: Callable[[sa.Connection], T]) -> T:
        committing = False
        try:
            with self._serial, self._writer.connect() as connection:
                transaction = connection.begin()
                try:
                    result = work(connection)
                except BaseException:
                    transaction.rollback()
                    raise
                committing = True
                transaction.commit()
                return result
        except sa.exc.IntegrityError as error:
            raise _RetryError from error  # a racing writer inserted first; the next check sees it
        except (sa.exc.DBAPIError, sa.exc.DisconnectionError, sa.exc.TimeoutError) as error:
            if not committing and isinstance(error, sa.exc.DBAPIError):
                if _retryable(error):
                    raise _RetryError from error
                if error.connection_invalidated:
                    # The transaction never reached COMMIT, so it left nothing: safe to run again.
                    raise _ReconnectError from error
            raise _unavailable(error) from error

    # The tables and key columns of each key type.
    def _where(self, key: Key) -> tuple[sa.Table, sa.ColumnElement[bool]]:
        t = self.tables
        if isinstance(key, ClinicKey):
            return t.clinics, t.clinics.c.id == key.clinic_id
        if isinstance(key, CaseTypeKey):
            table = t.case_types
            return table, sa.and_(table.c.clinic_id == key.clinic_id, table.c.id == key.case_type_id)
        if isinstance(key, ApprovalKey):
            table = t.approvals
            return table, sa.and_(table.c.clinic_id == key.clinic_id, table.c.pnr == key.pnr)
        table = t.grants
        return table, sa.and_(
            table.c.clinic_id == key.clinic_id, table.c.pnr == key.pnr, table.c.case_type_id == key.case_type_id
        )

    def _locked(self, connection: sa.Connection, key: Key, column: str, *, exclusive: bool) -> Any:
        """The *column* of the row under *key*, locked until commit; ``_MISSING`` when absent."""
        table, where = self._where(key)
        statement = sa.select(table.c[column]).where(where).with_for_update(read=not exclusive)
        row = connection.execute(statement).first()
        return _MISSING if row is None else row[0]

    def _check(self, connection: sa.Connection, changeset: Changeset) -> None:
        written = {key_of(w.record) if isinstance(w, Put) else w.key for w in changeset.writes}
        for precondition in changeset.preconditions:
            if not self._holds(connection, precondition, written):
                raise precondition.conflict()

    def _holds(self, connection: sa.Connection, precondition: Precondition, written: set[Key]) -> bool:
        key = precondition.key
        if isinstance(precondition, MustExist | MustBeAbsent):
            first_column = self._where(key)[0].primary_key.columns.values()[0].name
            found = self._locked(connection, key, first_column, exclusive=key in written)
            return (found is not _MISSING) == isinstance(precondition, MustExist)
        if isinstance(precondition, MustHaveVersion):
            return bool(self._locked(connection, key, "version", exclusive=True) == precondition.version)
        if isinstance(precondition, CaseTypeRestricted):
            restricted = self._locked(connection, key, "restricted", exclusive=key in written)
            return restricted is not _MISSING and bool(restricted)
        # CaseTypeUnused: lock the case type against new grants (their key-share lock
        # conflicts with this), then look for grants committed before the lock was ours.
        assert isinstance(precondition, CaseTypeUnused)
        case_type = precondition.key
        self._locked(connection, case_type, "id", exclusive=True)
        grants = self.tables.grants
        in_use = connection.execute(
            sa.select(grants.c.version)
            .where(grants.c.clinic_id == case_type.clinic_id, grants.c.case_type_id == case_type.case_type_id)
            .limit(1)
        ).first()
        return in_use is None

    def _write(self, connection: sa.Connection, changeset: Changeset) -> None:
        absent = {p.key for p in changeset.preconditions if isinstance(p, MustBeAbsent)}
        versions: dict[Key, MustHaveVersion] = {
            p.key: p for p in changeset.preconditions if isinstance(p, MustHaveVersion)
        }
        for write in changeset.writes:
            key = key_of(write.record) if isinstance(write, Put) else write.key
            table, where = self._where(key)
            guard = versions.get(key)
            if guard is not None:
                where = sa.and_(where, self.tables.grants.c.version == guard.version)
            if isinstance(write, Delete):
                if isinstance(key, ClinicKey):
                    self._delete_clinic(connection, key.clinic_id)
                    continue
                deleted = connection.execute(table.delete().where(where)).rowcount
                if guard is not None and deleted != 1:
                    raise guard.conflict()
                continue
            values = self._row(write.record)
            if key in absent:
                connection.execute(table.insert().values(values))  # a racing insert fails on the key
                continue
            updated = connection.execute(table.update().where(where).values(values)).rowcount
            if guard is not None and updated != 1:
                raise guard.conflict()
            if updated == 0:
                connection.execute(table.insert().values(values))
        self._reach.written(connection, changeset.writes)

    def _delete_clinic(self, connection: sa.Connection, clinic_id: str) -> None:
        t = self.tables
        for table in (t.grants, t.approvals, t.case_types):
            connection.execute(table.delete().where(table.c.clinic_id == clinic_id))
        self._reach.forget(connection, clinic_id)
        connection.execute(t.clinics.delete().where(t.clinics.c.id == clinic_id))

    @staticmethod
    def _row(record: Record) -> dict[str, Any]:
        if isinstance(record, Clinic):
            area = _json(converter.unstructure(record.service_area))
            return {"id": record.id, "name": record.name, "service_area": area}
        if isinstance(record, CaseType):
            return {
                "clinic_id": record.clinic_id,
                "id": record.id,
                "name": record.name,
                "restricted": record.restricted,
            }
        if isinstance(record, Approval):
            return {
                "clinic_id": record.clinic_id,
                "pnr": record.pnr.digits,
                "name": record.name,
                "name_folded": _fold(record.name),
                "approved_at": record.approved_at,
                "approved_by": record.approved_by,
            }
        return {
            "clinic_id": record.clinic_id,
            "pnr": record.pnr.digits,
            "case_type_id": record.case_type_id,
            "until": record.until,
            "version": record.version,
            "granted_at": record.granted_at,
            "granted_by": record.granted_by,
            "changed_at": record.changed_at,
            "name": record.name,
            "name_folded": _fold(record.name),
        }

    def _append(self, connection: sa.Connection, draft: EventDraft) -> int:
        """Insert the event under the next id; the counter row stays locked until commit."""
        event_id = self._take_event_ids(connection, 1)
        connection.execute(self._insert_event, {"id": event_id, **self._event_row(draft)})
        return event_id

    def _take_event_ids(self, connection: sa.Connection, count: int) -> int:
        """Reserve the next *count* event ids; returns the last. The counter row stays locked until commit."""
        result = connection.execute(self._next_event_id[0], {"count": count})
        if self.flavour == "mariadb":
            return int(result.lastrowid)
        if len(self._next_event_id) > 1:  # pragma: no cover - see _build_statements
            result = connection.execute(self._next_event_id[1])
        return int(result.scalar_one())

    @staticmethod
    def _event_row(draft: EventDraft) -> dict[str, Any]:
        return {
            "at": draft.at,
            "actor_id": draft.actor_id,
            "action": draft.action.value,
            "clinic_id": draft.clinic_id,
            "pnr": None if draft.pnr is None else draft.pnr.digits,
            "case_type_id": draft.case_type_id,
            "before_data": _json(draft.before),
            "after_data": _json(draft.after),
        }

    # -- bulk import -------------------------------------------------------------------

    def import_batch(self, batch: ImportBatch) -> list[Event]:
        """Write a batch of new approvals and grants with their events, in one transaction.

        The checks are a handful of statements whatever the batch's size; each table's
        rows go in with one statement (PostgreSQL: ``INSERT ... SELECT`` from
        ``json_to_recordset`` of one JSON parameter; SQLite: the driver's executemany); the
        events take one block of ids from the counter row, which stays locked until
        commit, so ids follow commit order as :meth:`apply`'s do. An ``apply`` that
        inserts one of the batch's keys first makes the insert fail; the import then
        runs again and reports that key's conflict.

        :returns: the stored events, in the order of ``batch.events``.
        :raises Conflict: ``clinic_missing``, ``case_type_not_restricted``,
            ``approval_exists`` or ``grant_exists``, the first that fails; nothing written.
        :raises StoreUnavailable: as for :meth:`apply`.
        """
        approvals = [self._row(r) for r in batch.records if isinstance(r, Approval)]
        grants = [self._row(r) for r in batch.records if isinstance(r, Grant)]
        events = [self._event_row(draft) for draft in batch.events]
        last = self._transact(lambda connection: self._import_in(connection, batch, approvals, grants, events))
        first = last - len(batch.events) + 1
        return [draft.with_id(f"{first + i:016d}") for i, draft in enumerate(batch.events)]

    def _import_in(
        self,
        connection: sa.Connection,
        batch: ImportBatch,
        approvals: list[dict[str, Any]],
        grants: list[dict[str, Any]],
        events: list[dict[str, Any]],
    ) -> int:
        """Check and write the batch; returns the last event id taken."""
        clinic_id = batch.clinic_id
        if connection.execute(self._import_clinic, {"clinic_id": clinic_id}).first() is None:
            raise MustExist(ClinicKey(clinic_id)).conflict()
        case_type_ids = batch.case_type_ids()
        if case_type_ids:
            params = {"clinic_id": clinic_id, "case_type_ids": case_type_ids}
            restricted = {row[0]: bool(row[1]) for row in connection.execute(self._import_case_types, params)}
            for case_type_id in case_type_ids:
                if not restricted.get(case_type_id, False):
                    raise CaseTypeRestricted(CaseTypeKey(clinic_id, case_type_id)).conflict()
        stored: set[Key] = set()
        if approvals:
            params = {"clinic_id": clinic_id, "pnrs": json.dumps([row["pnr"] for row in approvals])}
            stored.update(
                ApprovalKey(clinic_id, row[0]) for row in connection.execute(self._import_approvals_stored, params)
            )
        if grants:
            params = {"clinic_id": clinic_id, "pnrs": json.dumps(sorted({row["pnr"] for row in grants}))}
            rows = connection.execute(self._import_grants_stored, params)
            stored.update(GrantKey(clinic_id, row[0], row[1]) for row in rows)
        if stored:
            for record in batch.records:
                key = key_of(record)
                if key in stored:
                    raise batch.conflict_for(key)
        self._insert_rows(connection, self.tables.approvals, approvals)
        self._insert_rows(connection, self.tables.grants, grants)
        if not events:
            return 0  # nothing to append: leave the counter row unlocked
        # Taken last, so the counter row is locked only while the events go in.
        last = self._take_event_ids(connection, len(events))
        first = last - len(events) + 1
        for offset, row in enumerate(events):
            row["id"] = first + offset
        self._insert_rows(connection, self.tables.events, events)
        return last

    def _insert_rows(self, connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert every row with one statement (a racing insert of the same key fails on it)."""
        if not rows:
            return
        statement = self._bulk_inserts.get(table.name)
        if statement is not None:
            text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_iso)
            connection.execute(statement, {"rows": text})
            return
        driver = self._driver_inserts.get(table.name)
        if driver is None:  # pragma: no cover - every bulk-inserted table has one or the other
            connection.execute(table.insert(), rows)
            return
        connection.exec_driver_sql(driver.sql, driver.parameters(rows))

    # -- the resident's side (ReachStore, see careaccess_sql.reach) ----------------------

    def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        """One page of the clinic directory by id, filtered in the database."""
        statement, params = self._reach.list_statement(query)
        return self._reach.clinics_of(self._read(lambda connection: connection.execute(statement, params).all()))

    def load_reach(self, request: ReachRequest) -> ReachFacts:
        """The resident's candidate clinics and facts, in one statement."""
        statement, params = self._reach.reach_statement(request)
        rows = self._read(lambda connection: connection.execute(statement, params).all())
        return self._reach.facts_of(request, rows)


@frozen
class _DriverInsert:
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

    @classmethod
    def of(cls, table: sa.Table, dialect: sa.Dialect) -> _DriverInsert:
        compiled = table.insert().compile(dialect=dialect)
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
        if sorted(names) != sorted(table.columns.keys()):  # pragma: no cover - an INSERT binds every column
            raise TypeError(f"expected an INSERT of every column of {table.name}, got {compiled}")
        processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
        return cls(str(compiled), names, processors, compiled.positional)

    def parameters(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]] | list[dict[str, Any]]:
        columns: list[list[Any]] = []
        for name, process in zip(self.names, self.processors, strict=True):
            values = [row[name] for row in rows]
            columns.append(values if process is None else [process(value) for value in values])
        if self.positional:
            return list(zip(*columns, strict=True))
        return [dict(zip(self.names, values, strict=True)) for values in zip(*columns, strict=True)]


def _iso(value: object) -> str:
    """Dates and aware datetimes in JSON, as PostgreSQL reads them (ISO 8601 with the offset)."""
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _plain_type(column: sa.Column[Any]) -> sa.types.TypeEngine[Any]:
    """*column*'s type as read from JSON: no collation, which the column applies on insert."""
    if isinstance(column.type, UtcDateTime):
        return sa.DateTime(timezone=True)
    if isinstance(column.type, sa.String):
        return sa.Text()
    return column.type


_MISSING: Any = object()


def _forget_connections_in_forked_children(store: SqlStore) -> None:
    """After a fork, the child starts new pools and leaves the parent's connections alone.

    A connection inherited by a child shares its socket with the parent: both would read
    each other's replies. ``dispose(close=False)`` drops the pools without closing what
    the parent still uses. The store is held weakly, so this keeps no store alive.
    """
    ref = weakref.ref(store)

    def forget() -> None:
        alive = ref()
        if alive is not None:
            alive.engine.dispose(close=False)
            alive.read_engine.dispose(close=False)

    os.register_at_fork(after_in_child=forget)
