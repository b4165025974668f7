"""The other halves of surviving a sale: PostgreSQL restarting under it, and a node dying mid-checkout."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.api_client import Api
from tests.services import RedisServer, ServerProcess
from tests.survival import RushLog, guests, host_token, orders_of, rush, settled_audit, start_nodes
from tests.topologies import PrivatePostgres

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

QUANTITY = 200


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200), timeout=aiohttp.ClientTimeout(total=20)
    ) as session:
        yield session


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.start()
    yield pg
    pg.destroy()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


async def _sale(api: Api, database_url: str, redis_url: str, buyers: int) -> tuple[dict, list[str]]:
    host = await host_token(api, database_url, redis_url)
    product = await api.product(host, stock=QUANTITY)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=QUANTITY, per_buyer_limit=1)
    return offer, await guests(api, buyers)


async def _books_hold(database_url: str, redis_url: str, offer_id: str, log: RushLog) -> int:
    orders = await orders_of(database_url, offer_id)
    sold = sum(orders.values())
    assert sold <= QUANTITY, f"oversold: {sold} of {QUANTITY}"
    assert set(log.confirmed) <= set(orders), "a buyer told 'confirmed' has no order"
    assert not log.unexpected, log.unexpected[:5]
    report = await settled_audit(database_url, redis_url, [offer_id], within_s=45)
    assert report.ok, report.as_dict()
    return sold


async def test_postgres_restart_mid_sale_loses_no_confirmed_order_and_oversells_nothing(
    http: aiohttp.ClientSession, private_pg: PrivatePostgres, private_redis: RedisServer
) -> None:
    nodes = start_nodes(private_pg.url, private_redis.url)
    try:
        apis = [Api(http, n.url) for n in nodes]
        offer, tokens = await _sale(apis[0], private_pg.url, private_redis.url, QUANTITY * 3)
        log = RushLog()
        deadline = time.monotonic() + 75
        buying = rush(apis, offer["id"], tokens, log, deadline)
        assert await log.wait_confirmed(50, deadline) >= 50, "the rush ended before the fault"
        before = len(log.confirmed)
        in_flight = sum(log.checking_out.values())
        down = time.monotonic()
        await asyncio.to_thread(private_pg.restart, 1.0)
        up = time.monotonic()
        await buying
        sold = await _books_hold(private_pg.url, private_redis.url, offer["id"], log)
        assert sold == len(log.confirmed) == QUANTITY  # three buyers per unit: everything sells
        print(
            f"\nPostgreSQL restart mid-sale: down {up - down:.1f}s with {in_flight} checkouts in flight "
            f"({before} confirmed before); {len(log.confirmed)} confirmed, {sold} sold; 503s retried "
            f"{log.unavailable}; holds lost {log.holds_lost}"
        )
    finally:
        for n in nodes:
            n.stop()


async def test_node_killed_mid_checkout_loses_no_confirmed_order_and_its_holds_come_back(
    http: aiohttp.ClientSession, private_pg: PrivatePostgres, private_redis: RedisServer
) -> None:
    nodes: list[ServerProcess] = start_nodes(private_pg.url, private_redis.url)
    try:
        apis = [Api(http, n.url) for n in nodes]
        offer, tokens = await _sale(apis[1], private_pg.url, private_redis.url, QUANTITY * 3)
        log = RushLog()
        deadline = time.monotonic() + 90
        buying = rush(apis, offer["id"], tokens, log, deadline)
        assert await log.wait_confirmed(50, deadline) >= 50, "the rush ended before the fault"
        victim = nodes[0]
        in_flight = log.checking_out[apis[0].base]
        assert victim.proc is not None
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        victim.proc = None
        killed = time.monotonic()
        await buying
        took = time.monotonic() - killed
        sold = await _books_hold(private_pg.url, private_redis.url, offer["id"], log)
        assert sold == len(log.confirmed) == QUANTITY
        assert in_flight > 0, "no checkout was in flight on the killed node"
        print(
            f"\nNode SIGKILLed mid-checkout with {in_flight} checkouts in flight on it: {sold} sold, "
            f"{len(log.confirmed)} confirmed; the survivor finished the sale {took:.1f}s after the kill "
            f"(stuck checkouts settle at their deadline); holds lost {log.holds_lost}"
        )
    finally:
        for n in nodes:
            n.stop()
