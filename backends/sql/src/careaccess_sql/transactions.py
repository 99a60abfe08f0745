"""Running statements: reads without a transaction, writes in one, and what a failure becomes.

- A read is one statement on the autocommit pool; a connection found dead (a server
  restart, a failover) is replaced and the read runs once more.
- A write transaction that loses a race the database caught (a unique key, a deadlock,
  a MariaDB lock wait timeout) runs again, up to :data:`ATTEMPTS` times, at once: the
  rerun's precondition checks see the winner and report its conflict, so waiting would
  only add latency. A transaction whose connection died before COMMIT runs once more on
  a new connection. Anything else is :class:`~careaccess.errors.StoreUnavailable`.

Never a database message in an error or log: drivers quote the offending row, and
with it identity numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from careaccess.errors import Conflict, StoreUnavailable

from careaccess_sql.driverquery import ConnectionLostError

__all__ = ["ATTEMPTS", "Runner", "unavailable"]

T = TypeVar("T")

#: Lost unique-key races and deadlocks are retried this often before giving up.
ATTEMPTS = 8
# PostgreSQL: serialization_failure, deadlock_detected.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})
# MariaDB (PyMySQL reports error numbers): deadlock found, lock wait timeout exceeded.
_RETRY_MARIADB_ERRORS = frozenset({1213, 1205})
_CONNECTION_ERRORS = (sa.exc.DBAPIError, sa.exc.DisconnectionError, sa.exc.TimeoutError)


class _RetryError(Exception):
    """The transaction lost a race the database caught; run it again."""


class _ReconnectError(Exception):
    """The connection died before COMMIT was sent; run the transaction again on a new one."""


def unavailable(error: BaseException) -> StoreUnavailable:
    """``store_unavailable``, naming only the error's type (its text may quote a row)."""
    return StoreUnavailable(
        "store_unavailable",
        f"The database is unavailable ({type(error).__name__}); nothing was half-written. Try again later.",
        "Databasen går inte att nå; inget har sparats till hälften. Försök igen senare.",
    )


def _sqlstate(error: sa.exc.DBAPIError) -> str | None:
    state = getattr(error.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def _retryable(error: sa.exc.DBAPIError) -> bool:
    """A deadlock or similar: the transaction was rolled back and may simply run again."""
    if _sqlstate(error) in _RETRY_SQLSTATES:
        return True
    args: tuple[Any, ...] = getattr(error.orig, "args", ())
    return bool(args) and args[0] in _RETRY_MARIADB_ERRORS


class Runner:
    """Runs reads and write transactions on a store's two engines.

    :param reader: the autocommit engine single-statement reads use.
    :param writer: the engine write transactions use.
    :param serial: held around each use of a connection (in-memory SQLite shares one).
    """

    def __init__(self, reader: sa.Engine, writer: sa.Engine, serial: contextlib.AbstractContextManager[object]) -> None:
        self._reader = reader
        self._writer = writer
        self._serial = serial
        self._driver_error: type[Exception] = reader.dialect.loaded_dbapi.Error

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Database connection failures become StoreUnavailable."""
        try:
            yield
        except _CONNECTION_ERRORS as error:
            raise unavailable(error) from error

    def read(self, run: Callable[[sa.Connection], T]) -> T:
        """Run a read; a connection found dead (e.g. after a server restart) is replaced once.

        :raises StoreUnavailable: the database cannot be reached.
        """
        for attempt in range(2):
            try:
                with self._serial, self._reader.connect() as connection:
                    return run(connection)
            except _CONNECTION_ERRORS as error:
                if attempt == 0 and isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
                    continue
                raise unavailable(error) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def driver_read(self, run: Callable[[dict[str, Any]], T], params: dict[str, Any]) -> T:
        """Like :meth:`read`, for a :class:`~careaccess_sql.driverquery.DriverQuery`'s ``first`` or ``all``."""
        for attempt in range(2):
            try:
                return run(params)
            except ConnectionLostError as lost:
                if attempt == 0:
                    continue  # the dead connection left the pool; the next one is fresh
                raise unavailable(lost.error) from lost.error
            except (sa.exc.SQLAlchemyError, self._driver_error) as error:  # no connection, pool timeout, ...
                raise unavailable(error) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def transact(self, work: Callable[[sa.Connection], T]) -> T:
        """Run *work* in one write transaction and commit it.

        A lost unique-key race or a deadlock runs *work* again (its checks then see the
        winner); a connection that died before COMMIT runs it once more on a new one.

        :raises Conflict: whatever *work* raises; ``constraint_violated`` when a key or
            reference refused the writes every time; ``concurrent_change`` when the
            races never ended.
        :raises StoreUnavailable: the database failed; the change is either fully
            committed or not at all (a failure during COMMIT cannot say which).
        """
        reconnects = 1
        last: BaseException | None = None
        for _ in range(ATTEMPTS):
            try:
                return self._transact_once(work)
            except _RetryError as retry:
                last = retry.__cause__
            except _ReconnectError as dead:
                if reconnects == 0 or dead.__cause__ is None:
                    raise unavailable(dead) from dead.__cause__
                reconnects -= 1
        if isinstance(last, sa.exc.IntegrityError):
            # Every precondition held, yet a key or reference refused the writes each time.
            raise Conflict(
                "constraint_violated",
                "The change breaks a key or reference the database enforces; nothing was written.",
                "Ändringen bryter mot en nyckel eller referens i databasen; inget sparades.",
            ) from None  # the database's message quotes the row, identity number included
        raise Conflict(
            "concurrent_change",
            "The change kept clashing with concurrent changes; reload and try again.",
            "Ändringen krockade gång på gång med samtidiga ändringar; ladda om och försök igen.",
        ) from last

    def _transact_once(self, work: Callable[[sa.Connection], T]) -> T:
        committing = False
        try:
            with self._serial, self._writer.connect() as connection:
                transaction = connection.begin()
                try:
                    result = work(connection)
                except BaseException:
                    transaction.rollback()
                    raise
                committing = True
                transaction.commit()
                return result
        except sa.exc.IntegrityError as error:
            raise _RetryError from error  # a racing writer inserted first; the next check sees it
        except _CONNECTION_ERRORS as error:
            if not committing and isinstance(error, sa.exc.DBAPIError):
                if _retryable(error):
                    raise _RetryError from error
                if error.connection_invalidated:
                    # The transaction never reached COMMIT, so it left nothing: safe to run again.
                    raise _ReconnectError from error
            raise unavailable(error) from error
