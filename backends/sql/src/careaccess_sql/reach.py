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
snapshot): one row per candidate clinic, with the clinic's case types aggregated by the
database into one JSON array (``json_group_array`` on SQLite, ``json_agg`` on
PostgreSQL, ``JSON_ARRAYAGG`` on MariaDB), and one row per approval and grant of the
resident. A clinic row is structured once per distinct stored value (a cache keyed by
the values themselves, so a changed clinic is never served stale).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
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
        self._reach_statements: dict[tuple[str, int], sa.CompoundSelect[Any]] = {}
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

    def reach_statement(
        self, request: ReachRequest, dialect: str = "sqlite"
    ) -> tuple[sa.CompoundSelect[Any], dict[str, Any]]:
        """One statement, one snapshot: rows ``(kind, clinic_id, s1, s2, s3, day, t1, t2, number)``.

        A ``c`` row per candidate clinic carries its name, service area and case types
        (one JSON array, aggregated by the database); ``a`` and ``g`` rows the
        resident's approvals and grants. Built once per dialect and number of area keys
        (its parameters carry the keys), so a call only binds.
        """
        params: dict[str, Any] = {"digits": request.digits}
        for i, key in enumerate(request.area):
            params[f"kind{i}"] = key[0]
            params[f"place{i}"] = key[1] if len(key) > 1 else ""
        shape = (dialect, len(request.area))
        statement = self._reach_statements.get(shape)
        if statement is None:
            statement = self._reach_statements[shape] = self._build_reach(dialect, len(request.area))
        return statement, params

    def reach_query(
        self, request: ReachRequest, engine: sa.Engine, lock: contextlib.AbstractContextManager[object]
    ) -> tuple[DriverQuery, dict[str, Any]]:
        """:meth:`reach_statement` compiled once for *engine* and run on its driver (the hot path).

        Its columns carry no result processors: :meth:`facts_of` converts the few
        values that need it (times and dates of the resident's records) itself.
        """
        statement, params = self.reach_statement(request, engine.dialect.name)
        query = self._reach_queries.get(len(request.area))
        if query is None:
            query = self._reach_queries[len(request.area)] = DriverQuery(engine, statement, lock)  # type: ignore[arg-type]
        return query, params

    def _types_json(self, dialect: str) -> sa.ColumnElement[Any]:
        """A clinic's case types as one JSON array of ``[id, name, restricted]`` (NULL or ``[]`` when none)."""
        ct, c = self._case_types, self._clinics
        if dialect == "postgresql":
            items = sa.func.json_agg(sa.func.json_build_array(ct.c.id, ct.c.name, ct.c.restricted))
            aggregated: sa.ColumnElement[Any] = sa.cast(items, sa.Text())
        elif dialect in ("mysql", "mariadb"):
            aggregated = sa.func.JSON_ARRAYAGG(sa.func.JSON_ARRAY(ct.c.id, ct.c.name, ct.c.restricted))
        else:
            aggregated = sa.func.json_group_array(sa.func.json_array(ct.c.id, ct.c.name, ct.c.restricted))
        return sa.select(aggregated).where(ct.c.clinic_id == c.c.id).scalar_subquery()

    def _build_reach(self, dialect: str, area_keys: int) -> sa.CompoundSelect[Any]:
        c, a, g, p = self._clinics, self._approvals, self._grants, self.tables.places
        digits = sa.bindparam("digits", type_=sa.String)
        keys = [
            sa.and_(p.c.kind == sa.bindparam(f"kind{i}"), p.c.place == sa.bindparam(f"place{i}"))
            for i in range(area_keys)
        ]
        candidates = sa.union(
            sa.select(a.c.clinic_id).where(a.c.pnr == digits),
            sa.select(g.c.clinic_id).where(g.c.pnr == digits),
            sa.select(p.c.clinic_id).where(sa.or_(*keys)),
        ).cte("candidates")
        text, day, number = sa.Text(), sa.Date(), sa.BigInteger()
        time = a.c.approved_at.type

        def none(kind: sa.types.TypeEngine[Any]) -> sa.ColumnElement[Any]:
            return sa.cast(sa.null(), kind)

        def raw(column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[Any]:
            # The driver's value as is: no result processor runs on the many clinic rows.
            return sa.type_coerce(column, sa.types.NullType()).label(name)

        def as_text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
            return sa.cast(column, text)

        statement: sa.CompoundSelect[Any] = sa.union_all(
            sa.select(
                raw(sa.literal("c", text), "kind"),
                raw(as_text(c.c.id), "clinic_id"),
                raw(as_text(c.c.name), "s1"),
                raw(as_text(c.c.service_area), "s2"),
                raw(self._types_json(dialect), "s3"),
                raw(none(day), "day"),
                raw(none(time), "t1"),
                raw(none(time), "t2"),
                raw(none(number), "number"),
            ).select_from(candidates.join(c, c.c.id == candidates.c.clinic_id)),
            sa.select(
                sa.literal("a", text),
                as_text(a.c.clinic_id),
                as_text(a.c.name),
                as_text(a.c.approved_by),
                none(text),
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
        make = self._make_clinic
        for kind, clinic_id, s1, s2, s3, day, t1, t2, number in rows:
            if kind == "c":
                clinic, types = _clinic(make, clinic_id, s1, s2, s3)
                clinics.append(clinic)
                case_types += types
            elif kind == "a":
                approvals.append(Approval(clinic_id, person, s1, _utc(t1), s2))
            else:
                grants.append(Grant(clinic_id, person, s1, _day(day), int(number), _utc(t1), s3, _utc(t2), s2))
        return ReachFacts(clinics, case_types, approvals, grants)


@functools.lru_cache(maxsize=4096)
def _clinic(
    make: Callable[[str, str, str], Clinic], clinic_id: str, name: str, service_area: str, types: str | None
) -> tuple[Clinic, tuple[CaseType, ...]]:
    """The (immutable) clinic and case types of these stored values, built once per distinct value.

    *types* is the JSON array of ``[id, name, restricted]`` the statement aggregated
    (``restricted`` a boolean or 0/1, by database); None when the clinic has none.
    """
    listed = sorted(json.loads(types) if types else (), key=_first)
    return make(clinic_id, name, service_area), tuple(
        case_type_of(clinic_id, str(type_id), str(type_name), bool(restricted))
        for type_id, type_name, restricted in listed
    )


def _first(item: Sequence[Any]) -> Any:
    return item[0]


def _day(value: Any) -> dt.date | None:
    """A UNION's date column (SQLite hands it back as text)."""
    if value is None or type(value) is dt.date:
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError(f"expected a date from the database, got {type(value).__name__}")


def _utc(value: Any) -> dt.datetime:
    """A UNION's time column, read back aware in UTC whatever the driver made of it."""
    if isinstance(value, str):  # SQLite hands a UNION's untyped column back as text
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
