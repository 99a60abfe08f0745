"""The store's writer, keeping the resident's-side tables in the same transaction as the clinics."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from careaccess_sql.reach import SqlReach
from careaccess_sql.statements import Statements
from careaccess_sql.writes import Prepared, Writer

__all__ = ["ReachWriter"]


class ReachWriter(Writer):
    """A :class:`~careaccess_sql.writes.Writer` that also indexes the clinics a changeset puts or deletes."""

    def __init__(self, statements: Statements, reach: SqlReach) -> None:
        super().__init__(statements)
        self.reach = reach

    def apply(self, connection: sa.Connection, prepared: Prepared) -> Any:
        """As :meth:`Writer.apply`, then the clinic's place and name rows, in the caller's transaction."""
        result = super().apply(connection, prepared)
        self.reach.written(connection, prepared.changeset.writes)
        return result
