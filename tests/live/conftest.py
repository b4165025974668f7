"""Real socket.io clients of /live, and a room (host, live broadcast, product) to point them at."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import orjson
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.api_client import Api
from tests.conftest import new_host
from tests.services import PostgresDatabase, RedisServer, ServerProcess, server_env

NS = "/live"


class _Orjson:
    """The clients' codec: orjson decodes the room's frames at a fraction of json's cost, so a test
    process holding a thousand viewers spends its time on the room, not on parsing."""

    @staticmethod
    def dumps(data: Any, **_: Any) -> str:
        return orjson.dumps(data).decode()

    @staticmethod
    def loads(raw: Any, **_: Any) -> Any:
        return orjson.loads(raw)


class RoomClient:
    """One viewer (or host) connection that records every event it receives."""

    def __init__(self, url: str, token: str, http_session: aiohttp.ClientSession | None = None) -> None:
        """`http_session`: the sockets' own session (one bound to a source address, say)."""
        self.url = url
        self.token = token
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.2,
            reconnection_delay_max=1,
            http_session=http_session,
            json=_Orjson,
        )
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Event()
        for name in (
            "chat",
            "chat_deleted",
            "pinned",
            "offer",
            "viewers",
            "broadcast",
            "snapshot",
            "chat_settings",
            "auction",
            "outbid",
            "second_chance",
            "error",
            "reservation",
            "claimed",
            "coupon",
        ):
            self.sio.on(name, self._recorder(name), namespace=NS)

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            self.events[name].append(data)
            self._changed.set()

        return record

    async def connect(self) -> RoomClient:
        await self.sio.connect(
            self.url, namespaces=[NS], auth={"token": self.token}, transports=["websocket"], wait_timeout=10
        )
        return self

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:  # noqa: ASYNC109
        return await self.sio.call(event, data, namespace=NS, timeout=timeout)

    async def join(self, broadcast_id: str) -> dict[str, Any]:
        snap = await self.call("join", {"broadcast_id": broadcast_id})
        assert "error" not in snap, snap
        return snap

    def chat_texts(self) -> list[str]:
        return [m["text"] for batch in self.events["chat"] for m in batch]

    async def wait(self, predicate: Callable[[], Any], timeout: float = 10, what: str = "") -> Any:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what or predicate}; events={dict(self.events)}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))
            except TimeoutError:
                pass

    async def close(self) -> None:
        await self.sio.disconnect()


async def eventually(predicate: Callable[[], Any], timeout: float = 10, what: str = "") -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Clients:
    def __init__(self) -> None:
        self.items: list[RoomClient] = []

    async def __call__(self, url: str, token: str) -> RoomClient:
        client = RoomClient(url, token)
        self.items.append(client)
        return await client.connect()


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:
    made = Clients()
    yield made
    # asyncio.wait, not wait_for: a disconnect that swallows cancellation must not hang the teardown
    closing = [asyncio.ensure_future(c.close()) for c in made.items]
    if closing:
        await asyncio.wait(closing, timeout=5)
    for task in closing:
        if task.done() and not task.cancelled():
            task.exception()


class Room:
    def __init__(self, api: Api, host: str, broadcast: dict[str, Any], product: dict[str, Any]) -> None:
        self.api = api
        self.host = host
        self.broadcast = broadcast
        self.id: str = broadcast["id"]
        self.product = product


async def make_room(app: web.Application, api: Api) -> Room:
    host = await new_host(app, api)
    b = await api.broadcast(host)
    r = await api.call("POST", f"/api/v1/broadcasts/{b['id']}/start", token=host)
    assert r.status == 200, r.body
    product = await api.product(host, stock=1000)
    return Room(api, host, b, product)


@pytest.fixture
async def room(node: tuple[web.Application, TestServer], api: Api) -> Room:
    return await make_room(node[0], api)


@pytest.fixture
def node_url(node: tuple[web.Application, TestServer]) -> str:
    return str(node[1].make_url("")).rstrip("/")


@pytest.fixture(scope="session")
def two_nodes(
    pg_database: PostgresDatabase, redis_server: RedisServer, node: tuple[web.Application, TestServer]
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two real `serve` processes sharing the session's Redis and PostgreSQL (the node migrated it)."""
    env = server_env(
        pg_database.url, redis_server.url, LIVESHOP_RUN_WORKER="false", LIVESHOP_SWEEP_INTERVAL_S="0.2"
    )
    procs = (ServerProcess(env), ServerProcess(env))
    for p in procs:
        p.start()
    yield procs
    for p in procs:
        p.stop()


@pytest.fixture
async def two_apis(
    two_nodes: tuple[ServerProcess, ServerProcess], http: aiohttp.ClientSession
) -> tuple[Api, Api]:
    a, b = two_nodes
    return Api(http, a.url), Api(http, b.url)
