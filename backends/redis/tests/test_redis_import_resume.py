"""``careaccess import --resume`` and ``--skip-existing`` end where one clean run ends, on Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import careaccess
import pytest
from careaccess.testing.importfile import check_import_skips_existing_records, check_resumed_import_matches_a_clean_one
from redis import Redis

from conftest import delete_prefix, fresh_prefix


@pytest.fixture
def open_access(single_url: str) -> Iterator[Callable[[], careaccess.CareAccess]]:
    prefix = fresh_prefix()
    yield lambda: careaccess.connect(f"{single_url}?prefix={prefix}")
    client = Redis.from_url(single_url)
    try:
        delete_prefix(client, prefix)
    finally:
        client.close()


def test_a_resumed_import_ends_as_one_clean_run(open_access: Callable[[], careaccess.CareAccess]) -> None:
    check_resumed_import_matches_a_clean_one(open_access)


def test_skip_existing_keeps_what_was_stored(open_access: Callable[[], careaccess.CareAccess]) -> None:
    check_import_skips_existing_records(open_access)
