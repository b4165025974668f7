"""Creates the node's Redis client: a real server, or the in-process one for the embedded default."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry  # the asyncio one: the sync Retry never awaits, so it retried nothing
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.config import Settings


def make_redis(settings: Settings) -> Redis:
    if settings.embedded_redis:
        import fakeredis

        # In-process Redis with real Lua (lupa): the same scripts run as in production.
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    return Redis.from_url(
        settings.redis_url,
        max_connections=512,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=10,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
