"""Opening a client from a URL, and telling "Redis is down" apart from a bug."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final
from urllib.parse import parse_qsl, urlencode

from careaccess import InvalidRequest, StoreUnavailable
from careaccess.identity import redact
from redis import Redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    ClusterError,
    ConnectionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TimeoutError,
    TryAgainError,
)
from redis.retry import Retry

__all__ = ["Client", "async_retry", "flag", "is_down", "reachable", "retry", "split_url", "unavailable"]

Client = Redis | RedisCluster

#: Errors that mean "Redis cannot serve this now", as opposed to a bug.
_DOWN: Final = (ConnectionError, TimeoutError, ClusterError, TryAgainError, ReadOnlyError, OutOfMemoryError)
#: Error replies with the same meaning that redis-py raises as a plain ResponseError.
_DOWN_REPLIES: Final = frozenset({"MISCONF", "NOREPLICAS", "LOADING", "MASTERDOWN", "BUSY", "CLUSTERDOWN"})
_OPTIONS: Final = ("prefix", "cluster")


def is_down(error: BaseException) -> bool:
    """Whether *error* means the server cannot serve now (retry later), not a bug."""
    if isinstance(error, _DOWN):
        return True
    if isinstance(error, ResponseError):
        return str(error).split(" ", 1)[0] in _DOWN_REPLIES
    # redis-py raises its bare cluster exception when no node can be reached at all.
    return type(error) is RedisClusterException


def unavailable(error: BaseException) -> StoreUnavailable:
    """``StoreUnavailable("store_unavailable")`` for a down-error, its text redacted."""
    return StoreUnavailable(
        "store_unavailable",
        f"Redis is unavailable ({type(error).__name__}: {redact(str(error))}); try again.",
        "Redis kan inte nås just nu; försök igen.",
    )


@contextmanager
def reachable() -> Iterator[None]:
    """Turn the down-errors raised inside into :class:`StoreUnavailable`; others pass."""
    try:
        yield
    except (RedisError, RedisClusterException) as error:
        if is_down(error):
            raise unavailable(error) from error
        raise


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL for redis-py, and the careaccess options (``prefix``, ``cluster``) taken out of it."""
    base, _, query = url.partition("?")  # not urlsplit: it would drop the '//' of unix:///path
    kept: list[tuple[str, str]] = []
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in _OPTIONS:
            options[name] = value
        else:
            kept.append((name, value))
    return (f"{base}?{urlencode(kept)}" if kept else base), options


def flag(value: str) -> bool:
    """A boolean URL option.

    :raises InvalidRequest: ``invalid_store_url`` for anything but the usual spellings.
    """
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise InvalidRequest(
        "invalid_store_url",
        f"cluster= takes true or false, not {value!r}.",
        f"cluster= tar true eller false, inte {value!r}.",
    )


def retry() -> Retry:
    """redis-py's retry policy for the store's clients."""
    # Retries span a server restart (~2 s); replay tokens make retried changesets safe.
    return Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), retries=8)


def async_retry() -> AsyncRetry:
    """The same policy as :func:`retry`, for ``redis.asyncio`` clients."""
    return AsyncRetry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), retries=8)
