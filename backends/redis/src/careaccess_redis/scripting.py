"""How the store calls Lua scripts and commands on redis-py's clients (the scripts are in :mod:`.lua`).

Scripts run by SHA (EVALSHA). When a server has lost its script cache (restart,
``SCRIPT FLUSH``, failover) the call fails with NOSCRIPT before doing anything, so the
script is loaded on every primary and the call repeated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol, cast

from redis import Redis
from redis.client import Pipeline
from redis.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.exceptions import NoScriptError

__all__ = ["LOAD_ATTEMPTS", "AnyPipeline", "Client", "Script", "execute", "needs_load", "node_of", "primaries"]

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
