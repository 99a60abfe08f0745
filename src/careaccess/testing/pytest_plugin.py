"""pytest fixtures for projects that use careaccess (registered as the ``careaccess`` pytest11 plugin).

Fixtures:

- ``careaccess_url``: the store URL; ``--careaccess-url``, else the ``careaccess_url`` ini
  option, else ``memory://``. Define a fixture of the same name to choose it in code.
- ``careaccess_clock``: a :class:`~careaccess.testing.clock.FrozenClock` at
  :data:`START`; move it with ``set`` or ``advance``.
- ``careaccess_directory``: an empty :class:`~careaccess.StaticDirectory`; ``add``
  residents to it so decisions and approvals can look them up.
- ``careaccess_plugins``: the plugins passed to :func:`careaccess.connect` (default: the
  directory); override it to add your own.
- ``careaccess_access``: a :class:`~careaccess.CareAccess` connected to that URL with
  that clock and those plugins, closed after the test.
- ``careaccess_clinic``: a new :class:`~careaccess.Clinic` with a unique id, without a
  service area, saved through the API.
- ``careaccess_actor``: an :class:`~careaccess.Actor` administering exactly that clinic.

careaccess itself is imported only when a test asks for one of these fixtures, so the
plugin costs nothing in test runs that do not use it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from careaccess import Actor, CareAccess, Clinic, StaticDirectory
    from careaccess.testing.clock import FrozenClock

__all__ = ["DEFAULT_URL", "START"]

#: The store URL when neither the command line, the ini file nor a fixture names one.
DEFAULT_URL: Final = "memory://"
#: Where ``careaccess_clock`` starts: 09:30 in Stockholm on 15 January 2026.
START: Final = dt.datetime(2026, 1, 15, 8, 30, tzinfo=dt.UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("careaccess")
    group.addoption(
        "--careaccess-url",
        dest="careaccess_url",
        default=None,
        metavar="URL",
        help=f"store URL for careaccess_access (default: the careaccess_url ini option, else {DEFAULT_URL})",
    )
    parser.addini("careaccess_url", help=f"store URL for the careaccess_access fixture (default: {DEFAULT_URL})")


@pytest.fixture
def careaccess_url(request: pytest.FixtureRequest) -> str:
    """The store URL the ``careaccess_access`` fixture connects to."""
    option: str | None = request.config.getoption("careaccess_url")
    ini: str = request.config.getini("careaccess_url")
    return option or ini or DEFAULT_URL


@pytest.fixture
def careaccess_clock() -> FrozenClock:
    """A clock frozen at :data:`START` until the test moves it."""
    from careaccess.testing.clock import FrozenClock  # noqa: PLC0415 - keeps pytest startup free of careaccess

    return FrozenClock(START)


@pytest.fixture
def careaccess_directory() -> StaticDirectory:
    """An empty resident directory plugin; ``add`` the residents a test needs."""
    from careaccess import StaticDirectory  # noqa: PLC0415 - keeps pytest startup free of careaccess

    return StaticDirectory()


@pytest.fixture
def careaccess_plugins(careaccess_directory: StaticDirectory) -> list[object]:
    """The plugins ``careaccess_access`` is connected with."""
    return [careaccess_directory]


@pytest.fixture
def careaccess_access(
    careaccess_url: str, careaccess_clock: FrozenClock, careaccess_plugins: list[object]
) -> Iterator[CareAccess]:
    """A connected :class:`~careaccess.CareAccess`, closed after the test."""
    import careaccess  # noqa: PLC0415 - keeps pytest startup free of careaccess

    access = careaccess.connect(careaccess_url, plugins=careaccess_plugins, clock=careaccess_clock)
    try:
        yield access
    finally:
        access.close()


@pytest.fixture
def careaccess_clinic(careaccess_access: CareAccess) -> Clinic:
    """A clinic with a unique id (also unique in a store shared between test runs), saved."""
    from careaccess import Actor, Clinic  # noqa: PLC0415 - keeps pytest startup free of careaccess

    clinic_id = f"test-{uuid.uuid4().hex[:16]}"
    clinic = Clinic(clinic_id, "Testmottagningen")
    careaccess_access.put_clinic(Actor("careaccess-pytest", frozenset({clinic_id})), clinic)
    return clinic


@pytest.fixture
def careaccess_actor(careaccess_clinic: Clinic) -> Actor:
    """A local administrator of ``careaccess_clinic`` and of no other clinic."""
    from careaccess import Actor  # noqa: PLC0415 - keeps pytest startup free of careaccess

    return Actor(f"admin-{careaccess_clinic.id}", frozenset({careaccess_clinic.id}))
