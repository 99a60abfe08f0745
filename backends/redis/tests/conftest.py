"""Redis for the tests: the machine's server, and a three-master cluster started here.

``CAREACCESS_REDIS_URL`` names the single server (default ``redis://127.0.0.1:6379/0``).
With ``CI=true`` an unreachable server or a missing ``redis-server`` binary fails the
run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisError

from careaccess_redis import KeySchema, RedisStore
from redis_servers import RedisClusterProcesses, RedisServer, free_port, redis_server_binary, unavailable

SINGLE_URL = os.environ.get("CAREACCESS_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def single_url() -> str:
    """The single Redis server every single-node test shares (each under its own prefix)."""
    client = Redis.from_url(SINGLE_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except RedisError as error:
        unavailable(f"no Redis at {SINGLE_URL}: {error}")
    finally:
        client.close()
    return SINGLE_URL


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A three-master Redis Cluster on free loopback ports, torn down after the session."""
    cluster = RedisClusterProcesses(redis_server_binary(), tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def private_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, with the append-only file fsynced on every write."""
    durable = ["--appendonly", "yes", "--appendfsync", "always", "--enable-debug-command", "yes"]
    server = RedisServer(redis_server_binary(), tmp_path / "redis", free_port(), durable)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def fresh_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}:"


def delete_prefix(client: Redis | RedisCluster, prefix: str) -> None:
    """Delete every key under *prefix* (on every primary of a cluster)."""
    pattern = KeySchema(prefix).pattern()
    if isinstance(client, RedisCluster):
        keys = list(client.scan_iter(match=pattern, count=1000, target_nodes=RedisCluster.PRIMARIES))
    else:
        keys = list(client.scan_iter(match=pattern, count=1000))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.delete(key)
    pipe.execute()


def open_store(url: str, *, cluster: bool = False) -> Iterator[RedisStore]:
    """A fresh store under a random prefix; its keys are deleted afterwards."""
    prefix = fresh_prefix()
    store = RedisStore.from_url(f"{url}?prefix={prefix}" + ("&cluster=true" if cluster else ""))
    try:
        yield store
    finally:
        try:
            delete_prefix(store.client, prefix)
        finally:
            store.close()


@pytest.fixture
def single_store(single_url: str) -> Iterator[RedisStore]:
    yield from open_store(single_url)


@pytest.fixture
def cluster_store(cluster_url: str) -> Iterator[RedisStore]:
    yield from open_store(cluster_url, cluster=True)


@pytest.fixture(params=["single", "cluster"])
def any_store(request: pytest.FixtureRequest) -> RedisStore:
    """The store on the single server, then on the cluster."""
    store: RedisStore = request.getfixturevalue(f"{request.param}_store")
    return store
