"""Fixtures that start real things: Redis, PostgreSQL, a liveshop node on a free port, HTTP clients."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.auth import create_host
from server.api.context import DB
from server.app import build_app
from server.clock import ShiftedClock
from server.config import Settings
from tests.api_client import Api
from tests.services import TEST_SECRET, TRUSTED_TEST_CLIENTS, PostgresDatabase, RedisServer, private_services

# recordings (the HLS replays) of every node the tests start go to a private folder, never the repo
os.environ.setdefault("LIVESHOP_RECORDINGS_DIR", tempfile.mkdtemp(prefix="liveshop-recordings-"))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PostgresDatabase]:
    db = PostgresDatabase()
    db.create()
    yield db
    db.drop()


def make_settings(pg: PostgresDatabase, redis: RedisServer, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": pg.url,
        "redis_url": redis.url,
        "secret": TEST_SECRET,
        "hold_seconds": 120,
        "sweep_interval_s": 0.2,
        "log_level": "WARNING",
        "run_worker": False,
        "trusted_clients": TRUSTED_TEST_CLIENTS,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(pg_database: PostgresDatabase, redis_server: RedisServer) -> Settings:
    return make_settings(pg_database, redis_server)


async def start_app(
    settings: Settings, *, background: bool = True, clock: ShiftedClock | None = None
) -> tuple[web.Application, TestServer]:
    """A real node listening on 127.0.0.1:<free port>, in this process, on a clock tests can move."""
    app = build_app(settings, background=background, clock=clock or ShiftedClock())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return app, server


@pytest.fixture(scope="session")
def clock() -> ShiftedClock:
    """The session node's clock: move it by seconds at most (holds and offers of the session share it)."""
    return ShiftedClock()


@pytest.fixture(scope="session")
async def node(settings: Settings, clock: ShiftedClock) -> AsyncIterator[tuple[web.Application, TestServer]]:
    app, server = await start_app(settings, clock=clock)
    yield app, server
    await server.close()


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


@pytest.fixture
async def api(node: tuple[web.Application, TestServer], http: aiohttp.ClientSession) -> Api:
    _, server = node
    return Api(http, str(server.make_url("")).rstrip("/"))


async def new_host(app: web.Application, api: Api) -> str:
    """A fresh host account, logged in over HTTP; returns its bearer token."""
    email = f"host-{uuid.uuid4().hex[:10]}@example.com"
    await create_host(app[DB], email, "host-password-1")
    return await api.login(email, "host-password-1")


@pytest.fixture
async def host(node: tuple[web.Application, TestServer], api: Api) -> str:
    return await new_host(node[0], api)


@pytest.fixture(scope="session")
def own_clock_services() -> Iterator[tuple[PostgresDatabase, RedisServer]]:
    """A database and a Redis for nodes on a moved clock alone. On the session's, the session node's
    sweeper (on the real clock) would act on their offers and auctions between a test's own passes,
    and their passes (hours ahead) would end the session node's offers."""
    with private_services() as services:
        yield services


@pytest.fixture
async def own_clock_node(
    own_clock_services: tuple[PostgresDatabase, RedisServer], http: aiohttp.ClientSession
) -> AsyncIterator[tuple[web.Application, Api, ShiftedClock]]:
    """A node of its own whose clock may jump past hold expiries and offer windows (minutes, hours);
    no background sweeper anywhere on its services: the test runs `sweep_once` when it wants a pass."""
    clock = ShiftedClock()
    app, server = await start_app(make_settings(*own_clock_services), background=False, clock=clock)
    yield app, Api(http, str(server.make_url("")).rstrip("/")), clock
    await server.close()


# Kinds the quick loop (`make test-quick`: -m "not browser and not media and not slow") leaves out;
# the full suite, CI's command, runs them all. Files mark themselves too; this names the rest.
_KINDS: dict[str, tuple[str, ...]] = {
    "browser": (
        "tests/web/test_browser.py",
        "tests/web/test_hls_browser.py",
        "tests/web/test_report_browser.py",
        "tests/media/test_browser.py",
    ),
    "media": ("tests/media/",),
    "slow": (
        "tests/loadtests/",  # Locust runs and deployments of child processes
        "tests/live/test_two_processes.py",
        "tests/live/test_audience_two_processes.py",
        "tests/live/test_js_client.py",
        "tests/live/test_resilience.py",  # stops and restarts Redis
        "tests/mirror/test_worker_crash.py",
        "tests/mirror/test_spike.py",
        "tests/mirror/test_contracts.py",
        "tests/inventory/test_rush.py",
        "tests/inventory/test_inventory_stateful.py",
        "tests/inventory/test_redis_loss.py",
        "tests/inventory/test_redis_fence.py",
        "tests/test_cli_bench.py",  # console-script child processes
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        where = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        for kind, paths in _KINDS.items():
            if any(where.startswith(p) for p in paths):
                item.add_marker(getattr(pytest.mark, kind))
