"""Inside a write transaction: check preconditions with locking reads, write, append events.

Each precondition is checked with a locking read (``FOR SHARE``/``FOR UPDATE`` on
PostgreSQL, ``LOCK IN SHARE MODE``/``FOR UPDATE`` on MariaDB; SQLite's ``BEGIN
IMMEDIATE`` serializes writers), so what was checked stays so until commit. Writes are
guarded statements whose row counts are checked. Event ids come from a counter row
whose update locks it until commit, so ids follow commit order and the feed never
skips an event that commits late. A race no lock covers (two inserts of the same
absent key) ends in a unique-key violation, which the
:class:`~careaccess_sql.transactions.Runner` retries.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from careaccess.models import Approval, Grant
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    Delete,
    EventDraft,
    GrantKey,
    ImportBatch,
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

__all__ = ["Writer"]

_MISSING: Any = object()


class Writer:
    """The work of one write transaction, on the connection the caller's transaction holds."""

    def __init__(self, statements: Statements) -> None:
        self._s = statements
        self.tables = statements.tables
        self.flavour = statements.flavour

    # -- changesets ----------------------------------------------------------------------

    def apply(self, connection: sa.Connection, changeset: Changeset) -> int:
        """Check, write and append the changeset's event; returns the event's id.

        :raises Conflict: the first failing precondition's (the caller rolls back).
        """
        self._check(connection, changeset)
        self._write(connection, changeset)
        return self._append(connection, changeset.event)

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
            values = record_row(write.record)
            if key in absent:
                connection.execute(table.insert().values(values))  # a racing insert fails on the key
                continue
            updated = connection.execute(table.update().where(where).values(values)).rowcount
            if guard is not None and updated != 1:
                raise guard.conflict()
            if updated == 0:
                connection.execute(table.insert().values(values))

    def _delete_clinic(self, connection: sa.Connection, clinic_id: str) -> None:
        t = self.tables
        for table in (t.grants, t.approvals, t.case_types):
            connection.execute(table.delete().where(table.c.clinic_id == clinic_id))
        connection.execute(t.clinics.delete().where(t.clinics.c.id == clinic_id))

    # -- events --------------------------------------------------------------------------

    def _append(self, connection: sa.Connection, draft: EventDraft) -> int:
        """Insert the event under the next id; the counter row stays locked until commit."""
        event_id = self.take_event_ids(connection, 1)
        connection.execute(self._s.insert_event, {"id": event_id, **event_row(draft)})
        return event_id

    def take_event_ids(self, connection: sa.Connection, count: int) -> int:
        """Reserve the next *count* event ids; returns the last. The counter row stays locked until commit."""
        result = connection.execute(self._s.next_event_id[0], {"count": count})
        if self.flavour == "mariadb":
            return int(result.lastrowid)
        if len(self._s.next_event_id) > 1:  # pragma: no cover - see Statements
            result = connection.execute(self._s.next_event_id[1])
        return int(result.scalar_one())

    # -- bulk import ---------------------------------------------------------------------

    def import_batch(
        self,
        connection: sa.Connection,
        batch: ImportBatch,
        approvals: list[dict[str, Any]],
        grants: list[dict[str, Any]],
        events: list[dict[str, Any]],
    ) -> int:
        """Check and write the batch (its rows given by :func:`record_row`); returns the last event id taken.

        :raises Conflict: ``clinic_missing``, ``case_type_not_restricted``,
            ``approval_exists`` or ``grant_exists``, the first that fails.
        """
        s = self._s
        clinic_id = batch.clinic_id
        if connection.execute(s.import_clinic, {"clinic_id": clinic_id}).first() is None:
            raise MustExist(ClinicKey(clinic_id)).conflict()
        case_type_ids = batch.case_type_ids()
        if case_type_ids:
            params = {"clinic_id": clinic_id, "case_type_ids": case_type_ids}
            restricted = {row[0]: bool(row[1]) for row in connection.execute(s.import_case_types, params)}
            for case_type_id in case_type_ids:
                if not restricted.get(case_type_id, False):
                    raise CaseTypeRestricted(CaseTypeKey(clinic_id, case_type_id)).conflict()
        stored: set[Key] = set()
        if approvals:
            params = {"clinic_id": clinic_id, "pnrs": json.dumps([row["pnr"] for row in approvals])}
            stored.update(
                ApprovalKey(clinic_id, row[0]) for row in connection.execute(s.import_approvals_stored, params)
            )
        if grants:
            params = {"clinic_id": clinic_id, "pnrs": json.dumps(sorted({row["pnr"] for row in grants}))}
            rows = connection.execute(s.import_grants_stored, params)
            stored.update(GrantKey(clinic_id, row[0], row[1]) for row in rows)
        if stored:
            for record in batch.records:
                key = key_of(record)
                if key in stored:
                    raise batch.conflict_for(key)
        self.insert_rows(connection, self.tables.approvals, approvals)
        self.insert_rows(connection, self.tables.grants, grants)
        if not events:
            return 0  # nothing to append: leave the counter row unlocked
        # Taken last, so the counter row is locked only while the events go in.
        last = self.take_event_ids(connection, len(events))
        first = last - len(events) + 1
        for offset, row in enumerate(events):
            row["id"] = first + offset
        self.insert_rows(connection, self.tables.events, events)
        return last

    def insert_rows(self, connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert every row with one statement (a racing insert of the same key fails on it)."""
        if not rows:
            return
        statement = self._s.bulk_inserts.get(table.name)
        if statement is not None:
            text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=iso)
            connection.execute(statement, {"rows": text})
            return
        driver = self._s.driver_inserts.get(table.name)
        if driver is None:  # pragma: no cover - every bulk-inserted table has one or the other
            connection.execute(table.insert(), rows)
            return
        connection.exec_driver_sql(driver.sql, driver.parameters(rows))


def import_rows(batch: ImportBatch) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The approvals, grants and events rows of *batch* (computed once, outside any retry)."""
    approvals = [record_row(r) for r in batch.records if isinstance(r, Approval)]
    grants = [record_row(r) for r in batch.records if isinstance(r, Grant)]
    return approvals, grants, [event_row(draft) for draft in batch.events]
