"""Shared by the tests and the workload script: where the test PostgreSQL server is."""

from __future__ import annotations

import os

import sqlalchemy as sa

__all__ = ["DEFAULT_POSTGRESQL", "in_ci", "postgresql_server_url", "schema_url"]

DEFAULT_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def postgresql_server_url() -> sa.URL:
    """The test server, from ``CAREACCESS_TEST_POSTGRESQL`` or the local default."""
    return sa.make_url(os.environ.get("CAREACCESS_TEST_POSTGRESQL", DEFAULT_POSTGRESQL))


def schema_url(schema: str, **options: str) -> str:
    """A store URL for *schema* on the test server, with more query options."""
    url = postgresql_server_url()
    return url.update_query_dict({"schema": schema, **options}).render_as_string(hide_password=False)
