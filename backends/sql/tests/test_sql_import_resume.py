"""``careaccess import --resume`` and ``--skip-existing`` end where one clean run ends, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import careaccess
import pytest
from careaccess.testing.importfile import check_import_skips_existing_records, check_resumed_import_matches_a_clean_one

from careaccess_sql import SqlStore


@pytest.fixture(params=["sqlite", "postgresql"])
def open_access(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], careaccess.CareAccess]:
    url = (
        f"sqlite:///{tmp_path / 'care.db'}" if request.param == "sqlite" else request.getfixturevalue("postgresql_url")
    )
    return lambda: careaccess.connect(SqlStore.open(url, create=True))


def test_a_resumed_import_ends_as_one_clean_run(open_access: Callable[[], careaccess.CareAccess]) -> None:
    check_resumed_import_matches_a_clean_one(open_access)


def test_skip_existing_keeps_what_was_stored(open_access: Callable[[], careaccess.CareAccess]) -> None:
    check_import_skips_existing_records(open_access)
