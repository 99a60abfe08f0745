"""Search indexes of the resident list: names by trigram, identity numbers by their last four digits.

- ``approvals.pnr_tail`` and ``grants.pnr_tail`` hold the last four digits of ``pnr``,
  indexed ``(clinic_id, pnr_tail, pnr)``: a search by the last digits seeks them.
- ``name_grams`` holds one row per distinct trigram of each approval's and grant's
  folded name (``case_type_id`` empty for an approval), keyed
  ``(clinic_id, gram, pnr, case_type_id)`` and indexed by record: a name search walks it.

Both are filled here from the rows already stored, with the functions the store writes
with (:mod:`careaccess_sql.searchindex`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

from careaccess_sql.searchindex import records_of

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the types as of this revision; later revisions never edit them.
ID = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
PNR = sa.String(12).with_variant(sa.String(12, collation="C"), "postgresql")
GRAM = sa.String(3).with_variant(sa.String(3, collation="C"), "postgresql")
TAIL = sa.String(4).with_variant(sa.String(4, collation="C"), "postgresql")
TABLE: dict[str, Any] = {
    f"{dialect}_{option}": value
    for dialect in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_nopad_bin"))
}
# Trigram rows inserted per statement.
CHUNK = 5000


def upgrade() -> None:
    p: str = context.config.attributes["prefix"]
    connection = op.get_bind()
    for table_name in ("approvals", "grants"):
        op.add_column(f"{p}{table_name}", sa.Column("pnr_tail", TAIL))
        table = sa.table(f"{p}{table_name}", sa.column("pnr"), sa.column("pnr_tail"))
        # pnr is always the 12 canonical digits: its last four start at the ninth.
        connection.execute(table.update().values(pnr_tail=sa.func.substr(table.c.pnr, 9, 4)))
        op.create_index(f"{p}{table_name}_tail_idx", f"{p}{table_name}", ["clinic_id", "pnr_tail", "pnr"])
    grams = op.create_table(
        f"{p}name_grams",
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("gram", GRAM, nullable=False),
        sa.Column("pnr", PNR, nullable=False),
        sa.Column("case_type_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", "gram", "pnr", "case_type_id", name=f"{p}name_grams_pkey"),
        sqlite_with_rowid=False,
        **TABLE,
    )
    op.create_index(f"{p}name_grams_record_idx", f"{p}name_grams", ["clinic_id", "pnr", "case_type_id", "gram"])
    approvals = sa.table(f"{p}approvals", sa.column("clinic_id"), sa.column("pnr"), sa.column("name_folded"))
    grants = sa.table(
        f"{p}grants", sa.column("clinic_id"), sa.column("pnr"), sa.column("case_type_id"), sa.column("name_folded")
    )
    for query in (
        sa.select(approvals.c.clinic_id, approvals.c.pnr, sa.null(), approvals.c.name_folded),
        sa.select(grants.c.clinic_id, grants.c.pnr, grants.c.case_type_id, grants.c.name_folded),
    ):
        rows = records_of(connection.execute(query.where(sa.column("name_folded").is_not(None))).all())
        for first in range(0, len(rows), CHUNK):
            connection.execute(grams.insert(), rows[first : first + CHUNK])


def downgrade() -> None:
    p: str = context.config.attributes["prefix"]
    op.drop_index(f"{p}name_grams_record_idx", f"{p}name_grams")
    op.drop_table(f"{p}name_grams")
    for table_name in ("grants", "approvals"):
        op.drop_index(f"{p}{table_name}_tail_idx", f"{p}{table_name}")
        with op.batch_alter_table(f"{p}{table_name}", recreate="auto") as batch:
            batch.drop_column("pnr_tail")
