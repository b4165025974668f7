"""The node's Redis client rides over a Redis restart: a command on a pooled connection that the
server closed is retried on a fresh one instead of failing the request."""

from __future__ import annotations

import asyncio

from server.redis_client import make_redis
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
