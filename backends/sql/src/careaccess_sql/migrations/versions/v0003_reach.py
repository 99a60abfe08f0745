"""The resident's side: approvals and grants by resident, clinics by service-area place and folded name.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from careaccess.models import Clinic, ServiceArea
from careaccess.names import fold
from careaccess.serialization import converter

from careaccess_sql.reach import place_rows

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the types as of this revision; later revisions never edit them.
ID = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
TABLE: dict[str, Any] = {
    f"{dialect}_{option}": value
    for dialect in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_nopad_bin"))
}


def upgrade() -> None:
    p: str = context.config.attributes["prefix"]
    op.create_index(f"{p}approvals_pnr_idx", f"{p}approvals", ["pnr"])
    op.create_index(f"{p}grants_pnr_idx", f"{p}grants", ["pnr"])
    places = op.create_table(
        f"{p}clinic_places",
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("place", sa.String(4), nullable=False),
        sa.Column("clinic_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("kind", "place", "clinic_id", name=f"{p}clinic_places_pkey"),
        **TABLE,
    )
    op.create_index(f"{p}clinic_places_clinic_id_idx", f"{p}clinic_places", ["clinic_id"])
    names = op.create_table(
        f"{p}clinic_names",
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("name_folded", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", name=f"{p}clinic_names_pkey"),
        **TABLE,
    )
    # Index the clinics already stored, with the same functions the store writes with.
    clinics = sa.table(f"{p}clinics", sa.column("id"), sa.column("name"), sa.column("service_area"))
    connection = op.get_bind()
    place_data: list[dict[str, str]] = []
    name_data: list[dict[str, str]] = []
    for clinic_id, name, area in connection.execute(sa.select(clinics.c.id, clinics.c.name, clinics.c.service_area)):
        clinic = Clinic(clinic_id, name, converter.structure(json.loads(area), ServiceArea))
        place_data.extend(place_rows(clinic))
        name_data.append({"clinic_id": clinic_id, "name_folded": fold(name)})
    if place_data:
        op.bulk_insert(places, place_data)
    if name_data:
        op.bulk_insert(names, name_data)


def downgrade() -> None:
    p: str = context.config.attributes["prefix"]
    op.drop_table(f"{p}clinic_names")
    op.drop_table(f"{p}clinic_places")
    op.drop_index(f"{p}grants_pnr_idx", f"{p}grants")
    op.drop_index(f"{p}approvals_pnr_idx", f"{p}approvals")
