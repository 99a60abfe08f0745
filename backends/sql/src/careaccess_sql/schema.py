"""The tables, as SQLAlchemy Core metadata for one table-name prefix.

The keys follow the questions asked of them: a decision looks every fact up by primary
key, a clinic's resident list is a range scan of ``(clinic_id, pnr)`` and the event
feed a scan of the event id (or of ``(clinic_id, id)``). The migrations create exactly
this schema; a test compares them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from attrs import frozen
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

from careaccess_sql.reach import add_reach_schema
from careaccess_sql.searchindex import TAIL, add_search_schema

__all__ = ["ID", "JSON_TEXT", "MARIADB_TABLE", "PNR", "Tables", "UtcDateTime", "make_tables"]

# Binary ("C") collation on PostgreSQL so ids sort as Python strings sort, like MemoryStore.
# (MariaDB gets the same from its tables' default collation, MARIADB_TABLE.)
ID = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
PNR = sa.String(12).with_variant(sa.String(12, collation="C"), "postgresql")
ACTION = sa.String(40)
# JSON text (service areas, event payloads): MariaDB's TEXT would stop at 64 KiB.
JSON_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

#: MariaDB table options: transactional InnoDB, full Unicode, and a binary collation
#: without trailing-space padding, so every string compares and sorts as Python's do.
MARIADB_TABLE: dict[str, Any] = {
    f"{dialect}_{option}": value
    for dialect in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_nopad_bin"))
}

NAMING_CONVENTION = {
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime, stored as UTC and read back as an aware UTC datetime.

    Equal to what was written (aware datetimes compare by instant), to the microsecond.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            # MariaDB's DATETIME keeps whole seconds unless asked for microseconds.
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        utc = value.astimezone(dt.UTC)
        # SQLite and MariaDB have no time zone type: they store the naive UTC wall clock.
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@frozen
class Tables:
    metadata: sa.MetaData
    clinics: sa.Table
    case_types: sa.Table
    approvals: sa.Table
    grants: sa.Table
    events: sa.Table
    event_counter: sa.Table
    meta: sa.Table
    name_grams: sa.Table


def make_tables(prefix: str = "") -> Tables:
    """The schema with every table name starting with *prefix*."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    clinics = sa.Table(
        f"{prefix}clinics",
        metadata,
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        # The service area as canonical JSON text: parsed once per distinct value.
        sa.Column("service_area", JSON_TEXT, nullable=False),
        **MARIADB_TABLE,
    )
    case_types = sa.Table(
        f"{prefix}case_types",
        metadata,
        sa.Column("clinic_id", ID, sa.ForeignKey(clinics.c.id), primary_key=True),
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("restricted", sa.Boolean(create_constraint=False), nullable=False),
        **MARIADB_TABLE,
    )
    approvals = sa.Table(
        f"{prefix}approvals",
        metadata,
        sa.Column("clinic_id", ID, sa.ForeignKey(clinics.c.id), primary_key=True),
        sa.Column("pnr", PNR, primary_key=True),
        sa.Column("name", sa.Text),
        # The name folded (careaccess.names.fold), which name searches compare with.
        sa.Column("name_folded", sa.Text),
        sa.Column("approved_at", UtcDateTime, nullable=False),
        # The last four digits of pnr, which a search by the last digits seeks (careaccess_sql.searchindex).
        sa.Column("pnr_tail", TAIL),
        sa.Column("approved_by", ID, nullable=False),
        **MARIADB_TABLE,
    )
    grants = sa.Table(
        f"{prefix}grants",
        metadata,
        sa.Column("clinic_id", ID, primary_key=True),
        sa.Column("pnr", PNR, primary_key=True),
        sa.Column("case_type_id", ID, primary_key=True),
        sa.Column("until", sa.Date),
        # Versions go up to careaccess's MAX_VERSION (2**53 - 1).
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("granted_at", UtcDateTime, nullable=False),
        sa.Column("granted_by", ID, nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("name_folded", sa.Text),
        sa.Column("pnr_tail", TAIL),
        # A grant can never outlive its case type, whatever races the application loses.
        # No foreign key to the case type: the store keeps what the core writes (the core's
        # plans lock the case type instead). A short name, so that a 30-character prefix
        # stays within PostgreSQL's 63 characters.
        sa.Index(f"{prefix}grants_case_type_idx", "clinic_id", "case_type_id"),
        **MARIADB_TABLE,
    )
    events = sa.Table(
        f"{prefix}events",
        metadata,
        # Assigned from event_counter inside the writing transaction, so ids follow commit order.
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor_id", ID, nullable=False),
        sa.Column("action", ACTION, nullable=False),
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("pnr", PNR),
        sa.Column("case_type_id", ID),
        sa.Column("before_data", JSON_TEXT),
        sa.Column("after_data", JSON_TEXT),
        sa.Index(None, "clinic_id", "id"),
        **MARIADB_TABLE,
    )
    event_counter = sa.Table(
        f"{prefix}event_counter",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_event_id", sa.BigInteger, nullable=False),
        **MARIADB_TABLE,
    )
    meta = sa.Table(
        f"{prefix}meta",
        metadata,
        # The store's own values, one row each: "cursor_key" (32 random bytes, made by the migration).
        sa.Column("name", ID, primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        **MARIADB_TABLE,
    )
    add_reach_schema(metadata, prefix, clinics, approvals, grants)
    name_grams = add_search_schema(metadata, prefix, approvals, grants)
    return Tables(metadata, clinics, case_types, approvals, grants, events, event_counter, meta, name_grams)
