"""``careaccess import --resume`` and ``--skip-existing`` on the in-memory store."""

from __future__ import annotations

import datetime as dt

import careaccess
from careaccess.testing.importfile import check_import_skips_existing_records, check_resumed_import_matches_a_clean_one


def _open() -> careaccess.CareAccess:
    return careaccess.connect("memory://", clock=lambda: dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC))


def test_a_resumed_import_ends_as_one_clean_run() -> None:
    check_resumed_import_matches_a_clean_one(_open)


def test_skip_existing_keeps_what_was_stored() -> None:
    check_import_skips_existing_records(_open)
