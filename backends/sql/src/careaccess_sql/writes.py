"""Inside a write transaction: check preconditions with locking reads, write, append events.

Each precondition is checked with a locking read (``FOR SHARE``/``FOR UPDATE`` on
PostgreSQL, ``LOCK IN SHARE MODE``/``FOR UPDATE`` on MariaDB; SQLite's ``BEGIN
IMMEDIATE`` serializes writers), so what was checked stays so until commit. A large
changeset looks up the keys of one kind together, one statement per kind, and then
judges its preconditions in their order against what it found. Writes are guarded
statements whose row counts are checked; many new records of one table go in with one
statement. Event ids come from a counter row whose update locks it until commit, so
ids follow commit order and the feed never skips an event that commits late. A race
no lock covers (two inserts of the same absent key) ends in a unique-key violation,
which the :class:`~careaccess_sql.transactions.Runner` retries.

This module translates; it holds no rule. Which preconditions a change needs is the
core's planning (:mod:`careaccess.store`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from attrs import define, field, frozen
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    GrantKey,
    Key,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    key_of,
)

from careaccess_sql.rows import event_row, iso, record_row
from careaccess_sql.statements import Statements

__all__ = ["Prepared", "Writer"]

_MISSING: Any = object()
#: Rows as one JSON parameter (PostgreSQL): as ``json.dumps`` with these options writes them, built once.
_ROWS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=iso)
#: A changeset of up to this many preconditions and writes is handled one at a time, a
#: statement each, as a single change always was; a larger one is grouped by kind.
SMALL = 4
# Tables in the order their rows may be inserted (parents first) and deleted (children first).
_PUT_ORDER = (ClinicKey, CaseTypeKey, ApprovalKey, GrantKey)


@frozen
class Prepared:
    """A changeset's rows, computed once outside the transaction (a retry reuses them)."""

    changeset: Changeset
    keys: tuple[Key, ...]  # of each write, in order
    rows: tuple[dict[str, Any] | None, ...]  # of each write: the row a Put stores, None for a Delete
    events: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, changeset: Changeset) -> Prepared:
        keys = tuple(key_of(w.record) if isinstance(w, Put) else w.key for w in changeset.writes)
        rows = tuple(record_row(w.record) if isinstance(w, Put) else None for w in changeset.writes)
        return cls(changeset, keys, rows, tuple(event_row(draft) for draft in changeset.events))


class Writer:
    """The work of one write transaction, on the connection the caller's transaction holds."""

    def __init__(self, statements: Statements) -> None:
        self._s = statements
        self.tables = statements.tables
        self.flavour = statements.flavour
        self._lock_statements: dict[tuple[type[Key], str, bool], sa.Select[Any]] = {}

    def apply(self, connection: sa.Connection, prepared: Prepared) -> int:
        """Check, write and append the changeset's events; returns the last event id.

        :raises Conflict: the first failing precondition's (the caller rolls back).
        """
        changeset = prepared.changeset
        if len(changeset.preconditions) <= SMALL and len(prepared.keys) <= SMALL:
            written = set(prepared.keys)
            for precondition in changeset.preconditions:
                if not self._holds(connection, precondition, written):
                    raise precondition.conflict()
            guards: dict[Key, MustHaveVersion] = {
                p.key: p for p in changeset.preconditions if isinstance(p, MustHaveVersion)
            }
            absent = {p.key for p in changeset.preconditions if isinstance(p, MustBeAbsent)}
            for key, row in zip(prepared.keys, prepared.rows, strict=True):
                self._write(connection, key, row, guards.get(key), key in absent)
        else:
            self._check_grouped(connection, prepared)
            self._write_grouped(connection, prepared)
        return self._append(connection, list(prepared.events))

    # -- preconditions -------------------------------------------------------------------

    def _where(self, key: Key) -> tuple[sa.Table, sa.ColumnElement[bool]]:
        """The table a key's record lives in, and the condition selecting its row."""
        t = self.tables
        if isinstance(key, ClinicKey):
            return t.clinics, t.clinics.c.id == key.clinic_id
        if isinstance(key, CaseTypeKey):
            table = t.case_types
            return table, sa.and_(table.c.clinic_id == key.clinic_id, table.c.id == key.case_type_id)
        if isinstance(key, ApprovalKey):
            table = t.approvals
            return table, sa.and_(table.c.clinic_id == key.clinic_id, table.c.pnr == key.digits)
        table = t.grants
        return table, sa.and_(
            table.c.clinic_id == key.clinic_id, table.c.pnr == key.digits, table.c.case_type_id == key.case_type_id
        )

    def _locked(self, connection: sa.Connection, key: Key, column: str, *, exclusive: bool) -> Any:
        """The *column* of the row under *key*, locked until commit; ``_MISSING`` when absent."""
        shape = (type(key), column, exclusive)
        statement = self._lock_statements.get(shape)
        if statement is None:
            table, where = self._where_bound(type(key))
            statement = sa.select(table.c[column]).where(where).with_for_update(read=not exclusive)
            self._lock_statements[shape] = statement
        row = connection.execute(statement, _key_params(key)).first()
        return _MISSING if row is None else row[0]

    def _where_bound(self, kind: type[Key]) -> tuple[sa.Table, sa.ColumnElement[bool]]:
        """As :meth:`_where`, for any key of *kind*: its values bound as :func:`_key_params` gives them."""
        t, bp = self.tables, sa.bindparam
        if issubclass(kind, ClinicKey):
            return t.clinics, t.clinics.c.id == bp("k_clinic")
        if issubclass(kind, CaseTypeKey):
            table = t.case_types
            return table, sa.and_(table.c.clinic_id == bp("k_clinic"), table.c.id == bp("k_case_type"))
        if issubclass(kind, ApprovalKey):
            table = t.approvals
            return table, sa.and_(table.c.clinic_id == bp("k_clinic"), table.c.pnr == bp("k_pnr"))
        table = t.grants
        return table, sa.and_(
            table.c.clinic_id == bp("k_clinic"),
            table.c.pnr == bp("k_pnr"),
            table.c.case_type_id == bp("k_case_type"),
        )

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
        assert isinstance(precondition, CaseTypeUnused)
        return self._unused(connection, precondition.key)

    def _unused(self, connection: sa.Connection, case_type: CaseTypeKey) -> bool:
        """Lock the case type against new grants (their key-share lock conflicts with this),
        then look for grants committed before the lock was ours."""
        self._locked(connection, case_type, "id", exclusive=True)
        grants = self.tables.grants
        in_use = connection.execute(
            sa.select(grants.c.version)
            .where(grants.c.clinic_id == case_type.clinic_id, grants.c.case_type_id == case_type.case_type_id)
            .limit(1)
        ).first()
        return in_use is None

    def _check_grouped(self, connection: sa.Connection, prepared: Prepared) -> None:
        """Look up every key of one kind with one locking read, then judge each precondition in order.

        Rows of a kind the changeset writes (or version-checks) are locked exclusively.
        Keys are compared by their plain values (no hashing of key objects: thousands
        of them per changeset).
        """
        changeset = prepared.changeset
        exclusive = {type(key) for key in prepared.keys}
        if any(isinstance(p, MustHaveVersion) for p in changeset.preconditions):
            exclusive.add(GrantKey)
        keyed = [p.key for p in changeset.preconditions if not isinstance(p, CaseTypeUnused)]
        found = self._lookup(connection, changeset.clinic_id, keyed, exclusive)
        for precondition in changeset.preconditions:
            if isinstance(precondition, CaseTypeUnused):
                holds = self._unused(connection, precondition.key)
            else:
                value = found.value(precondition.key)
                if isinstance(precondition, MustExist):
                    holds = value is not _MISSING
                elif isinstance(precondition, MustBeAbsent):
                    holds = value is _MISSING
                elif isinstance(precondition, MustHaveVersion):
                    holds = value is not _MISSING and value == precondition.version
                else:
                    holds = value is not _MISSING and bool(value)
            if not holds:
                raise precondition.conflict()

    def _lookup(
        self, connection: sa.Connection, clinic_id: str, keys: Iterable[Key], exclusive: set[type[Key]]
    ) -> _Found:
        """What is stored under *keys* (all of *clinic_id*); the rows stay locked until commit."""
        s = self._s
        clinic, case_type_ids, digits, grant_digits = _by_kind(keys)
        found = _Found()
        if clinic:
            key = ClinicKey(clinic_id)
            found.clinic = self._locked(connection, key, "id", exclusive=ClinicKey in exclusive) is not _MISSING
        if case_type_ids:
            params: dict[str, Any] = {"clinic_id": clinic_id, "ids": sorted(case_type_ids)}
            for case_type_id, restricted in connection.execute(s.case_types_of[CaseTypeKey in exclusive], params):
                found.case_types[case_type_id] = bool(restricted)
        if digits:
            params = {"clinic_id": clinic_id, "pnrs": json.dumps(sorted(digits))}
            found.approvals.update(
                row[0] for row in connection.execute(s.approvals_of[ApprovalKey in exclusive], params)
            )
        if grant_digits:
            params = {"clinic_id": clinic_id, "pnrs": json.dumps(sorted(grant_digits))}
            for pnr, case_type_id, version in connection.execute(s.grants_of[GrantKey in exclusive], params):
                found.grants[(pnr, case_type_id)] = version
        return found

    # -- writes --------------------------------------------------------------------------

    def _write(
        self,
        connection: sa.Connection,
        key: Key,
        row: dict[str, Any] | None,
        guard: MustHaveVersion | None,
        absent: bool,
    ) -> None:
        """One write: a Put's *row* (an insert when the key was checked absent) or a Delete (*row* None)."""
        table, where = self._where(key)
        if guard is not None:
            where = sa.and_(where, self.tables.grants.c.version == guard.version)
        if row is None:
            if isinstance(key, ClinicKey):
                self._delete_clinic(connection, key.clinic_id)
                return
            deleted = connection.execute(table.delete().where(where)).rowcount
            if guard is not None and deleted != 1:
                raise guard.conflict()
            return
        if absent:
            connection.execute(table.insert().values(row))  # a racing insert fails on the key
            return
        updated = connection.execute(table.update().where(where).values(row)).rowcount
        if guard is not None and updated != 1:
            raise guard.conflict()
        if updated == 0:
            connection.execute(table.insert().values(row))

    def _write_grouped(self, connection: sa.Connection, prepared: Prepared) -> None:
        """Many writes: deletes (children first), then puts (parents first); the new rows of a
        table (puts of keys checked absent) go in with one statement. A changeset writing
        one key twice runs its writes one by one, in order."""
        preconditions = prepared.changeset.preconditions
        guards: dict[Key, MustHaveVersion] = {p.key: p for p in preconditions if isinstance(p, MustHaveVersion)}
        absent = {p.key for p in preconditions if isinstance(p, MustBeAbsent)}
        writes = list(zip(prepared.keys, prepared.rows, strict=True))
        if len(set(prepared.keys)) != len(writes):
            for key, row in writes:
                self._write(connection, key, row, guards.get(key), key in absent)
            return
        deletes: dict[type[Key], list[Key]] = {}
        puts: dict[type[Key], list[tuple[Key, dict[str, Any]]]] = {}
        for key, row in writes:
            if row is None:
                deletes.setdefault(type(key), []).append(key)
            else:
                puts.setdefault(type(key), []).append((key, row))
        for kind in reversed(_PUT_ORDER):
            for key in deletes.get(kind, ()):
                self._write(connection, key, None, guards.get(key), absent=False)
        for kind in _PUT_ORDER:
            new: list[dict[str, Any]] = []
            for key, row in puts.get(kind, ()):
                guard = guards.get(key) if guards else None
                if guard is None and kind in (ApprovalKey, GrantKey) and key in absent:
                    new.append(row)
                else:
                    self._write(connection, key, row, guard, key in absent)
            if new:
                self.insert_rows(connection, self._table_of(kind), new)

    def _table_of(self, kind: type[Key]) -> sa.Table:
        return self.tables.approvals if kind is ApprovalKey else self.tables.grants

    def _delete_clinic(self, connection: sa.Connection, clinic_id: str) -> None:
        t = self.tables
        for table in (t.grants, t.approvals, t.case_types):
            connection.execute(table.delete().where(table.c.clinic_id == clinic_id))
        connection.execute(t.clinics.delete().where(t.clinics.c.id == clinic_id))

    # -- events --------------------------------------------------------------------------

    def _append(self, connection: sa.Connection, events: list[dict[str, Any]]) -> int:
        """Insert the events under the next ids, in order; returns the last id.

        Taken last, so the counter row is locked only while the events go in (until commit).
        """
        last = self.take_event_ids(connection, len(events))
        if len(events) == 1:
            connection.execute(self._s.insert_event, {"id": last, **events[0]})
            return last
        first = last - len(events) + 1
        self.insert_rows(connection, self.tables.events, [{"id": first + i, **row} for i, row in enumerate(events)])
        return last

    def take_event_ids(self, connection: sa.Connection, count: int) -> int:
        """Reserve the next *count* event ids; returns the last. The counter row stays locked until commit."""
        result = connection.execute(self._s.next_event_id[0], {"count": count})
        if self.flavour == "mariadb":
            return int(result.lastrowid)
        if len(self._s.next_event_id) > 1:  # pragma: no cover - see Statements
            result = connection.execute(self._s.next_event_id[1])
        return int(result.scalar_one())

    def insert_rows(self, connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert every row with one statement (a racing insert of the same key fails on it)."""
        statement = self._s.bulk_inserts.get(table.name)
        if statement is not None:
            text = _ROWS_JSON.encode(rows)
            connection.execute(statement, {"rows": text})
            return
        driver = self._s.driver_inserts.get(table.name)
        if driver is None:  # pragma: no cover - every bulk-inserted table has one or the other
            connection.execute(table.insert(), rows)
            return
        connection.exec_driver_sql(driver.sql, driver.parameters(rows))


def _key_params(key: Key) -> dict[str, str]:
    """The parameters of :meth:`Writer._where_bound` for *key*."""
    if isinstance(key, ClinicKey):
        return {"k_clinic": key.clinic_id}
    if isinstance(key, CaseTypeKey):
        return {"k_clinic": key.clinic_id, "k_case_type": key.case_type_id}
    if isinstance(key, ApprovalKey):
        return {"k_clinic": key.clinic_id, "k_pnr": key.digits}
    return {"k_clinic": key.clinic_id, "k_pnr": key.digits, "k_case_type": key.case_type_id}


def _by_kind(keys: Iterable[Key]) -> tuple[bool, set[str], set[str], set[str]]:
    """Whether *keys* hold the clinic's key; their case type ids; approvals' and grants' digits."""
    clinic = False
    case_types: set[str] = set()
    approvals: set[str] = set()
    grants: set[str] = set()
    for key in keys:
        if isinstance(key, ClinicKey):
            clinic = True
        elif isinstance(key, CaseTypeKey):
            case_types.add(key.case_type_id)
        elif isinstance(key, ApprovalKey):
            approvals.add(key.digits)
        else:
            grants.add(key.digits)
    return clinic, case_types, approvals, grants


@define
class _Found:
    """What a grouped lookup found, by plain values."""

    clinic: bool = False
    case_types: dict[str, bool] = field(factory=dict)  # id -> restricted
    approvals: set[str] = field(factory=set)  # digits
    grants: dict[tuple[str, str], int] = field(factory=dict)  # (digits, case type id) -> version

    def value(self, key: Key) -> Any:
        """What the checks of *key* read: ``_MISSING`` when absent, else None, ``restricted`` or ``version``."""
        if isinstance(key, ApprovalKey):
            return None if key.digits in self.approvals else _MISSING
        if isinstance(key, GrantKey):
            return self.grants.get((key.digits, key.case_type_id), _MISSING)
        if isinstance(key, CaseTypeKey):
            return self.case_types.get(key.case_type_id, _MISSING)
        return None if self.clinic else _MISSING
