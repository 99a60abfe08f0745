"""``SqlStore``: the careaccess Store on SQLite, PostgreSQL and MariaDB.

The store wires four parts together: :mod:`~careaccess_sql.statements` (the SQL),
:mod:`~careaccess_sql.rows` (rows to records and back),
:mod:`~careaccess_sql.transactions` (running reads and write transactions, retries,
errors) and :mod:`~careaccess_sql.writes` (what a write transaction does). Reads are
single statements; the decision reads run on the driver directly
(:mod:`~careaccess_sql.driverquery`). ``apply`` runs one transaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from careaccess.errors import InvalidRequest
from careaccess.models import CaseType, Clinic, Event, ResidentAccess
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest
from careaccess.store import Changeset, DecisionFacts, FactsRequest, ResidentQuery

from careaccess_sql import migrate
from careaccess_sql.driverquery import DriverQuery
from careaccess_sql.engine import make_engines
from careaccess_sql.namesearch import IndexingWriter, NameSearch
from careaccess_sql.options import StoreOptions, parse_url
from careaccess_sql.reach import SqlReach
from careaccess_sql.rows import NO_FACTS, FactsReader, clinic_of, event_of, like_pattern, residents_of
from careaccess_sql.schema import Tables, UtcDateTime, make_tables
from careaccess_sql.searchindex import TAIL_SIZE
from careaccess_sql.statements import Statements, prefix_range
from careaccess_sql.transactions import Runner
from careaccess_sql.writes import Prepared

__all__ = ["SqlStore"]

_EVENT_ID = re.compile(r"[0-9]{16}")
#: A decide_many's batch as JSON text (one encoder, built once: ``json.dumps`` builds one per call).
_dumps = json.JSONEncoder(separators=(",", ":")).encode


class SqlStore:
    """A :class:`~careaccess.store.Store` in a SQL database (SQLite, PostgreSQL or MariaDB).

    Build it with :meth:`open` from a store URL, e.g. ``sqlite:///careaccess.db``,
    ``sqlite://`` (in memory), ``postgresql+psycopg://user@host/db?prefix=app_`` or
    ``mariadb+pymysql://user@host/db``.
    Safe to share between threads; any number of processes may share one database.

    :param engines: the (read, write) engines to use instead of new ones (the asyncio
        store passes its engines' synchronous faces, see :mod:`careaccess_sql.aio`).
    """

    def __init__(self, options: StoreOptions, *, engines: tuple[sa.Engine, sa.Engine] | None = None) -> None:
        self.options = options
        self._reader, self._writer = make_engines(options) if engines is None else engines
        #: The engine changes and migrations run on (reads may use another pool).
        self.engine = self._writer
        #: The engine single-statement reads run on, without a transaction.
        self.read_engine = self._reader
        self.tables: Tables = make_tables(options.prefix)
        #: Which SQL this store speaks beyond the common core: "sqlite", "postgresql" or "mariadb".
        self.flavour = "mariadb" if options.is_mariadb else self._writer.dialect.name
        # In-memory SQLite is one shared connection: operations must not interleave.
        self._serial: contextlib.AbstractContextManager[object] = (
            threading.RLock() if options.is_memory else contextlib.nullcontext()
        )
        self._cursor_key: bytes | None = None
        self._statements = Statements(self.tables, self.flavour, self._writer.dialect)
        self._runner = Runner(self._reader, self._writer, self._serial)
        self._reach = SqlReach.of(self.tables, options.prefix, clinic_of)
        self._writes = IndexingWriter(self._statements, self._reach, self.tables.name_grams)
        self._names = NameSearch(self._statements, self.tables.name_grams)
        # The decision reads, the hot path, run on the driver directly (see driverquery).
        self._facts_query = DriverQuery(self._reader, self._statements.load_facts, self._serial, binary=True)
        self._facts_many_query = DriverQuery(self._reader, self._statements.load_facts_many, self._serial, binary=True)
        # Their rows as the driver returns them, each value converted only if a record uses it.
        # (The three instants of the facts rows are UtcDateTime columns, whose SQLite text has a fast reader.)
        sqlite = self.flavour == "sqlite" and all(
            isinstance(column.type, UtcDateTime) for column in self._statements.instant_columns
        )
        self._facts_of = FactsReader(self._facts_query.processors, 0, self._facts_query.types, sqlite_instants=sqlite)
        self._facts_of_many = FactsReader(
            self._facts_many_query.processors, 1, self._facts_many_query.types, sqlite_instants=sqlite
        )
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
        with self._runner.guard():
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
            self._runner.guard(),
            migrate.exclusive(self._reader, self.options.prefix),
            self._writer.connect() as connection,
            connection.begin(),
        ):
            if self.options.schema is not None:
                connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.options.schema}"'))
            return migrate.upgrade(connection, self.options.prefix, revision)

    def downgrade(self, revision: str) -> tuple[str | None, str | None]:
        """Migrate the schema back to *revision*; returns the (from, to) revisions."""
        with (
            self._runner.guard(),
            migrate.exclusive(self._reader, self.options.prefix),
            self._writer.connect() as connection,
            connection.begin(),
        ):
            return migrate.downgrade(connection, self.options.prefix, revision)

    def close(self) -> None:
        """Release every pooled connection (an in-memory database is gone afterwards)."""
        self._reader.dispose()
        self._writer.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({self.options.display_url!r})"

    def driver_queries(self) -> tuple[DriverQuery, ...]:
        """The reads that run on the driver directly, bypassing SQLAlchemy's cursor events."""
        return (self._facts_query, self._facts_many_query)

    # -- reads -------------------------------------------------------------------------

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        params = {"clinic_id": request.clinic_id, "case_type_id": request.case_type_id, "pnr": request.digits}
        row = self._runner.driver_read(self._facts_query.first_raw, params)
        return NO_FACTS if row is None else self._facts_of(request, row)

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        if not requests:
            return []
        params = {"batch": _dumps([[r.digits, r.clinic_id, r.case_type_id] for r in requests])}
        # SQLite's json_each keys count from 0, PostgreSQL's WITH ORDINALITY and MariaDB's FOR ORDINALITY from 1.
        base = 0 if self.flavour == "sqlite" else 1
        rows = self._runner.driver_read(self._facts_many_query.all_raw, params)
        facts: list[DecisionFacts] = [NO_FACTS] * len(requests)
        facts_of = self._facts_of_many
        for row in rows:
            index = int(row[0]) - base
            facts[index] = facts_of(requests[index], row)
        return facts

    def get_clinic(self, clinic_id: str) -> Clinic | None:
        statement = self._statements.get_clinic
        row = self._runner.read(lambda connection: connection.execute(statement, {"clinic_id": clinic_id}).first())
        return None if row is None else clinic_of(row[0], row[1], row[2])

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        statement = self._statements.list_case_types
        rows = self._runner.read(lambda connection: connection.execute(statement, {"clinic_id": clinic_id}).all())
        return [CaseType(row[0], row[1], row[2], bool(row[3])) for row in rows]

    def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        statement = self._statements.listing(exact=True, after=False, prefixes=0, suffix=False, name=False)
        params = {"clinic_id": clinic_id, "pnr": digits, "limit": 1}
        rows = self._runner.read(lambda connection: connection.execute(statement, params).all())
        listed = residents_of(clinic_id, rows)
        return listed[0] if listed else None

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        """Up to ``query.limit`` listed residents matching every filter of *query*, by identity number.

        One statement: each of the approvals and the grants is range-scanned by
        ``(clinic_id, pnr)`` after ``query.after`` (and, once per digit prefix, within
        the prefix's range; for last digits, at least four, by ``(clinic_id, pnr_tail,
        pnr)``), filtered with ``LIKE`` (prefixes, suffix, the folded name; wildcards in
        the query match literally) and cut at the page size; the union's first ``limit``
        identity numbers are joined to their rows. A name with a trigram and no digit
        prefix is looked up in ``name_grams`` instead (:mod:`careaccess_sql.namesearch`),
        one short statement choosing the rarest trigrams first.
        """
        suffix = query.digit_suffix
        tail = suffix is not None and len(suffix) >= TAIL_SIZE
        params: dict[str, Any] = {"clinic_id": query.clinic_id, "limit": query.limit}
        if query.after is not None:
            params["after"] = query.after
        for i, prefix in enumerate(query.digit_prefixes):
            params[f"prefix_{i}"] = like_pattern(prefix, at="start")
            params[f"prefix_low_{i}"], params[f"prefix_high_{i}"] = prefix_range(prefix)
        if suffix is not None:
            params["suffix_pattern"] = like_pattern(suffix, at="end")
            if tail:
                params["suffix_tail"] = suffix[-TAIL_SIZE:]
        if query.name_contains is not None and self.flavour == "sqlite":
            params["name_needle"] = query.name_contains
        elif query.name_contains is not None:
            params["name_pattern"] = like_pattern(query.name_contains, at="anywhere")

        def read(connection: sa.Connection) -> Sequence[sa.Row[Any]]:
            plan = None
            if query.name_contains is not None and not query.digit_prefixes:
                plan = self._names.plan(connection, query.clinic_id, query.name_contains)
            if plan is None:
                statement = self._statements.listing(
                    exact=False,
                    after=query.after is not None,
                    prefixes=len(query.digit_prefixes),
                    suffix=suffix is not None,
                    name=query.name_contains is not None,
                    tail=tail,
                )
            else:
                statement = self._names.walk(plan, after=query.after is not None, suffix=suffix is not None)
                params["gram_walked"] = plan.walked
                params.update({f"gram_checked_{i}": gram for i, gram in enumerate(plan.checked)})
            return connection.execute(statement, params).all()

        return residents_of(query.clinic_id, self._runner.read(read))

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        """Up to *limit* events after the event id *after*, oldest first.

        :raises InvalidRequest: ``invalid_cursor`` when *after* is not 16 ASCII digits.
        """
        if after is not None and not _EVENT_ID.fullmatch(after):
            raise InvalidRequest(
                "invalid_cursor",
                "The event cursor is not an event id of this store.",
                "Markören är inte ett händelse-id från den här lagringen.",
            )
        params: dict[str, Any] = {"after": 0 if after is None else int(after), "limit": limit}
        if clinic_id is None:
            statement = self._statements.events_all
        else:
            statement = self._statements.events_of
            params["clinic_id"] = clinic_id
        rows = self._runner.read(lambda connection: connection.execute(statement, params).all())
        return [event_of(row) for row in rows]

    def cursor_key(self) -> bytes:
        """The store's 32 random bytes for opaque cursors: made once by the schema migration,
        the same for every process sharing the database, never changing."""
        if self._cursor_key is None:
            self._cursor_key = self._runner.read(self._read_cursor_key)
        return self._cursor_key

    def _read_cursor_key(self, connection: sa.Connection) -> bytes:
        meta = self.tables.meta
        value = connection.execute(sa.select(meta.c.value).where(meta.c.name == "cursor_key")).scalar_one_or_none()
        if value is None:  # pragma: no cover - the migration makes it; only a hand-edited database lacks it
            raise migrate.SchemaMismatch(
                "schema_out_of_date",
                "The careaccess schema has no cursor key; run `careaccess db upgrade` again.",
                "careaccess-schemat saknar markörnyckel; kör `careaccess db upgrade` igen.",
            )
        return bytes(value)

    # -- writes ------------------------------------------------------------------------

    def apply(self, changeset: Changeset) -> list[Event]:
        """Check the preconditions, write, and append the events, in one transaction.

        A changeset of up to a few preconditions and writes runs a statement for each;
        a larger one (an import, a bulk action: up to ``MAX_CHANGESET`` writes) looks up
        each kind of key with one locking read and inserts each table's new rows with
        one statement (PostgreSQL: ``INSERT ... SELECT`` from ``json_to_recordset`` of
        one JSON parameter; SQLite and MariaDB: the driver's executemany). The events
        take one block of ids from the counter row, locked until commit, so ids follow
        commit order.

        :returns: the stored events, in the order of ``changeset.events``.
        :raises Conflict: the first failing precondition's, in the order given; nothing
            written. ``constraint_violated`` when the database's keys refuse the writes.
        :raises StoreUnavailable: the database failed; the change is either fully
            committed with its events or not at all (a failure during COMMIT cannot say which).
        """
        prepared = Prepared.of(changeset)
        last = self._runner.transact(lambda connection: self._writes.apply(connection, prepared))
        first = last - len(changeset.events) + 1
        return [draft.with_id(f"{first + i:016d}") for i, draft in enumerate(changeset.events)]

    # -- the resident's side (ReachStore, see careaccess_sql.reach) ----------------------

    def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        """One page of the clinic directory by id, filtered in the database."""
        statement, params = self._reach.list_statement(query)
        rows = self._runner.read(lambda connection: connection.execute(statement, params).all())
        return self._reach.clinics_of(rows)

    def load_reach(self, request: ReachRequest) -> ReachFacts:
        """The resident's candidate clinics and facts, in one statement (one snapshot)."""
        query, params = self._reach.reach_query(request, self._reader, self._serial)
        return self._reach.facts_of(request, self._runner.driver_read(query.all, params))


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
