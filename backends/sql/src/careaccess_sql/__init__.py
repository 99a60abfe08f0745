"""careaccess-sql: the careaccess store on SQLite (embedded), PostgreSQL or MariaDB (production).

Install it and open a store by URL::

    import careaccess
    access = careaccess.connect("sqlite:///careaccess.db")
    access = careaccess.connect("postgresql+psycopg://app@db/care?prefix=ca_")
    access = careaccess.connect("mariadb+pymysql://app@db/care")

From asyncio, ``careaccess.aio.connect("postgresql://...")`` opens :class:`AsyncSqlStore`
(psycopg's asyncio connections); SQLite and MariaDB run in worker threads there.

See the README for the URL options and ``careaccess db upgrade --store URL``.
"""

from __future__ import annotations

from careaccess_sql.aio import AsyncSqlStore
from careaccess_sql.migrate import SchemaMismatch, head_revision
from careaccess_sql.options import SCHEMES, StoreOptions, parse_url
from careaccess_sql.store import SqlStore

__all__ = ["SCHEMES", "AsyncSqlStore", "SchemaMismatch", "SqlStore", "StoreOptions", "head_revision", "parse_url"]

__version__ = "0.1.0"
