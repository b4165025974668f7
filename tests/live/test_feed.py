"""Commerce in the room (server/live/feed.py): a burst of stock changes becomes a few `offer` updates,
the last of them the true counters; an ended offer is never updated again."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.context import DB, EVENTS, INVENTORY
from server.events import OFFER_ENDED, OFFER_STARTED, Event
from server.live.feed import Feed
from tests.api_client import Api

INTERVAL_S = 0.05


class Room:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str]] = []

    async def __call__(self, event: str, data: Any, room: str) -> None:
        self.sent.append((event, data, room))

    def offers(self) -> list[dict[str, Any]]:
        return [data for event, data, _ in self.sent if event == "offer"]


async def until(check: Any, within: float = 10.0) -> None:
    """Polls the feed's own timers to their end (they run on the event loop, not a clock)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "the feed never got there"
        await asyncio.sleep(0.01)


async def _feed_and_offer(
    api: Api, host: str, app: web.Application
) -> tuple[Feed, Room, dict[str, Any], list[str]]:
    product = await api.product(host, stock=40)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=30, per_buyer_limit=1)
    room = Room()
    feed = Feed(app[INVENTORY], app[DB], room, lambda: None, interval_s=INTERVAL_S)
    await feed.on_offer_started(
        Event(OFFER_STARTED, {"offer": offer, "broadcast_id": broadcast["id"]}, app[EVENTS].node_id)
    )
    buyers = [f"us_feed{i}" for i in range(12)]
    return feed, room, offer, buyers


async def test_a_burst_of_stock_changes_ends_with_the_true_counters_in_few_updates(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    feed, room, offer, buyers = await _feed_and_offer(api, host, app)
    assert room.offers() == [offer]  # the start, as commerce described it
    seen = []
    for buyer in buyers:
        assert (await app[INVENTORY].reserve(offer["id"], buyer, 1)).code == "ok"
        seen.append(await app[INVENTORY].counters(offer["id"]))
    for counters in seen:  # the changes arrive together, as under a rush
        feed.on_stock_change(offer["id"], counters, False)
    await until(lambda: len(room.offers()) > 1)
    last = room.offers()[-1]
    assert (last["available"], last["held"], last["sold"]) == (18, 12, 0)  # read fresh, not the first change
    assert last["id"] == offer["id"] and last["broadcast_id"] == offer["broadcast_id"]
    assert (feed.stats["stock_changes"], feed.stats["stock_emits"]) == (12, 1)


async def test_an_ended_offer_gets_its_end_and_no_stock_update_after_it(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    feed, room, offer, buyers = await _feed_and_offer(api, host, app)
    ended = {**offer, "status": "ended", "available": 0}
    await feed.on_offer_ended(
        Event(
            OFFER_ENDED,
            {"offer": ended, "broadcast_id": offer["broadcast_id"]},
            app[EVENTS].node_id,
        )
    )
    await app[INVENTORY].reserve(offer["id"], buyers[0], 1)
    feed.on_stock_change(offer["id"], await app[INVENTORY].counters(offer["id"]), False)
    assert room.offers() == [offer, ended]
    assert offer["id"] not in feed._scheduled  # no update is on its way either
    assert feed.stats["stock_emits"] == 0


async def test_an_offer_relayed_from_another_node_is_remembered_not_re_emitted(
    node: tuple[web.Application, TestServer],
) -> None:
    app = node[0]
    room = Room()
    feed = Feed(app[INVENTORY], app[DB], room, lambda: None, interval_s=INTERVAL_S)
    view = {"id": "of_elsewhere", "broadcast_id": "br_x", "status": "active"}
    await feed.on_offer_started(
        Event(OFFER_STARTED, {"offer": view, "broadcast_id": "br_x"}, "another-node", is_local=False)
    )
    assert room.sent == [] and feed.views["of_elsewhere"] == view


async def test_an_event_is_local_to_the_bus_that_published_it_whatever_other_buses_exist() -> None:
    from server.events import EventBus

    first, _second = EventBus("node-a"), EventBus("node-b")  # two nodes in one process, as in tests
    seen: list[bool] = []
    first.subscribe(OFFER_STARTED, lambda event: seen.append(event.is_local))
    await first.publish(OFFER_STARTED, {"offer": {}, "broadcast_id": "br_x"})
    assert seen == [True]
