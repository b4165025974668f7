"""Chat delivery (server/live/chat.py) on real Redis and PostgreSQL: a flood leaves as few frames,
every sender learns the outcome, history is capped, and Redis losing it refills from the archive."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from server.api.context import DB, REDIS
from server.db.base import new_id
from server.live import keys
from server.live.chat import Chat

USER = {"id": "us_chat", "nickname": "ana", "role": "viewer"}


class Frames:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[dict[str, Any]], str]] = []

    async def __call__(self, event: str, data: Any, room: str) -> None:
        self.sent.append((event, data, room))


def message(text: str) -> dict[str, Any]:
    return {"id": new_id("cm"), "text": text, "ts": 1_700_000_000_000, "user": USER}


@pytest.fixture
async def chat(node: tuple[web.Application, TestServer]) -> AsyncIterator[tuple[Chat, Frames]]:
    frames = Frames()
    made = Chat(node[0][REDIS], node[0][DB], frames, tick_s=0.05, history_cap=5)
    yield made, frames
    await made.stop()


def room() -> str:
    return "br_" + uuid.uuid4().hex[:12]


async def test_a_flood_leaves_in_far_fewer_frames_than_messages_and_every_sender_is_answered(
    chat: tuple[Chat, Frames],
) -> None:
    made, frames = chat
    where = room()
    sent = [message(f"m{i}") for i in range(20)]
    acks = await asyncio.gather(*(made.submit(where, m) for m in sent))
    assert [a["id"] for a in acks] == [m["id"] for m in sent] and all(a["ok"] for a in acks)
    delivered = [
        m["id"] for event, batch, to in frames.sent for m in batch if event == "chat" and to == where
    ]
    assert delivered == [m["id"] for m in sent]  # each once, in order
    assert len(frames.sent) <= 3
    assert made.take_delivered(where) == 20 and made.take_delivered(where) == 0


async def test_history_keeps_the_latest_messages_up_to_its_cap(chat: tuple[Chat, Frames]) -> None:
    made, _ = chat
    where = room()
    for i in range(8):
        await made.submit(where, message(f"n{i}"))
    assert [m["text"] for m in await made.recent(where)] == ["n3", "n4", "n5", "n6", "n7"]
    assert [m["text"] for m in await made.recent(where, n=2)] == ["n6", "n7"]


async def test_history_lost_from_redis_is_refilled_from_the_archive_without_deleted_messages(
    chat: tuple[Chat, Frames], node: tuple[web.Application, TestServer]
) -> None:
    made, _ = chat
    where = room()
    kept, removed = message("kept"), message("removed")
    for m in (kept, removed, message("also kept")):
        await made.submit(where, m)
    assert await made.delete(where, removed["id"])
    assert not await made.delete(where, "cm_never_sent")
    redis = node[0][REDIS]
    await redis.delete(keys.chat_history(where), keys.chat_seeded(where))
    made.forget_seeded()
    assert [m["text"] for m in await made.recent(where)] == ["kept", "also kept"]


async def test_a_store_failure_answers_every_sender_with_a_retryable_error(
    node: tuple[web.Application, TestServer],
) -> None:
    down = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    made = Chat(down, node[0][DB], Frames(), tick_s=0.05, history_cap=5)
    try:
        acks = await asyncio.gather(*(made.submit(room(), message("lost?")) for _ in range(3)))
    finally:
        await down.aclose()
    assert all(a["error"]["code"] == "service_unavailable" for a in acks)
    assert all(a["error"]["retry_after_ms"] > 0 for a in acks)
    assert made.stats["failed"] == 3
