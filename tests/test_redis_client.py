"""The node's Redis client rides over a Redis restart: a command on a pooled connection that the
server closed is retried on a fresh one instead of failing the request."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.exceptions import MaxConnectionsError

from server.redis_client import make_redis, redis_from_url
from tests.conftest import make_settings
from tests.services import PostgresDatabase, RedisServer


async def test_first_commands_after_a_redis_restart_succeed_on_fresh_connections(
    pg_database: PostgresDatabase,
) -> None:
    redis_server = RedisServer()
    redis_server.start()
    try:
        redis = make_redis(make_settings(pg_database, redis_server))
        script = redis.register_script("return tonumber(ARGV[1]) + 1")
        # fill the pool with connections that the restart will close under the client
        assert await asyncio.gather(*[script(args=[i]) for i in range(20)]) == [i + 1 for i in range(20)]
        redis_server.restart()
        assert await asyncio.gather(*[script(args=[i]) for i in range(20)]) == [i + 1 for i in range(20)]
        await redis.aclose()
    finally:
        redis_server.stop()


async def test_a_burst_past_the_pools_cap_waits_for_a_free_connection_instead_of_failing(
    redis_server: RedisServer,
) -> None:
    """Fifty commands that each hold a connection for 50 ms, through a pool of four: the pool queues
    them (as a flash sale's burst past `max_connections` queues on a node) and every one answers."""
    waiting = redis_from_url(redis_server.url, max_connections=4, pool_wait_s=5.0)
    refusing = redis_from_url(redis_server.url, max_connections=4)
    try:
        burst = [waiting.blpop([f"nothing:{uuid.uuid4().hex}"], timeout=0.05) for _ in range(50)]
        assert await asyncio.gather(*burst) == [None] * 50
        with pytest.raises(MaxConnectionsError):  # what a burst met before: a refusal at the cap
            await asyncio.gather(*(refusing.blpop([f"nothing:{i}"], timeout=0.05) for i in range(50)))
    finally:
        await waiting.aclose()
        await refusing.aclose()
