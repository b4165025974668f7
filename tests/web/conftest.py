"""Browser tests run demo shops whose pages list every product they can see: each module's shop gets a
database of its own, so products that other tests made never show up in (or get clicked on) its pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import PostgresDatabase, RedisServer, ServerProcess, server_env


@pytest.fixture(scope="module")
def shop_database() -> Iterator[PostgresDatabase]:
    db = PostgresDatabase()
    db.create()
    yield db
    db.drop()


@pytest.fixture(scope="module")
def shop(shop_database: PostgresDatabase, redis_server: RedisServer) -> Iterator[ServerProcess]:
    """A demo shop on real services, in its own process, as ops would run it (one per test module)."""
    node = ServerProcess(server_env(shop_database.url, redis_server.url), args=("--demo",))
    node.start()
    yield node
    node.stop()
