"""The resident's side on SQL: :class:`careaccess.reachstore.ReachStore` from two small tables and two indexes.

Schema (added by revision 0003):

=========================  ==========================================================
``approvals_pnr_idx``      approvals by resident across clinics
``grants_pnr_idx``         grants by resident across clinics
``clinic_places``          ``(kind, place, clinic_id)``: one row per
                           :func:`careaccess.reach.area_keys` entry of the clinic's
                           service area (``country``/``region``/``municipality``), and
                           one ``touches`` row per region any rule names (the
                           directory's region filter)
``clinic_names``           ``clinic_id -> name_folded`` (:func:`careaccess.names.fold`)
=========================  ==========================================================

Both tables are written in the transaction that writes the clinic, so they agree with
the clinics at every commit. A resident's candidates are read in one statement (one
snapshot): the clinics, their case types and the resident's approvals and grants, as
rows of four kinds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from attrs import frozen
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval, CaseType, Clinic, Grant
from careaccess.names import fold
from careaccess.reach import ReachFacts, area_keys
from careaccess.reachstore import ClinicQuery, ReachRequest
from careaccess.store import ClinicKey, Delete, Put, Write

from careaccess_sql.driverquery import DriverQuery
from careaccess_sql.rows import case_type_of

if TYPE_CHECKING:
    from careaccess_sql.schema import Tables

__all__ = ["ReachTables", "SqlReach", "add_reach_schema", "place_rows", "reach_tables"]

KIND = sa.String(12)
PLACE = sa.String(4)
TOUCHES = "touches"


@frozen
class ReachTables:
    places: sa.Table
    names: sa.Table


def add_reach_schema(
    metadata: sa.MetaData, prefix: str, clinics: sa.Table, approvals: sa.Table, grants: sa.Table
) -> ReachTables:
    """Add the resident's-side tables and indexes to *metadata* (called by ``make_tables``).

    Ids and table options are the clinics table's own, so the new tables sort and compare alike.
    """
    options = dict(clinics.dialect_kwargs)
    sa.Index(f"{prefix}approvals_pnr_idx", approvals.c.pnr)
    sa.Index(f"{prefix}grants_pnr_idx", grants.c.pnr)
    places = sa.Table(
        f"{prefix}clinic_places",
        metadata,
        sa.Column("kind", KIND, primary_key=True),
        sa.Column("place", PLACE, primary_key=True),
        sa.Column("clinic_id", clinics.c.id.type, primary_key=True),
        sa.Index(None, "clinic_id"),
        **options,
    )
    names = sa.Table(
        f"{prefix}clinic_names",
        metadata,
        sa.Column("clinic_id", clinics.c.id.type, primary_key=True),
        sa.Column("name_folded", sa.Text, nullable=False),
        **options,
    )
    return ReachTables(places, names)


def reach_tables(metadata: sa.MetaData, prefix: str) -> ReachTables:
    """The tables :func:`add_reach_schema` added to *metadata*."""
    return ReachTables(metadata.tables[f"{prefix}clinic_places"], metadata.tables[f"{prefix}clinic_names"])


def place_rows(clinic: Clinic) -> list[dict[str, str]]:
    """The ``clinic_places`` rows of *clinic*."""
    rules = clinic.service_area.rules
    rows = [
        {"kind": key[0], "place": key[1] if len(key) > 1 else "", "clinic_id": clinic.id} for key in area_keys(rules)
    ]
    regions = sorted({rule.region for rule in rules if rule.region is not None})
    rows += [{"kind": TOUCHES, "place": region, "clinic_id": clinic.id} for region in regions]
    return rows


def _like_anywhere(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlReach:
    """The statements of the resident's side for one store's tables."""

    @classmethod
    def of(cls, tables: Tables, prefix: str, make_clinic: Callable[[str, str, str], Clinic]) -> SqlReach:
        return cls(
            reach_tables(tables.metadata, prefix),
            clinics=tables.clinics,
            case_types=tables.case_types,
            approvals=tables.approvals,
            grants=tables.grants,
            make_clinic=make_clinic,
        )

    def __init__(
        self,
        tables: ReachTables,
        *,
        clinics: sa.Table,
        case_types: sa.Table,
        approvals: sa.Table,
        grants: sa.Table,
        make_clinic: Callable[[str, str, str], Clinic],
    ) -> None:
        self.tables = tables
        self._clinics, self._case_types, self._approvals, self._grants = clinics, case_types, approvals, grants
        self._make_clinic = make_clinic
        self._reach_statements: dict[int, sa.CompoundSelect[Any]] = {}
        self._reach_queries: dict[int, DriverQuery] = {}

    # -- writes (inside the store's transaction) ---------------------------------------

    def written(self, connection: sa.Connection, writes: Iterable[Write]) -> None:
        """Re-index every clinic a changeset puts, forget every clinic it deletes."""
        for write in writes:
            if isinstance(write, Put) and isinstance(write.record, Clinic):
                self.save(connection, write.record)
            elif isinstance(write, Delete) and isinstance(write.key, ClinicKey):
                self.forget(connection, write.key.clinic_id)

    def save(self, connection: sa.Connection, clinic: Clinic) -> None:
        self.forget(connection, clinic.id)
        rows = place_rows(clinic)
        if rows:
            connection.execute(self.tables.places.insert(), rows)
        connection.execute(self.tables.names.insert(), [{"clinic_id": clinic.id, "name_folded": fold(clinic.name)}])

    def forget(self, connection: sa.Connection, clinic_id: str) -> None:
        for table in (self.tables.places, self.tables.names):
            connection.execute(table.delete().where(table.c.clinic_id == clinic_id))

    # -- reads -------------------------------------------------------------------------

    def list_statement(self, query: ClinicQuery) -> tuple[sa.Select[Any], dict[str, Any]]:
        c, p, n = self._clinics, self.tables.places, self.tables.names
        where: list[sa.ColumnElement[bool]] = []
        params: dict[str, Any] = {"limit": query.limit}
        if query.after is not None:
            where.append(c.c.id > sa.bindparam("after"))
            params["after"] = query.after
        if query.clinic_ids is not None:
            where.append(c.c.id.in_(sa.bindparam("ids", expanding=True)))
            params["ids"] = sorted(query.clinic_ids)
        if query.region is not None:
            where.append(
                sa.exists().where(p.c.kind == TOUCHES, p.c.place == sa.bindparam("region"), p.c.clinic_id == c.c.id)
            )
            params["region"] = query.region
        if query.municipality is not None:
            covers = sa.or_(
                sa.and_(p.c.kind == "municipality", p.c.place == sa.bindparam("municipality")),
                sa.and_(p.c.kind == "region", p.c.place == sa.bindparam("municipality_region")),
            )
            where.append(sa.exists().where(covers, p.c.clinic_id == c.c.id))
            params["municipality"] = query.municipality
            params["municipality_region"] = query.municipality[:2]
        if query.name_contains is not None:
            where.append(
                sa.exists().where(
                    n.c.clinic_id == c.c.id, n.c.name_folded.like(sa.bindparam("name_pattern"), escape="\\")
                )
            )
            params["name_pattern"] = _like_anywhere(query.name_contains)
        statement = (
            sa.select(c.c.id, c.c.name, c.c.service_area)
            .where(*where)
            .order_by(c.c.id)
            .limit(sa.bindparam("limit", type_=sa.Integer))
        )
        return statement, params

    def clinics_of(self, rows: Iterable[Sequence[Any]]) -> list[Clinic]:
        return [self._make_clinic(row[0], row[1], row[2]) for row in rows]

    def reach_statement(self, request: ReachRequest) -> tuple[sa.CompoundSelect[Any], dict[str, Any]]:
        """One statement, one snapshot: rows ``(kind, clinic_id, s1, s2, s3, flag, day, t1, t2, number)``.

        Built once per number of area keys (its parameters carry the keys), so a call only binds.
        """
        params: dict[str, Any] = {"digits": request.digits}
        for i, key in enumerate(request.area):
            params[f"kind{i}"] = key[0]
            params[f"place{i}"] = key[1] if len(key) > 1 else ""
        statement = self._reach_statements.get(len(request.area))
        if statement is None:
            statement = self._reach_statements[len(request.area)] = self._build_reach(len(request.area))
        return statement, params

    def reach_query(
        self, request: ReachRequest, engine: sa.Engine, lock: contextlib.AbstractContextManager[object]
    ) -> tuple[DriverQuery, dict[str, Any]]:
        """:meth:`reach_statement` compiled once for *engine* and run on its driver (the hot path)."""
        statement, params = self.reach_statement(request)
        query = self._reach_queries.get(len(request.area))
        if query is None:
            query = self._reach_queries[len(request.area)] = DriverQuery(engine, statement, lock)  # type: ignore[arg-type]
        return query, params

    def _build_reach(self, area_keys: int) -> sa.CompoundSelect[Any]:
        c, ct, a, g, p = self._clinics, self._case_types, self._approvals, self._grants, self.tables.places
        digits = sa.bindparam("digits", type_=sa.String)
        keys = [
            sa.and_(p.c.kind == sa.bindparam(f"kind{i}"), p.c.place == sa.bindparam(f"place{i}"))
            for i in range(area_keys)
        ]
        # Computed once (a CTE named twice is materialized on every database) and joined:
        # ``IN (subquery)`` made SQLite build the candidates twice and probe them per row.
        candidates = sa.union(
            sa.select(a.c.clinic_id).where(a.c.pnr == digits),
            sa.select(g.c.clinic_id).where(g.c.pnr == digits),
            sa.select(p.c.clinic_id).where(sa.or_(*keys)),
        ).cte("candidates")
        text, flag, day, number = sa.Text(), sa.Integer(), sa.Date(), sa.BigInteger()
        time = a.c.approved_at.type

        def none(kind: sa.types.TypeEngine[Any]) -> sa.ColumnElement[Any]:
            return sa.cast(sa.null(), kind)

        def as_text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
            return sa.cast(column, text)

        statement: sa.CompoundSelect[Any] = sa.union_all(
            sa.select(
                sa.literal("c", text).label("kind"),
                as_text(c.c.id).label("clinic_id"),
                as_text(c.c.name).label("s1"),
                as_text(c.c.service_area).label("s2"),
                none(text).label("s3"),
                none(flag).label("flag"),
                none(day).label("day"),
                none(time).label("t1"),
                none(time).label("t2"),
                none(number).label("number"),
            ).select_from(candidates.join(c, c.c.id == candidates.c.clinic_id)),
            sa.select(
                sa.literal("t", text),
                as_text(ct.c.clinic_id),
                as_text(ct.c.id),
                as_text(ct.c.name),
                none(text),
                sa.case((ct.c.restricted, 1), else_=0),  # an integer: MariaDB cannot CAST to a boolean
                none(day),
                none(time),
                none(time),
                none(number),
            ).select_from(candidates.join(ct, ct.c.clinic_id == candidates.c.clinic_id)),
            sa.select(
                sa.literal("a", text),
                as_text(a.c.clinic_id),
                as_text(a.c.name),
                as_text(a.c.approved_by),
                none(text),
                none(flag),
                none(day),
                a.c.approved_at,
                none(time),
                none(number),
            ).where(a.c.pnr == digits),
            sa.select(
                sa.literal("g", text),
                as_text(g.c.clinic_id),
                as_text(g.c.case_type_id),
                as_text(g.c.name),
                as_text(g.c.granted_by),
                none(flag),
                g.c.until,
                g.c.granted_at,
                g.c.changed_at,
                sa.cast(g.c.version, number),
            ).where(g.c.pnr == digits),
        )
        return statement

    def facts_of(self, request: ReachRequest, rows: Iterable[Sequence[Any]]) -> ReachFacts:
        person = PersonalIdentityNumber.from_digits(request.digits)
        clinics: list[Clinic] = []
        case_types: list[CaseType] = []
        approvals: list[Approval] = []
        grants: list[Grant] = []
        for kind, clinic_id, s1, s2, s3, flag, day, t1, t2, number in rows:
            if kind == "t":
                case_types.append(case_type_of(clinic_id, s1, s2, bool(flag)))
            elif kind == "c":
                clinics.append(_clinic(self._make_clinic, clinic_id, s1, s2))
            elif kind == "a":
                approvals.append(Approval(clinic_id, person, s1, _utc(t1), s2))
            else:
                grants.append(Grant(clinic_id, person, s1, day, int(number), _utc(t1), s3, _utc(t2), s2))
        return ReachFacts(clinics, case_types, approvals, grants)


@functools.lru_cache(maxsize=4096)
def _clinic(make: Callable[[str, str, str], Clinic], clinic_id: str, name: str, service_area: str) -> Clinic:
    """The (immutable) clinic of these stored values, built once per distinct value."""
    return make(clinic_id, name, service_area)


def _utc(value: Any) -> dt.datetime:
    """A UNION's time column, read back aware in UTC whatever the driver made of it."""
    if isinstance(value, str):  # SQLite hands a UNION's untyped column back as text
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
