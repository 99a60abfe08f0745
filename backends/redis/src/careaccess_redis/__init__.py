"""careaccess-redis: the careaccess store on Redis and Redis Cluster.

``careaccess.connect("redis://localhost:6379/0")`` opens it once this distribution is
installed, and ``careaccess.aio.connect`` the same URL natively on ``redis.asyncio``
(:class:`AsyncRedisStore`); see the README for the key schema, the feed's ordering promise and the
persistence settings an acknowledged change needs.
"""

from __future__ import annotations

from careaccess_redis.aio import AsyncRedisStore
from careaccess_redis.keys import KeySchema
from careaccess_redis.store import RedisStore

__all__ = ["SCHEMES", "AsyncRedisStore", "KeySchema", "RedisStore"]

__version__ = "0.1.0"

#: The URL schemes this store opens.
SCHEMES = ("redis", "rediss", "unix")
