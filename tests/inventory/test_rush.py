"""Rushes over real HTTP against a separate server process: the offer never oversells."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from server.api.auth import create_host
from server.db.engine import make_engine, make_sessionmaker
from tests.api_client import Api
from tests.conftest import make_settings
from tests.services import PostgresDatabase, RedisServer, ServerProcess, server_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node_process(pg_database: PostgresDatabase, redis_server: RedisServer) -> Iterator[ServerProcess]:
    proc = ServerProcess(server_env(pg_database.url, redis_server.url))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
async def rush_api(node_process: ServerProcess) -> AsyncIterator[Api]:
    connector = aiohttp.TCPConnector(limit=400)
    async with aiohttp.ClientSession(connector=connector) as http:
        yield Api(http, node_process.url)


async def _host_token(api: Api, pg_database: PostgresDatabase, redis_server: RedisServer) -> str:
    engine = make_engine(make_settings(pg_database, redis_server))
    email = f"rush-{uuid.uuid4().hex[:8]}@example.com"
    await create_host(make_sessionmaker(engine), email, "rush-password")
    await engine.dispose()
    return await api.login(email, "rush-password")


async def _guests(api: Api, n: int) -> list[str]:
    sem = asyncio.Semaphore(100)

    async def one(i: int) -> str:
        async with sem:
            return await api.guest(f"buyer{i}")

    return list(await asyncio.gather(*(one(i) for i in range(n))))


Attempt = tuple[str, int, int, str | None, str | None]  # token, qty, status, code, hold id


async def _rush(api: Api, offer_id: str, attempts: list[tuple[str, int]]) -> list[Attempt]:
    """Fire every attempt at once (bounded by the connector's 400 connections)."""

    async def one(token: str, qty: int) -> Attempt:
        r = await api.reserve(token, offer_id, qty, key=uuid.uuid4().hex)
        return token, qty, r.status, r.code, r.body.get("id") if r.status == 201 else None

    return list(await asyncio.gather(*(one(t, q) for t, q in attempts)))


async def _offer_state(api: Api, offer_id: str) -> dict:
    return dict((await api.call("GET", f"/api/v1/offers/{offer_id}")).body)


async def test_rush_of_5000_claims_from_1000_buyers_sells_exactly_the_quantity(
    rush_api: Api, pg_database: PostgresDatabase, redis_server: RedisServer
) -> None:
    host = await _host_token(rush_api, pg_database, redis_server)
    product = await rush_api.product(host, stock=1000)
    broadcast = await rush_api.broadcast(host)
    offer = await rush_api.offer(host, broadcast["id"], product["id"], quantity=100, per_buyer_limit=10)
    buyers = await _guests(rush_api, 1000)
    attempts = [(b, 1) for b in buyers for _ in range(5)]
    random.shuffle(attempts)

    results = await _rush(rush_api, offer["id"], attempts)

    outcomes = Counter((status, code) for _, _, status, code, _ in results)
    assert outcomes[(201, None)] == 100, outcomes
    assert outcomes[(409, "sold_out")] == 4900, outcomes
    assert sum(outcomes.values()) == 5000
    state = await _offer_state(rush_api, offer["id"])
    assert state["available"] + state["held"] + state["sold"] == 100
    assert (state["available"], state["held"]) == (0, 100)


async def test_rush_with_multi_unit_claims_and_per_buyer_limits_never_oversells(
    rush_api: Api, pg_database: PostgresDatabase, redis_server: RedisServer
) -> None:
    host = await _host_token(rush_api, pg_database, redis_server)
    product = await rush_api.product(host, stock=1000)
    broadcast = await rush_api.broadcast(host)
    offer = await rush_api.offer(host, broadcast["id"], product["id"], quantity=100, per_buyer_limit=3)
    buyers = await _guests(rush_api, 1000)
    rng = random.Random(7)
    attempts = [(b, rng.randint(1, 3)) for b in buyers for _ in range(5)]
    rng.shuffle(attempts)

    results = await _rush(rush_api, offer["id"], attempts)

    held_by: Counter[str] = Counter()
    for token, qty, status, code, _ in results:
        if status == 201:
            held_by[token] += qty
        else:
            assert status == 409 and code in ("sold_out", "limit_exceeded"), (status, code)
    assert sum(held_by.values()) == 100
    assert max(held_by.values()) <= 3
    state = await _offer_state(rush_api, offer["id"])
    assert (state["available"], state["held"], state["sold"]) == (0, 100, 0)

    # Half the winners check out while the crowd keeps trying: still exactly 100 units, none twice.
    winners = [(token, qty, hold) for token, qty, status, _, hold in results if status == 201]
    paying = winners[::2]
    late = [(b, 1) for b in buyers[:500]]
    checkouts, more = await asyncio.gather(
        asyncio.gather(*(rush_api.checkout(t, h, key=uuid.uuid4().hex) for t, _, h in paying)),
        _rush(rush_api, offer["id"], late),
    )
    assert all(r.status == 201 for r in checkouts), [r.body for r in checkouts if r.status != 201][:3]
    assert all(status == 409 for _, _, status, _, _ in more)
    paid_units = sum(q for _, q, _ in paying)
    state = await _offer_state(rush_api, offer["id"])
    assert (state["available"], state["held"], state["sold"]) == (0, 100 - paid_units, paid_units)
