"""Mirror fixtures: the four platform sandboxes over real HTTP, a node whose mirror points at them,
and a delivery worker the test starts and stops."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.auth import TOKENS, Principal
from server.api.context import DB, INVENTORY
from server.app import build_app
from server.config import MirrorSettings, Settings
from server.mirror.sandbox.common import STATE, Faults
from server.mirror.sandbox.run import Sandboxes, start
from server.mirror.state import MIRROR
from server.mirror.worker import Worker
from tests.api_client import Api
from tests.conftest import make_settings, new_host
from tests.services import private_services

FAST = {
    "mirror_poll_s": 0.05,
    "mirror_order_poll_s": 0.5,
    "mirror_stock_interval_s": 0.5,
    "mirror_lease_s": 3.0,
    "mirror_max_attempts": 40,
    "mirror_backoff_base_s": 0.05,
    "mirror_backoff_max_s": 1.0,
    "mirror_timeout_s": 1.0,
    "mirror_reconcile_s": 2.0,
}


def config_for(boxes: Sandboxes, **overrides: Any) -> MirrorSettings:
    values: dict[str, Any] = {k.removeprefix("LIVESHOP_").lower(): v for k, v in boxes.env().items()}
    values.update(FAST)
    values.update(overrides)
    return MirrorSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
async def sandboxes() -> AsyncIterator[Sandboxes]:
    boxes = await start(options={"shopify": {"bucket_size": 2000, "restore_rate": 2000}})
    yield boxes
    await boxes.close()


@pytest.fixture
async def calm(sandboxes: Sandboxes) -> Sandboxes:
    """Sandboxes without injected faults (each test that wants faults sets them)."""
    for app in sandboxes.apps.values():
        app[STATE].faults = Faults()
        app[STATE].webhook_url = ""
    return sandboxes


@pytest.fixture(scope="session")
def mirror_settings() -> Iterator[Settings]:
    """The mirror tests' own database and Redis. A worker mirrors every product it finds: on the
    session's database that is every other test's too, and by the spike's turn in the suite the
    worker was working off thousands of other SKUs (the spike's convergence went past a minute)."""
    with private_services() as services:
        # a small pool: the machine's PostgreSQL is shared with the rest of the suite
        yield make_settings(*services, db_pool_size=8)


@pytest.fixture(scope="session")
async def mirror_node(
    mirror_settings: Settings, sandboxes: Sandboxes
) -> AsyncIterator[tuple[web.Application, TestServer]]:
    app = build_app(mirror_settings, background=False)
    app[MIRROR].config = config_for(sandboxes)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield app, server
    await server.close()


@pytest.fixture
async def mapi(mirror_node: tuple[web.Application, TestServer], http: aiohttp.ClientSession) -> Api:
    return Api(http, str(mirror_node[1].make_url("")).rstrip("/"))


@pytest.fixture
async def mhost(mirror_node: tuple[web.Application, TestServer], mapi: Api) -> str:
    return await new_host(mirror_node[0], mapi)


@pytest.fixture
async def worker(mirror_node: tuple[web.Application, TestServer], calm: Sandboxes) -> AsyncIterator[Worker]:
    app = mirror_node[0]
    w = Worker(app[DB], app[INVENTORY], app[MIRROR].config)
    await w.start()
    yield w
    await w.stop()


def viewer_token(app: web.Application) -> str:
    """A viewer token minted directly (the guest route is not what these tests are about)."""
    uid = "us_" + uuid.uuid4().hex[:16]
    return app[TOKENS].issue(Principal(uid, "viewer", "buyer"))


async def buy(api: Api, token: str, offer_id: str, quantity: int = 1) -> int:
    """Reserve and check out; returns the units sold (0 if sold out)."""
    hold = await api.reserve(token, offer_id, quantity, key=uuid.uuid4().hex)
    if hold.status != 201:
        return 0
    order = await api.checkout(token, hold.body["id"], key=uuid.uuid4().hex)
    assert order.status == 201, order.body
    return quantity


async def eventually(
    check: Callable[[], Awaitable[bool]],
    within: float = 30.0,
    every: float = 0.1,
) -> float:
    """Seconds until `check()` is true; fails the test after `within` seconds."""
    start = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - start
        if time.monotonic() - start > within:
            raise AssertionError(f"not reached within {within}s")
        await asyncio.sleep(every)


def sku() -> str:
    return "MX-" + uuid.uuid4().hex[:10].upper()
