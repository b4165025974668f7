"""Viewer counts across nodes (server/live/viewers.py): each node's share adds up, a dead node's share
expires by the clock, and a node tells its own viewers only when the figures moved."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from server.clock import ShiftedClock
from server.live import keys
from server.live.viewers import SHARE_TTL_MS, Viewers, _sum, _worth_telling
from tests.services import RedisServer


class Node:
    def __init__(self, redis: Redis, name: str, clock: ShiftedClock) -> None:
        self.told: list[tuple[str, Any, str]] = []
        self.delivered = 0
        self.viewers = Viewers(redis, name, self._emit, self._take, interval_s=1.0, clock=clock)

    async def _emit(self, event: str, data: Any, room: str) -> None:
        self.told.append((event, data, room))

    def _take(self, _broadcast_id: str) -> int:
        taken, self.delivered = self.delivered, 0
        return taken


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


def test_shares_add_up_and_expired_or_garbled_ones_do_not_count() -> None:
    now = 1_000_000
    shares = {
        b"a": b"2|1.50|999999",  # this node's own share: its live count is used instead, even expired
        b"b": b"3|0.25|1000000",
        "c": "4|9.00|999999",  # expired
        b"d": b"not a share",
    }
    assert _sum(shares, "a", 5, now) == (8, 1.8)


def test_a_count_change_is_always_told_and_a_rate_only_when_it_moved_by_a_tenth() -> None:
    assert _worth_telling(None, (0, 0.0))
    assert _worth_telling((3, 10.0), (4, 10.0))
    assert not _worth_telling((3, 10.0), (3, 10.9))
    assert _worth_telling((3, 10.0), (3, 11.5))
    assert not _worth_telling((3, 0.0), (3, 0.9))  # below one message per second it is noise


async def test_counts_add_up_across_nodes_and_a_dead_nodes_share_expires(redis: Redis) -> None:
    clock = ShiftedClock()
    room = "br_" + uuid.uuid4().hex[:12]
    a, b = Node(redis, "node-a", clock), Node(redis, "node-b", clock)
    a.viewers.joined(room)
    a.viewers.joined(room)
    b.viewers.joined(room)
    await b.viewers.tick()
    await a.viewers.tick()
    assert await a.viewers.count(room) == 3
    assert a.told[-1] == ("viewers", {"broadcast_id": room, "viewers": 3, "chat_rate": 0.0}, room)
    told = len(a.told)
    await a.viewers.tick()
    assert len(a.told) == told  # nothing moved, nothing sent

    clock.advance(SHARE_TTL_MS / 1000 + 1)  # node b died: it never refreshes its share again
    await a.viewers.tick()
    assert await a.viewers.count(room) == 2
    assert a.told[-1][1]["viewers"] == 2


async def test_the_chat_rate_is_messages_delivered_per_interval(redis: Redis) -> None:
    room = "br_" + uuid.uuid4().hex[:12]
    node = Node(redis, "node-rate", ShiftedClock())
    node.viewers.joined(room)
    node.delivered = 7
    await node.viewers.tick()
    assert node.viewers.stats(room) == {"broadcast_id": room, "viewers": 1, "chat_rate": 7.0}


async def test_a_room_its_last_viewer_left_is_forgotten_and_its_share_removed(redis: Redis) -> None:
    room = "br_" + uuid.uuid4().hex[:12]
    node = Node(redis, "node-left", ShiftedClock())
    node.viewers.joined(room)
    await node.viewers.tick()
    node.viewers.left(room)
    node.viewers.left(room)  # never below zero
    await node.viewers.tick()
    assert room not in node.viewers.local and room not in node.viewers.totals
    assert await redis.hgetall(keys.viewers(room)) == {}
