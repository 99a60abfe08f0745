"""Fixtures: a seeded library on SQLite or PostgreSQL, the app, a live server and a browser.

PostgreSQL comes from ``CAREACCESS_TEST_POSTGRESQL`` (default: the local server); each
test gets its own schema, dropped afterwards. Chromium is Debian's ``/usr/bin/chromium``.
An unreachable server or a missing Chromium skips those tests, except under ``CI=true``,
where it fails them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest
import sqlalchemy as sa
from careaccess import CareAccess, StaticDirectory, connect
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.applications import Starlette
from starlette.testclient import TestClient

from careaccess_admin import Admin, create_app
from careaccess_admin.demo import DEMO_PASSWORD, DEMO_USER, demo_admins, demo_residents, seed_demo
from support import CHROMIUM, in_ci, launch, live_server, log_in

DEFAULT_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def admins() -> dict[str, Admin]:
    """The demo admins, with a cheap argon2 hash so each log-in takes milliseconds, not a second."""
    cheap = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return demo_admins(cheap.hash(DEMO_PASSWORD))


@pytest.fixture(scope="session")
def postgresql_admin() -> Iterator[sa.Engine]:
    url = sa.make_url(os.environ.get("CAREACCESS_TEST_POSTGRESQL", DEFAULT_POSTGRESQL))
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        engine.dispose()
        _unavailable(f"PostgreSQL at {url.render_as_string()} is unreachable: {error.orig}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgresql_url(postgresql_admin: sa.Engine) -> Iterator[str]:
    """A store URL on a new schema, dropped with everything in it afterwards."""
    schema = f"careaccess_admin_test_{secrets.token_hex(6)}"
    with postgresql_admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = postgresql_admin.url.update_query_dict({"schema": schema, "create": "true"})
    yield url.render_as_string(hide_password=False)
    with postgresql_admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'care.db'}"
    url: str = request.getfixturevalue("postgresql_url")
    return url


def open_seeded(url: str) -> CareAccess:
    access = connect(url, plugins=[StaticDirectory(demo_residents())])
    seed_demo(access)
    return access


@pytest.fixture
def access() -> Iterator[CareAccess]:
    """The demo world in memory (fast unit tests; the browser tests use SQLite and PostgreSQL)."""
    service = open_seeded("memory://")
    yield service
    service.close()


@pytest.fixture
def app(access: CareAccess, admins: dict[str, Admin]) -> Starlette:
    return create_app(access, admins, secret_key=b"unit-test-key")


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


# -- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def world(store_url: str) -> Iterator[CareAccess]:
    """The demo world on SQLite and on PostgreSQL."""
    service = open_seeded(store_url)
    yield service
    service.close()


@pytest.fixture
def base_url(world: CareAccess, admins: dict[str, Admin]) -> Iterator[str]:
    """The app on *world*, served on a free port."""
    with live_server(create_app(world, admins, secret_key=secrets.token_bytes(32))) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="sv-SE", viewport={"width": 1200, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def logged_in(page: Page, base_url: str) -> Page:
    """A browser page logged in as the demo administrator."""
    log_in(page, base_url, DEMO_USER, DEMO_PASSWORD)
    return page
