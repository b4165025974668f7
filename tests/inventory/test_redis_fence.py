"""Counters another Redis process wrote (a failover, a restart from a file) are never trusted: the
offer is rebuilt from PostgreSQL, keeping only the holds that still fit, before any claim is served."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from redis.crc import key_slot

from server.api.context import DB, INVENTORY
from server.commerce.auctions import AUCTION_BOOK, end_auction
from server.commerce.coupons import COUPON_BOOK
from server.commerce.giveaways.service import ENTRY_BOOK
from server.config import Settings
from server.inventory.audit import run_audit
from server.inventory.engine import Inventory
from server.inventory.keys import auction_keys, giveaway_keys, offer_keys
from server.inventory.scripts import NAMES, source
from server.redis_url import parse_redis_url
from tests.api_client import Api
from tests.conftest import make_settings, new_host, start_app
from tests.services import TEST_SECRET, PostgresDatabase, RedisServer

AUCTION_SCRIPTS = {"bid", "auction_load", "auction_close", "auction_view"}
GIVEAWAY_SCRIPTS = {"giveaway_enter", "giveaway_load"}
COUPON_SCRIPTS = {"coupon_redeem", "coupon_return", "coupon_load", "coupon_view"}


def test_redis_urls_for_one_server_sentinel_and_cluster() -> None:
    sentinel = parse_redis_url("redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26380/shop/2")
    assert (sentinel.hosts, sentinel.service, sentinel.db, sentinel.password) == (
        [("10.0.0.1", 26379), ("10.0.0.2", 26380)],
        "shop",
        2,
        "pw",
    )
    assert parse_redis_url("redis+sentinel://a,b:1/shop").hosts == [("a", 26379), ("b", 1)]
    assert parse_redis_url("redis+cluster://r1:7000,r2:7001").hosts == [("r1", 7000), ("r2", 7001)]
    base = {"database_url": "postgresql+asyncpg://u@h/db", "secret": TEST_SECRET}
    for good in ("redis://h:6379/0", "rediss://h", "redis+sentinel://h:26379/shop", "redis+cluster://h:7000"):
        assert Settings(redis_url=good, **base).redis_url == good  # type: ignore[arg-type]
    for bad in ("http://h", "redis+sentinel://h:1", "redis+sentinel://h:1/s/x", "redis+cluster://h:1/0"):
        with pytest.raises(ValueError):
            Settings(redis_url=bad, **base)  # type: ignore[arg-type]


class _Recorder:
    """Wraps a registered script and records the keys of every call."""

    def __init__(self, name: str, script: Any, calls: list[tuple[str, list[str]]]) -> None:
        self.name, self.script, self.calls = name, script, calls

    async def __call__(self, keys: list[str], args: list[Any]) -> Any:
        self.calls.append((self.name, list(keys)))
        return await self.script(keys=keys, args=args)


async def test_every_inventory_script_touches_one_cluster_slot(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app, _ = node
    inventory: Inventory = app[INVENTORY]
    calls: list[tuple[str, list[str]]] = []
    book = app[AUCTION_BOOK]  # the auction scripts run on the book's own registration
    entries = app[ENTRY_BOOK]  # and the giveaway scripts on the entry book's
    coupons = app[COUPON_BOOK]  # and the coupon scripts on the coupon book's
    owners = {
        name: book.scripts
        if name in AUCTION_SCRIPTS
        else entries.scripts
        if name in GIVEAWAY_SCRIPTS
        else coupons.scripts
        if name in COUPON_SCRIPTS
        else inventory.scripts
        for name in NAMES
    }
    originals = {name: getattr(owners[name], name) for name in NAMES}
    for name, script in originals.items():
        setattr(owners[name], name, _Recorder(name, script, calls))
    try:
        product = await api.product(host, stock=10)
        broadcast = await api.broadcast(host)
        offer = await api.offer(host, broadcast["id"], product["id"], quantity=5)
        buyers = [await api.guest() for _ in range(3)]
        holds = [(await api.reserve(b, offer["id"])).body["id"] for b in buyers]
        order = await api.checkout(buyers[0], holds[0])
        assert order.status == 201
        # a paid order's units are sold once, a refunded one's come back (the payment paths' scripts);
        # the buyer is the hold's owner, as the checkout recorded it
        owner = (await api.call("GET", "/api/v1/auth/me", token=buyers[0])).body["user"]["id"]
        await inventory.pay(holds[0], order.body["id"], owner, 1)
        await inventory.unsell(holds[0], order.body["id"], owner, 1, was_sold=True)
        assert (await api.call("DELETE", f"/api/v1/reservations/{holds[1]}", token=buyers[1])).status == 204
        await app[INVENTORY].redis.hset(offer_keys(offer["id"])[0], "epoch", "another-process")
        assert (await api.reserve(buyers[1], offer["id"])).status == 201  # stale: rebuilt, then served
        await inventory.sweep(offer["id"])
        assert (await api.call("POST", f"/api/v1/offers/{offer['id']}/end", token=host)).status == 200
        lot = {"product_id": product["id"], "starting_bid": 100, "increment": 10, "duration_s": 60}
        auction = (
            await api.call("POST", f"/api/v1/broadcasts/{broadcast['id']}/auctions", token=host, json=lot)
        ).body
        bids = f"/api/v1/auctions/{auction['id']}/bids"
        assert (await api.call("POST", bids, token=buyers[0], json={"amount": 100})).status == 201
        await book.redis.hset(auction_keys(auction["id"])[0], "epoch", "another-process")
        assert (await api.call("POST", bids, token=buyers[1], json={"amount": 110})).status == 201  # rebuilt
        assert await end_auction(app, auction["id"], force=True) is not None
        prize = {"product_id": product["id"]}
        giveaway = (
            await api.call("POST", f"/api/v1/broadcasts/{broadcast['id']}/giveaways", token=host, json=prize)
        ).body
        entries_path = f"/api/v1/giveaways/{giveaway['id']}/entries"
        assert (await api.call("POST", entries_path, token=buyers[0])).status == 201
        await entries.redis.hset(giveaway_keys(giveaway["id"])[0], "epoch", "another-process")
        assert (await api.call("POST", entries_path, token=buyers[1])).status == 201  # rebuilt, then served
        assert (await api.call("POST", entries_path, token=buyers[0])).status == 200  # still in, once
        code = {
            "code": "FENCE" + uuid.uuid4().hex[:6].upper(),
            "percent_off": 10,
            "max_uses": 5,
            "duration_s": 600,
        }
        made = await api.call("POST", f"/api/v1/broadcasts/{broadcast['id']}/coupons", token=host, json=code)
        assert made.status == 201, made.body
        coupon = made.body
        use = f"{offer['id']}.fence"
        assert (await coupons.redeem(coupon["id"], use, "us_fence")).code == "ok"
        assert await coupons.give_back(coupon["id"], use)
        assert (await coupons.count(coupon["id"])).used == 0
    finally:
        for name, script in originals.items():
            setattr(owners[name], name, script)
    used = {name for name, _ in calls}
    assert used == set(NAMES), set(NAMES) - used
    for name, keys in calls:
        assert keys, name
        assert len({key_slot(k.encode()) for k in keys}) == 1, (name, keys)
    # Each script is called with exactly the keys its header documents.
    for name, keys in calls:
        header = next(line for line in source(name).splitlines() if line.startswith("-- KEYS:"))
        assert len(keys) == len(header.split(":", 1)[1].split(",")), (name, header, keys)


async def _sold(api: Api, offer_id: str) -> dict[str, Any]:
    return dict((await api.call("GET", f"/api/v1/offers/{offer_id}")).body)


async def test_counters_from_another_redis_process_are_rebuilt_keeping_the_holds_that_survived(
    api: Api, host: str, node: tuple[web.Application, TestServer], redis_server: RedisServer
) -> None:
    """What a promoted replica looks like: the old primary's counters, missing its last writes."""
    app, _ = node
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=4, per_buyer_limit=1)
    oid = offer["id"]
    state, holds_key, expiry, buyers_key, idem = offer_keys(oid)
    raw = Redis.from_url(redis_server.url)
    buyers = [await api.guest(f"b{i}") for i in range(6)]
    kept = (await api.reserve(buyers[0], oid, key="k0")).body["id"]
    sold_hold = (await api.reserve(buyers[1], oid)).body["id"]
    snapshot = {k: await raw.dump(k) for k in (state, holds_key, expiry, buyers_key, idem)}
    # Writes after the snapshot: an order (its settle is lost), and a hold that is lost entirely.
    order = await api.checkout(buyers[1], sold_hold, key=uuid.uuid4().hex)
    assert order.status == 201
    lost = (await api.reserve(buyers[2], oid, key="k2")).body["id"]
    # The "new primary": the snapshot, as another Redis process wrote it.
    for key, value in snapshot.items():
        await raw.delete(key)
        if value is not None:
            await raw.restore(key, 0, value)
    await raw.hset(state, "epoch", "0" * 40)
    await raw.aclose()

    # The next claim finds the counters stale and waits for the rebuild: PostgreSQL's order counts.
    r = await api.reserve(buyers[3], oid)
    assert r.status == 201, r.body
    counters = await _sold(api, oid)
    assert (counters["available"], counters["held"], counters["sold"]) == (1, 2, 1)
    assert app[INVENTORY].stats["rebuilds"] >= 1
    # The buyer who paid cannot buy again; the surviving hold still checks out; the lost one is expired.
    assert (await api.reserve(buyers[1], oid)).code == "limit_exceeded"
    assert (await api.checkout(buyers[2], lost)).code == "reservation_expired"
    assert (await api.checkout(buyers[0], kept)).status == 201
    # A keyed retry of the lost claim claims anew instead of replaying a hold that is gone.
    again = await api.reserve(buyers[2], oid, key="k2")
    assert again.status == 201 and again.body["id"] != lost
    assert (await _sold(api, oid))["sold"] == 2
    report = await run_audit(app[DB], app[INVENTORY], [oid])
    assert report.ok, report.as_dict()


async def test_a_redis_restart_from_its_append_only_file_rebuilds_and_keeps_every_hold(
    pg_database: PostgresDatabase, http: aiohttp.ClientSession
) -> None:
    """A restart that lost nothing is still another process: the counters are rebuilt, and every hold
    it kept stays good, so a lossless restart costs no buyer anything."""
    redis_server = RedisServer("--appendonly", "yes", "--appendfsync", "always")
    redis_server.start()
    app, server = await start_app(make_settings(pg_database, redis_server))
    try:
        api = Api(http, str(server.make_url("")).rstrip("/"))
        host = await new_host(app, api)
        product = await api.product(host, stock=5)
        broadcast = await api.broadcast(host)
        offer = await api.offer(host, broadcast["id"], product["id"], quantity=5, per_buyer_limit=1)
        buyers = [await api.guest(f"b{i}") for i in range(4)]
        holds = [(await api.reserve(b, offer["id"])).body["id"] for b in buyers[:3]]
        assert (await api.checkout(buyers[0], holds[0])).status == 201
        kept_before = app[INVENTORY].stats["holds_kept"]
        await asyncio.to_thread(redis_server.restart)  # SIGTERM: the file has every write

        assert (await api.reserve(buyers[3], offer["id"])).status == 201
        counters = await _sold(api, offer["id"])
        assert (counters["available"], counters["held"], counters["sold"]) == (1, 3, 1)
        assert app[INVENTORY].stats["holds_kept"] - kept_before == 2
        for token, hold in zip(buyers[1:3], holds[1:3], strict=True):
            assert (await api.checkout(token, hold)).status == 201
        report = await run_audit(app[DB], app[INVENTORY], [offer["id"]])
        assert report.ok, report.as_dict()
    finally:
        await server.close()
        redis_server.stop()
