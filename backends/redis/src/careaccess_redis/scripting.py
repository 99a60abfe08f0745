"""How the store calls Lua scripts and commands on redis-py's clients (the scripts are in :mod:`.lua`).

Scripts run by SHA (EVALSHA). When a server has lost its script cache (restart,
``SCRIPT FLUSH``, failover) the call fails with NOSCRIPT before doing anything, so the
script is loaded on every primary and the call repeated.

The decisions' scripts, which only read, are sent on one server by :func:`send_read_only`
on a connection directly, without redis-py's per-command layer (retry wrapper,
observability hooks). Taking a connection from redis-py's pool and giving it back
costs about as much again (its checks, its metrics and events: 9 µs of a 50 µs ``GET``
measured), so each pool of the plain kind keeps one connection aside for these calls
(:class:`_Reserved`), used by one caller at a time; a caller that finds it busy takes
one from the pool as before. The reserved connection is taken from the pool and never
given back, so the pool counts it in use and closes it with the others
(``client.close()``); it connects again when next used, as a pooled one would. The
reservation is kept on the pool object (so it is collected with the pool) and belongs to
the process that made it: a forked child reserves its own.
Anything unusual (NOSCRIPT, a lost connection, a timeout) answers :data:`AGAIN`, and the
caller sends the call again through the client, which loads scripts and retries as for
every other command: a script that only reads is safe to send twice. A connection on
which a call was cut short is closed, never used again with a reply still on its way.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import threading
from collections.abc import Sequence
from typing import Any, Final, Literal, Protocol, cast

from redis import Redis
from redis.client import Pipeline
from redis.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.connection import ConnectionPool
from redis.exceptions import ConnectionError, NoScriptError, RedisError, TimeoutError

from careaccess_redis.connection import is_down, unavailable

__all__ = [
    "AGAIN",
    "LOAD_ATTEMPTS",
    "AnyPipeline",
    "Client",
    "Script",
    "execute",
    "needs_load",
    "node_of",
    "primaries",
    "send_read_only",
]

Client = Redis | RedisCluster
AnyPipeline = Pipeline | ClusterPipeline


#: Calls of a script (each after loading it) before NOSCRIPT is given up on.
LOAD_ATTEMPTS = 5


class _Executes(Protocol):
    """What redis-py's (untyped) ``execute_command`` is: any command, any reply."""

    def execute_command(self, *args: Any, **options: Any) -> Any: ...


class _Routes(Protocol):
    """redis-py's (untyped) routing helpers of a cluster client."""

    def get_node_from_key(self, key: str) -> ClusterNode: ...

    def get_primaries(self) -> list[ClusterNode]: ...


def node_of(cluster: RedisCluster, key: str) -> ClusterNode:
    """The primary that serves *key*, from the client's slot map."""
    return cast(_Routes, cluster).get_node_from_key(key)


def primaries(cluster: RedisCluster) -> list[ClusterNode]:
    return cast(_Routes, cluster).get_primaries()


def execute(target: Client | AnyPipeline, *args: str | int) -> Any:
    """Send one command; on a pipeline, queue it."""
    return cast(_Executes, target).execute_command(*args)


class Script:
    """A Lua script called by SHA and loaded on demand."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def __call__(self, client: Client, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        for _ in range(LOAD_ATTEMPTS - 1):
            try:
                return execute(client, "EVALSHA", self.sha, len(keys), *keys, *args)
            except NoScriptError:
                self.load(client)  # the cache can be lost again between load and call: retry a few times
        return execute(client, "EVALSHA", self.sha, len(keys), *keys, *args)

    def queue(self, pipe: AnyPipeline, keys: Sequence[str], args: Sequence[str | int]) -> None:
        """Add a call to *pipe*; check its result with :func:`needs_load`."""
        if isinstance(pipe, ClusterPipeline):
            # Unrouted, a cluster pipeline asks a server (COMMAND GETKEYS) where each EVALSHA goes.
            node = node_of(pipe, keys[0])
            cast(_Executes, pipe).execute_command("EVALSHA", self.sha, len(keys), *keys, *args, target_nodes=node)
        else:
            execute(pipe, "EVALSHA", self.sha, len(keys), *keys, *args)

    def load(self, client: Client) -> None:
        """Load the script (on every primary of a cluster)."""
        client.script_load(self.source)

    def pipelined(self, client: Client, calls: Sequence[tuple[Sequence[str], Sequence[str | int]]]) -> list[Any]:
        """Make many calls in one pipeline (one round trip per server, or per cluster node).

        :returns: the replies, in the order of *calls*.
        :raises RedisError: the first error among the replies.
        """
        results: list[Any] = []
        for attempt in range(LOAD_ATTEMPTS):
            pipe = client.pipeline(transaction=False)
            for keys, args in calls:
                self.queue(pipe, keys, args)
            results = pipe.execute(raise_on_error=False) if calls else []
            if attempt == LOAD_ATTEMPTS - 1 or not needs_load(results):
                break
            self.load(client)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results


def needs_load(results: Sequence[Any]) -> bool:
    """Whether a pipeline's results (run with ``raise_on_error=False``) hit an unloaded script."""
    return any(isinstance(result, NoScriptError) for result in results)


# -- read-only calls on a connection directly ---------------------------------------------

#: Answered by :func:`send_read_only` where the call must go through the client.
AGAIN: Final = object()
#: A pool capped below this many connections keeps none aside (redis-py 8's ``from_url``
#: caps at 100 by default).
RESERVE_BELOW_CAP: Final = 16
#: redis-py before 5.3 wants a command name from ``ConnectionPool.get_connection``; later ones warn when given one.
_POOL_WANTS_NAME: Final = (
    inspect.signature(ConnectionPool.get_connection).parameters["command_name"].default is inspect.Parameter.empty
)


class _Reserved:
    """The connection a pool keeps aside for read-only calls, who holds it, and in which process."""

    __slots__ = ("connection", "lock", "pid")

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.lock = threading.Lock()
        self.pid = os.getpid()


#: The pool attribute the reservation is kept in: on the pool itself, so it goes with the
#: pool (a global table would keep every pool alive through its connection's references
#: back to it). False: this pool keeps none.
_ATTRIBUTE: Final = "_careaccess_reserved"
#: Serializes reserving (one connection per pool); made anew in a forked child.
_reserving = threading.Lock()


def _new_lock_in_child() -> None:
    global _reserving  # noqa: PLW0603 -- a lock held by another thread at fork time stays held in the child
    _reserving = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


def _take(pool: ConnectionPool) -> Any:
    return pool.get_connection("EVALSHA") if _POOL_WANTS_NAME else pool.get_connection()


def _keeps_one(pool: ConnectionPool) -> bool:
    """Only redis-py's plain, uncapped pool without client-side caching keeps a connection aside:
    a capped pool would lose one to it, a blocking pool would make others wait for it."""
    return (
        type(pool) is ConnectionPool
        and pool.max_connections >= RESERVE_BELOW_CAP
        and getattr(pool, "cache", None) is None
    )


def _reserved_of(pool: ConnectionPool) -> _Reserved | Literal[False] | None:
    """The pool's reserved connection in this process, reserving it on first use.

    :returns: the reservation; None where the pool keeps none; False where no connection
        can be had now (the caller goes the client's way at once, not trying again here).
    """
    held = pool.__dict__.get(_ATTRIBUTE)
    if held is False:
        return None
    if held is not None and held.pid == os.getpid():
        return cast(_Reserved, held)
    if not _keeps_one(pool):
        pool.__dict__[_ATTRIBUTE] = False
        return None
    try:
        connection = _take(pool)  # in a forked child the pool resets itself first
    except (ConnectionError, TimeoutError, OSError):
        return False  # reserved on a later call
    with _reserving:
        held = pool.__dict__.get(_ATTRIBUTE)
        if held is None or held is False or held.pid != os.getpid():
            held = pool.__dict__[_ATTRIBUTE] = _Reserved(connection)
            return held
    pool.release(connection)  # another thread reserved one first
    return cast(_Reserved, held)


def send_read_only(client: Redis, packed: list[bytes] | None, args: tuple[str | int, ...]) -> Any:
    """The reply of a read-only command sent on a connection of *client* directly.

    The command is *args*, or *packed* (its bytes, as redis-py's packer makes them) when
    given; the client must be a ``Redis`` without a single connection of its own.

    :returns: the reply, or :data:`AGAIN` where the client's own way must send it
        (NOSCRIPT, a lost connection, no connection to be had).
    :raises StoreUnavailable: the server answered that it is down (loading, a replica cut off).
    """
    pool = client.connection_pool
    reserved = _reserved_of(pool)
    if reserved is False:
        return AGAIN
    if reserved is not None and reserved.lock.acquire(blocking=False):
        try:
            return _exchange(reserved.connection, packed, args)
        finally:
            reserved.lock.release()
    try:
        connection = _take(pool)
    except (ConnectionError, TimeoutError, OSError):
        return AGAIN
    try:
        return _exchange(connection, packed, args)
    finally:
        pool.release(connection)


def _exchange(connection: Any, packed: list[bytes] | None, args: tuple[str | int, ...]) -> Any:
    """Send the command on *connection* and read its reply whole (see :func:`send_read_only`)."""
    try:
        if packed is None:
            connection.send_command(*args)
        else:
            connection.send_packed_command(packed)
        return connection.read_response()
    except NoScriptError:
        return AGAIN  # an error reply, read whole: the connection is clean; the client's way loads the script
    except (ConnectionError, TimeoutError):
        # A reply may still be on its way: this connection must never serve another call
        # as it is (the reserved one connects anew when next used).
        connection.disconnect()
        return AGAIN
    except RedisError as error:
        if is_down(error):
            raise unavailable(error) from error
        raise
    except BaseException:
        connection.disconnect()  # interrupted mid-call (a signal): as a lost connection
        raise
