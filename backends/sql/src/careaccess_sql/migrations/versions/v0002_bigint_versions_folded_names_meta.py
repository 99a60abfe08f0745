"""Grant versions as BIGINT, names NFC with a searchable folded form, the meta table, no grants FK.

- ``grants.version`` becomes BIGINT: versions go up to 2**53 - 1 on every store.
- Every stored name (approvals, grants) is put in NFC, and ``name_folded`` holds its
  folded form (NFC, casefold, NFC; every run of whitespace and dashes one space,
  stripped), which name searches compare with.
- ``meta`` holds the store's own values, one row each; ``cursor_key`` (32 random bytes)
  is created here, once, under the upgrade's lock.
- The grants table's foreign key to its case type goes: a store keeps whatever the
  core writes and never judges it (contract v2); the core's plans lock the case type
  (``CaseTypeRestricted``, ``CaseTypeUnused``) instead. The index by case type gets a
  short name, so a table prefix of 30 characters stays within PostgreSQL's 63 and
  MariaDB's 64.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from careaccess.names import fold

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies as of this revision; later revisions never edit them.
ID = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
PNR = sa.String(12).with_variant(sa.String(12, collation="C"), "postgresql")
TABLE: dict[str, Any] = {
    f"{dialect}_{option}": value
    for dialect in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_nopad_bin"))
}
# Rows migrated per statement.
CHUNK = 1000


def _names(prefix: str) -> tuple[str, str]:
    """(old, new) names of the grants table's index by case type."""
    return f"{prefix}grants_clinic_id_case_type_id_idx", f"{prefix}grants_case_type_idx"


def _rewrite_names(
    prefix: str, table_name: str, keys: tuple[str, ...], rewrite: Callable[[str], tuple[str, str]]
) -> None:
    """Store ``rewrite(name)`` as (name, name_folded) in every row with a name, a chunk at a time."""
    bind = op.get_bind()
    table = sa.table(
        f"{prefix}{table_name}", *(sa.column(key) for key in keys), sa.column("name"), sa.column("name_folded")
    )
    key_cols = [table.c[key] for key in keys]
    update = (
        table.update()
        .where(*(table.c[key] == sa.bindparam(f"k_{key}") for key in keys))
        .values(name=sa.bindparam("v_name"), name_folded=sa.bindparam("v_folded"))
    )
    last: tuple[object, ...] | None = None
    while True:
        query = sa.select(*key_cols, table.c.name, table.c.name_folded).where(table.c.name.is_not(None))
        if last is not None:
            query = query.where(sa.tuple_(*key_cols) > sa.tuple_(*(sa.literal(v) for v in last)))
        rows = bind.execute(query.order_by(*key_cols).limit(CHUNK)).all()
        if not rows:
            return
        changed = []
        for row in rows:
            name, folded = rewrite(row.name)
            if (name, folded) != (row.name, row.name_folded):
                changed.append({**{f"k_{k}": row[i] for i, k in enumerate(keys)}, "v_name": name, "v_folded": folded})
        if changed:
            bind.execute(update, changed)
        last = tuple(rows[-1][: len(keys)])


def _normalized(name: str) -> tuple[str, str]:
    nfc = unicodedata.normalize("NFC", name)
    return nfc, fold(nfc)


def _casefolded(name: str) -> tuple[str, str]:
    return name, name.casefold()


def upgrade() -> None:
    p: str = context.config.attributes["prefix"]
    old_index, new_index = _names(p)
    inspector = sa.inspect(op.get_bind())
    fkeys = [
        fk["name"]
        for fk in inspector.get_foreign_keys(f"{p}grants")
        if fk["referred_table"] == f"{p}case_types" and fk["name"] is not None
    ]
    indexes = {index["name"] for index in inspector.get_indexes(f"{p}grants")}
    with op.batch_alter_table(f"{p}grants", recreate="auto") as batch:
        batch.alter_column("version", existing_type=sa.Integer, type_=sa.BigInteger, existing_nullable=False)
        # The foreign key goes first: MariaDB keeps an index a foreign key needs.
        for name in fkeys:
            batch.drop_constraint(name, type_="foreignkey")
        if old_index in indexes:
            batch.drop_index(old_index)
            batch.create_index(new_index, ["clinic_id", "case_type_id"])
    _rewrite_names(p, "approvals", ("clinic_id", "pnr"), _normalized)
    _rewrite_names(p, "grants", ("clinic_id", "pnr", "case_type_id"), _normalized)
    meta = op.create_table(
        f"{p}meta",
        sa.Column("name", ID, nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("name", name=f"{p}meta_pkey"),
        **TABLE,
    )
    op.bulk_insert(meta, [{"name": "cursor_key", "value": secrets.token_bytes(32)}])


def downgrade() -> None:
    p: str = context.config.attributes["prefix"]
    op.drop_table(f"{p}meta")
    # Names stay in NFC (the original forms are gone); name_folded goes back to casefold().
    _rewrite_names(p, "approvals", ("clinic_id", "pnr"), _casefolded)
    _rewrite_names(p, "grants", ("clinic_id", "pnr", "case_type_id"), _casefolded)
    with op.batch_alter_table(f"{p}grants", recreate="auto") as batch:
        batch.alter_column("version", existing_type=sa.BigInteger, type_=sa.Integer, existing_nullable=False)
        # Fails if a grant's case type is gone: revision 0001 cannot hold such a grant.
        fkey = f"{p}grants_clinic_id_case_type_id_fkey"
        fkey = fkey if len(fkey) <= 63 else f"{p}grants_case_type_fkey"
        batch.create_foreign_key(fkey, f"{p}case_types", ["clinic_id", "case_type_id"], ["clinic_id", "id"])
