"""The one place a node's Redis clients are made: one server, Sentinel, Cluster, or the in-process one.

`LIVESHOP_REDIS_URL` takes `redis://` / `rediss://` (one server), `redis+sentinel://h1:p1,h2:p2/<service>[/db]`
(the client asks the Sentinels for the primary on every new connection, so a node follows a failover
without a restart) and `redis+cluster://h1:p1,h2:p2` (Redis Cluster: commands go to the shard that owns
their keys). Every Redis use -- inventory, event relay, socket.io rooms, chat, rate limits -- gets its
client here, so all of them follow the same topology.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.config import Settings
from server.redis_url import parse_redis_url

# What every server-facing client uses unless a caller overrides it.
DEFAULTS: dict[str, Any] = {
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
    "health_check_interval": 10,
}


MAX_CONNECTIONS = 512  # per node; past it a command waits for a free connection
POOL_WAIT_S = 5.0  # ...this long (a burst queues for a moment rather than failing), then errors


class SentinelBlockingPool(SentinelConnectionPool, BlockingConnectionPool):  # type: ignore[misc]
    """Sentinel's pool (it asks the Sentinels for the primary) that, at its cap, waits for a free
    connection as BlockingConnectionPool does, instead of refusing the command."""


def redis_from_url(url: str, *, pool_wait_s: float | None = None, **options: Any) -> Any:
    """A redis.asyncio client (Redis or RedisCluster) for any supported URL; `options` override DEFAULTS.
    With `pool_wait_s`, a command finding all `max_connections` busy waits that long for one to come
    free (one server and Sentinel; a Cluster client keeps its own per-shard pools)."""
    target = parse_redis_url(url)
    kwargs = {**DEFAULTS, **options}
    if target.is_cluster:
        return RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in target.hosts],
            username=target.username,
            password=target.password,
            **kwargs,
        )
    if target.is_sentinel:
        sentinel_kwargs = {
            "socket_timeout": kwargs.get("socket_connect_timeout", 2),
            "socket_connect_timeout": kwargs.get("socket_connect_timeout", 2),
        }
        if target.password:  # Sentinels usually share the data nodes' password (requirepass)
            sentinel_kwargs["password"] = target.password
        sentinel = Sentinel(target.hosts, sentinel_kwargs=sentinel_kwargs)
        if pool_wait_s is not None:
            kwargs.update(connection_pool_class=SentinelBlockingPool, timeout=pool_wait_s)
        return sentinel.master_for(
            target.service,
            db=target.db,
            username=target.username,
            password=target.password,
            check_connection=True,
            **kwargs,
        )
    if pool_wait_s is not None:
        return Redis.from_pool(BlockingConnectionPool.from_url(url, timeout=pool_wait_s, **kwargs))
    return Redis.from_url(url, **kwargs)


async def ready(client: Any) -> None:
    """A cluster client learns the slot map before its first pub/sub (a pubsub cannot route without
    it); other clients need nothing."""
    if isinstance(client, RedisCluster):
        await client.initialize()


def make_redis(settings: Settings) -> Redis:
    """The node's shared client (connection pool) for the inventory, the event relay, chat and limits."""
    if settings.embedded_redis:
        import fakeredis

        # In-process Redis with real Lua (lupa): the same scripts run as in production.
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    client: Redis = redis_from_url(
        settings.redis_url,
        max_connections=MAX_CONNECTIONS,
        pool_wait_s=POOL_WAIT_S,
        # A failover takes Sentinel a second or more: a few quick retries ride out a dropped
        # connection, and anything longer answers 503 rather than holding requests.
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return client
