"""Initial schema: clinics, case types, approvals, grants, events and the event counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as of this revision; later revisions never edit them.
# (The MariaDB variants came with MariaDB support: they change nothing on other databases.)
ID = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
PNR = sa.String(12).with_variant(sa.String(12, collation="C"), "postgresql")
TIME = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
JSON_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# MariaDB: InnoDB, full Unicode, and a binary collation without trailing-space padding.
TABLE: dict[str, Any] = {
    f"{dialect}_{option}": value
    for dialect in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_nopad_bin"))
}


# PostgreSQL cuts identifiers at 63 characters (MariaDB refuses over 64): with a long
# table prefix the grants table's constraint names take their short forms (revision
# 0002 gives every database the short forms).
_MAX_IDENTIFIER = 63


def _fitting(name: str, short: str) -> str:
    return name if len(name) <= _MAX_IDENTIFIER else short


def upgrade() -> None:
    p: str = context.config.attributes["prefix"]
    op.create_table(
        f"{p}clinics",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("service_area", JSON_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"{p}clinics_pkey"),
        **TABLE,
    )
    op.create_table(
        f"{p}case_types",
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("restricted", sa.Boolean(create_constraint=False), nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", "id", name=f"{p}case_types_pkey"),
        sa.ForeignKeyConstraint(["clinic_id"], [f"{p}clinics.id"], name=f"{p}case_types_clinic_id_fkey"),
        **TABLE,
    )
    op.create_table(
        f"{p}approvals",
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("pnr", PNR, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("name_folded", sa.Text),
        sa.Column("approved_at", TIME, nullable=False),
        sa.Column("approved_by", ID, nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", "pnr", name=f"{p}approvals_pkey"),
        sa.ForeignKeyConstraint(["clinic_id"], [f"{p}clinics.id"], name=f"{p}approvals_clinic_id_fkey"),
        **TABLE,
    )
    op.create_table(
        f"{p}grants",
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("pnr", PNR, nullable=False),
        sa.Column("case_type_id", ID, nullable=False),
        sa.Column("until", sa.Date),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("granted_at", TIME, nullable=False),
        sa.Column("granted_by", ID, nullable=False),
        sa.Column("changed_at", TIME, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("name_folded", sa.Text),
        sa.PrimaryKeyConstraint("clinic_id", "pnr", "case_type_id", name=f"{p}grants_pkey"),
        sa.ForeignKeyConstraint(
            ["clinic_id", "case_type_id"],
            [f"{p}case_types.clinic_id", f"{p}case_types.id"],
            name=_fitting(f"{p}grants_clinic_id_case_type_id_fkey", f"{p}grants_case_type_fkey"),
        ),
        **TABLE,
    )
    index = _fitting(f"{p}grants_clinic_id_case_type_id_idx", f"{p}grants_case_type_idx")
    op.create_index(index, f"{p}grants", ["clinic_id", "case_type_id"])
    op.create_table(
        f"{p}events",
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor_id", ID, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("pnr", PNR),
        sa.Column("case_type_id", ID),
        sa.Column("before_data", JSON_TEXT),
        sa.Column("after_data", JSON_TEXT),
        sa.PrimaryKeyConstraint("id", name=f"{p}events_pkey"),
        **TABLE,
    )
    op.create_index(f"{p}events_clinic_id_id_idx", f"{p}events", ["clinic_id", "id"])
    counter = op.create_table(
        f"{p}event_counter",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("last_event_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"{p}event_counter_pkey"),
        **TABLE,
    )
    op.bulk_insert(counter, [{"id": 1, "last_event_id": 0}])


def downgrade() -> None:
    p: str = context.config.attributes["prefix"]
    for table in ("event_counter", "events", "grants", "approvals", "case_types", "clinics"):
        op.drop_table(f"{p}{table}")
