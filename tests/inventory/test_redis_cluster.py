"""Redis Cluster of three masters under two nodes: offers spread over the shards, a rush on all of them
keeps the books, and chat and offer events cross from one node to the other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import redis
from redis.crc import key_slot

from server.inventory.keys import offer_keys
from tests.api_client import Api
from tests.live.conftest import RoomClient
from tests.services import ServerProcess
from tests.survival import RushLog, buy, guests, host_token, orders_of, settled_audit, start_nodes
from tests.topologies import ClusterSet, PrivatePostgres

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

UNITS = 40  # per offer
MAX_OFFERS = 30


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterSet]:
    topology = ClusterSet(masters=3)
    yield topology
    topology.stop()


@pytest.fixture(scope="module")
def nodes(private_pg: PrivatePostgres, cluster: ClusterSet) -> Iterator[list[ServerProcess]]:
    nodes = start_nodes(private_pg.url, cluster.url)
    yield nodes
    for node in nodes:
        node.stop()


def shard_of(cluster: ClusterSet, key: str) -> int:
    """The port of the master that owns `key`'s slot."""
    slot = key_slot(key.encode())
    for start, end, owner, *_ in redis.Redis(port=cluster.nodes[0].port).execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return int(owner[1])
    raise AssertionError(f"no shard owns slot {slot}")


async def test_cluster_rush_on_offers_over_every_shard_keeps_the_books_and_events_cross_nodes(
    apis: list[Api], nodes: list[ServerProcess], private_pg: PrivatePostgres, cluster: ClusterSet
) -> None:
    a, b = apis
    host = await host_token(a, private_pg.url, cluster.url)
    product = await a.product(host, stock=UNITS * MAX_OFFERS)
    broadcast = await a.broadcast(host)
    assert (await a.call("POST", f"/api/v1/broadcasts/{broadcast['id']}/start", token=host)).status == 200
    watcher = await RoomClient(nodes[1].url, await b.guest("watcher-b")).connect()
    talker = await RoomClient(nodes[0].url, await a.guest("talker-a")).connect()
    try:
        await watcher.join(broadcast["id"])
        await talker.join(broadcast["id"])
        assert (await talker.call("chat", {"text": "hello over the cluster"}))["ok"]
        await watcher.wait(lambda: "hello over the cluster" in watcher.chat_texts(), what="chat from a on b")

        # Offers until every shard owns one (ids are random; the hash tag decides the slot).
        offers: list[dict] = []
        shards: dict[int, list[str]] = {}
        while len(shards) < len(cluster.nodes) and len(offers) < MAX_OFFERS:
            offer = await a.offer(host, broadcast["id"], product["id"], quantity=UNITS, per_buyer_limit=1)
            offers.append(offer)
            owner = shard_of(cluster, offer_keys(offer["id"])[0])
            shards.setdefault(owner, []).append(offer["id"])
            for key in offer_keys(offer["id"]):
                assert shard_of(cluster, key) == owner
        assert len(shards) == len(cluster.nodes), shards
        await watcher.wait(
            lambda: {o["id"] for o in watcher.events["offer"]} >= {o["id"] for o in offers},
            what="every offer's start, made on a, reaches b",
        )

        units = UNITS * len(offers)
        tokens = await guests(b, units + units // 2)
        log = RushLog()
        deadline = time.monotonic() + 60
        sem = asyncio.Semaphore(60)

        async def buyer(i: int, token: str) -> None:
            async with sem:
                await buy(apis, i, offers[i % len(offers)]["id"], token, log, deadline)

        started = time.monotonic()
        await asyncio.gather(*(buyer(i, t) for i, t in enumerate(tokens)))
        took = time.monotonic() - started

        sold_total = 0
        for offer in offers:
            orders = await orders_of(private_pg.url, offer["id"])
            assert sum(orders.values()) <= UNITS, f"oversold {offer['id']}"
            sold_total += sum(orders.values())
        assert sold_total == len(log.confirmed) == units  # more buyers than units: everything sells
        assert not log.unexpected, log.unexpected[:5]
        report = await settled_audit(private_pg.url, cluster.url, [o["id"] for o in offers])
        assert report.ok, report.as_dict()

        def sold_out_seen() -> bool:
            last = {o["id"]: o for o in watcher.events["offer"]}
            return all(last.get(o["id"], {}).get("available") == 0 for o in offers)

        await watcher.wait(sold_out_seen, what="every offer's sell-out reaches the viewer on b")
        print(
            f"\nRedis Cluster rush: {len(offers)} offers over {len(shards)} shards "
            f"({ {port: len(ids) for port, ids in shards.items()} }), {len(tokens)} buyers, {units} units "
            f"sold in {took:.1f}s; answers {dict(log.answers)}"
        )
    finally:
        await asyncio.wait([asyncio.ensure_future(c.close()) for c in (watcher, talker)], timeout=5)
