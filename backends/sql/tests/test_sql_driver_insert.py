"""DriverInsert: rows given as tuples in any column order reach the driver as the dict rows do."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite

from careaccess_sql.schema import make_tables
from careaccess_sql.searchindex import GRAM_COLUMNS
from careaccess_sql.statements import DriverInsert

AT = dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC)
# The same instant in another zone: equal to AT, processed on its own.
AT_CET = AT.astimezone(dt.timezone(dt.timedelta(hours=1)))
LATER = dt.datetime(2025, 1, 15, 10, 30, tzinfo=dt.UTC)


def _events() -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "at": at,
            "actor_id": "admin",
            "action": "resident_approved",
            "clinic_id": "k1",
            "pnr": "197001010008",
            "case_type_id": None,
            "before_data": None,
            "after_data": f'{{"n":{i}}}',
        }
        for i, at in enumerate([AT, AT, AT_CET, LATER, AT])
    ]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), mysql.dialect()], ids=["sqlite", "mariadb"])
def test_tuples_in_any_order_are_the_parameters_of_the_rows(dialect: sa.Dialect) -> None:
    table = make_tables().events
    order = tuple(reversed(table.columns.keys()))
    insert = DriverInsert.of(table, dialect, order=order)
    rows = _events()
    expected = insert.parameters(rows)
    assert insert.tuples([tuple(row[name] for name in order) for row in rows]) == expected
    # Every time stored as the UTC wall clock, the instant given in another zone too.
    key: Any = insert.names.index("at") if insert.positional else "at"
    times = [row[key] for row in expected]
    assert times[0] == times[1] == times[2] == times[4] != times[3]
    assert str(times[3]).startswith("2025-01-15 10:30:00")


def test_tuples_already_in_the_drivers_order_pass_as_they_are() -> None:
    insert = DriverInsert.of(make_tables().name_grams, sqlite.dialect(), order=GRAM_COLUMNS)
    rows = [("k1", "ann", "197001010008", ""), ("k1", "nna", "197001010008", "")]
    assert insert.tuples(rows) is rows


def test_an_order_of_other_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="are not the columns"):
        DriverInsert.of(make_tables().name_grams, sqlite.dialect(), order=("clinic_id", "gram", "pnr"))
