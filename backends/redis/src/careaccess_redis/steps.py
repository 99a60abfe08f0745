"""The store's reads and writes as plain steps, run by a blocking or an asyncio client.

Each operation of the store that talks to Redis is written once, as a generator that
*yields* what it needs sent — a :class:`Command`, a script :class:`Call`, or a
:class:`Batch` of them for one pipeline — and is sent the reply back (sans-IO). Which
client sends them is the driver's business: :func:`run` drives a step generator on a
``redis.Redis`` or ``redis.cluster.RedisCluster``, :func:`arun` on their
``redis.asyncio`` twins. So the planning, the key schema, the scripts and the decoding
are shared by :class:`~careaccess_redis.RedisStore` and
:class:`~careaccess_redis.aio.AsyncRedisStore`, and only the sending differs.

Both drivers load a script and repeat the call when a server answers NOSCRIPT (its
script cache lost), at most :data:`careaccess_redis.scripting.LOAD_ATTEMPTS` times, and turn
down-errors into :class:`~careaccess.errors.StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, TypeVar, cast

from attrs import frozen
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

from careaccess_redis import scripting
from careaccess_redis.connection import Client, is_down, reachable, unavailable

__all__ = ["Batch", "Call", "Command", "Op", "Steps", "arun", "command", "run"]

T = TypeVar("T")


@frozen
class Command:
    """One Redis command, as ``execute_command`` takes it; the reply is redis-py's (decoded)."""

    args: tuple[str | int, ...]


@frozen
class Call:
    """One call of a :class:`~careaccess_redis.scripting.Script` by SHA; the reply is the script's."""

    script: scripting.Script
    keys: Sequence[str]
    args: Sequence[str | int] = ()


@frozen
class Batch:
    """Commands and calls sent as one pipeline (no transaction); the reply is their list.

    With ``raise_on_error`` the first error is raised; without it errors stand in the
    list in their place (a NOSCRIPT is handled by the driver either way).
    """

    ops: tuple[Command | Call, ...]
    raise_on_error: bool = True


Op = Command | Call | Batch
#: A step generator: yields operations, is sent their replies, returns its result.
Steps = Generator[Op, Any, T]


def command(*args: str | int) -> Command:
    return Command(args)


def _redis_error(error: BaseException) -> BaseException:
    return unavailable(error) if is_down(error) else error


def _scripts(batch: Batch) -> list[scripting.Script]:
    return list({op.script.sha: op.script for op in batch.ops if isinstance(op, Call)}.values())


def _finish(batch: Batch, results: list[Any]) -> list[Any]:
    if batch.raise_on_error:
        for result in results:
            if isinstance(result, Exception):
                raise _redis_error(result)
    return results


# -- blocking ------------------------------------------------------------------------------


def run(client: Client, steps: Steps[T]) -> T:
    """Drive *steps* on a blocking client to its result."""
    try:
        op = next(steps)
        while True:
            with reachable():
                reply = _send(client, op)
            op = steps.send(reply)
    except StopIteration as stop:
        return cast(T, stop.value)


def _send(client: Client, op: Op) -> Any:
    if isinstance(op, Command):
        return scripting.execute(client, *op.args)
    if isinstance(op, Call):
        return op.script(client, op.keys, op.args)
    results: list[Any] = []
    for attempt in range(scripting.LOAD_ATTEMPTS):
        pipe = client.pipeline(transaction=False)
        for queued in op.ops:
            if isinstance(queued, Call):
                queued.script.queue(pipe, queued.keys, queued.args)
            else:
                scripting.execute(pipe, *queued.args)
        results = pipe.execute(raise_on_error=False)
        if attempt == scripting.LOAD_ATTEMPTS - 1 or not scripting.needs_load(results):
            break
        for script in _scripts(op):
            script.load(client)
    return _finish(op, results)


# -- asyncio -------------------------------------------------------------------------------


async def arun(client: Any, steps: Steps[T]) -> T:
    """Drive *steps* on a ``redis.asyncio`` client (``Redis`` or ``RedisCluster``) to its result."""
    try:
        op = next(steps)
        while True:
            try:
                reply = await _asend(client, op)
            except (RedisError, RedisClusterException) as error:
                if is_down(error):
                    raise unavailable(error) from error
                raise
            op = steps.send(reply)
    except StopIteration as stop:
        return cast(T, stop.value)


async def _asend(client: Any, op: Op) -> Any:
    if isinstance(op, Command):
        return await client.execute_command(*op.args)
    if isinstance(op, Call):
        return await _acall(client, op)
    results: list[Any] = []
    for attempt in range(scripting.LOAD_ATTEMPTS):
        pipe = client.pipeline(transaction=False)
        for queued in op.ops:
            if isinstance(queued, Call):
                _aqueue(pipe, queued)
            else:
                pipe.execute_command(*queued.args)
        results = await pipe.execute(raise_on_error=False)
        if attempt == scripting.LOAD_ATTEMPTS - 1 or not scripting.needs_load(results):
            break
        for script in _scripts(op):
            await client.script_load(script.source)
    return _finish(op, results)


async def _acall(client: Any, call: Call) -> Any:
    args = ("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)
    for _ in range(scripting.LOAD_ATTEMPTS - 1):
        try:
            return await client.execute_command(*args)
        except NoScriptError:
            # NOSCRIPT is answered before the script runs: nothing was done, so it is safe to repeat.
            await client.script_load(call.script.source)
    return await client.execute_command(*args)


def _aqueue(pipe: Any, call: Call) -> None:
    args = ("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)
    cluster = getattr(pipe, "cluster_client", None)
    if cluster is not None and call.keys:
        # Routed by its first key, as the blocking cluster pipeline is (see scripting.Script.queue).
        pipe.execute_command(*args, target_nodes=cluster.get_node_from_key(call.keys[0]))
    else:
        pipe.execute_command(*args)
