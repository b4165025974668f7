"""Chat delivery: one batch per room per tick, the recent history in Redis, the archive in PostgreSQL.

A message is acknowledged only after its batch is stored and published, so a sender always learns
whether the room got it. In a quiet room a message leaves at once (leading edge); under a flood the
room sends one `chat` frame per tick carrying every message of that tick, and publishes that one frame
to the other processes, instead of one frame per message per viewer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import utcnow
from server.errors import DomainError
from server.live import keys
from server.live.models import ChatMessage
from server.live.spawn import spawn
from server.tasks import stop_task

log = logging.getLogger("liveshop.live")

RECENT = 50
ARCHIVE_EVERY_S = 0.5
ARCHIVE_MAX_PENDING = 100_000

Emit = Callable[[str, Any, str], Awaitable[None]]  # (event, data, room)
Ack = dict[str, Any]


def error(code: str, detail: str, **extra: Any) -> Ack:
    return {"error": {"code": code, "detail": detail, **extra}}


def problem_ack(exc: DomainError) -> Ack:
    """A domain error as a socket.io answer: its code, detail, field and plain extras."""
    extra = {k: v for k, v in exc.extra.items() if isinstance(v, str | int | float | bool)}
    if exc.field:
        extra["field"] = exc.field
    return error(exc.code, exc.detail, **extra)


@dataclass
class _Room:
    pending: list[tuple[dict[str, Any], asyncio.Future[Ack]]] = field(default_factory=list)
    last_flush: float = 0.0
    scheduled: bool = False
    flushing: bool = False
    delivered: int = 0  # messages since the viewer counter last read it


class Chat:
    def __init__(
        self,
        redis: Redis,
        sessionmaker: async_sessionmaker[AsyncSession],
        emit: Emit,
        *,
        tick_s: float,
        history_cap: int,
    ) -> None:
        self.redis = redis
        self._db = sessionmaker
        self._emit = emit
        self.tick_s = tick_s
        self.history_cap = history_cap
        self._rooms: dict[str, _Room] = {}
        self._archive: list[dict[str, Any]] = []
        self._seeded: set[str] = set()
        self._archiver: asyncio.Task[None] | None = None
        self.stats = {"messages": 0, "batches": 0, "failed": 0}

    # sending -------------------------------------------------------------------------------------
    async def submit(self, broadcast_id: str, message: dict[str, Any]) -> Ack:
        room = self._rooms.get(broadcast_id)
        if room is None:
            room = self._rooms[broadcast_id] = _Room()
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        room.pending.append((message, future))
        self._schedule(broadcast_id, room)
        return await future

    def _schedule(self, broadcast_id: str, room: _Room) -> None:
        if room.scheduled or room.flushing:
            return
        room.scheduled = True
        delay = max(0.0, room.last_flush + self.tick_s - time.monotonic())
        asyncio.get_running_loop().call_later(delay, self._start_flush, broadcast_id)

    def _start_flush(self, broadcast_id: str) -> None:
        room = self._rooms[broadcast_id]
        room.scheduled = False
        room.flushing = True
        room.last_flush = time.monotonic()
        spawn(self._flush(broadcast_id, room))

    async def _flush(self, broadcast_id: str, room: _Room) -> None:
        batch, room.pending = room.pending, []
        messages = [m for m, _ in batch]
        try:
            try:
                await self._store(broadcast_id, messages)
            except Exception as exc:
                self.stats["failed"] += len(messages)
                log.warning("chat store failed broadcast=%s error=%r", broadcast_id, exc)
                answer = error(
                    "service_unavailable", "Chat is briefly unavailable; retry shortly", retry_after_ms=1000
                )
                for _, future in batch:
                    if not future.done():
                        future.set_result(answer)
                return
            await self._emit("chat", messages, broadcast_id)
            self._archive.extend({**_row(broadcast_id, m)} for m in messages)
            room.delivered += len(messages)
            self.stats["messages"] += len(messages)
            self.stats["batches"] += 1
            for message, future in batch:
                if not future.done():
                    future.set_result({"ok": True, "id": message["id"], "ts": message["ts"]})
        except Exception:
            log.exception("chat flush failed broadcast=%s", broadcast_id)
            for _, future in batch:
                if not future.done():
                    future.set_result(error("internal_error", "Something went wrong on our side"))
        finally:
            room.flushing = False
            if room.pending:
                self._schedule(broadcast_id, room)
            elif not room.scheduled and time.monotonic() - room.last_flush > 60:
                self._rooms.pop(broadcast_id, None)

    async def _store(self, broadcast_id: str, messages: list[dict[str, Any]]) -> None:
        await self._ensure_seeded(broadcast_id)
        key = keys.chat_history(broadcast_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, *[orjson.dumps(m) for m in messages])
            pipe.ltrim(key, -self.history_cap, -1)
            await pipe.execute()

    def take_delivered(self, broadcast_id: str) -> int:
        room = self._rooms.get(broadcast_id)
        if room is None:
            return 0
        n, room.delivered = room.delivered, 0
        return n

    # history -------------------------------------------------------------------------------------
    async def recent(self, broadcast_id: str, n: int = RECENT) -> list[dict[str, Any]]:
        await self._ensure_seeded(broadcast_id)
        raw = await self.redis.lrange(keys.chat_history(broadcast_id), -n, -1)
        return [orjson.loads(r) for r in raw]

    async def _ensure_seeded(self, broadcast_id: str) -> None:
        """Redis lost the history (restart, eviction): refill it from the archive before using it."""
        if broadcast_id in self._seeded:
            return
        marker = keys.chat_seeded(broadcast_id)
        if not await self.redis.exists(marker):
            await self.flush_archive()
            async with self._db() as session:
                rows = (
                    (
                        await session.execute(
                            select(ChatMessage)
                            .where(ChatMessage.broadcast_id == broadcast_id, ChatMessage.deleted_at.is_(None))
                            .order_by(ChatMessage.ts.desc())
                            .limit(self.history_cap)
                        )
                    )
                    .scalars()
                    .all()
                )
            key = keys.chat_history(broadcast_id)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                if rows:
                    pipe.rpush(key, *[orjson.dumps(_message(r)) for r in reversed(rows)])
                pipe.set(marker, "1")
                await pipe.execute()
        self._seeded.add(broadcast_id)

    def forget_seeded(self) -> None:
        self._seeded.clear()

    async def delete(self, broadcast_id: str, message_id: str) -> bool:
        """Remove one message from the history and mark it in the archive. True if it existed."""
        key = keys.chat_history(broadcast_id)
        found = False
        for raw in await self.redis.lrange(key, 0, -1):
            if orjson.loads(raw).get("id") == message_id:
                await self.redis.lrem(key, 0, raw)  # type: ignore[arg-type]  # bytes, as read
                found = True
        await self.flush_archive()
        async with self._db() as session, session.begin():
            result = await session.execute(
                update(ChatMessage)
                .where(ChatMessage.id == message_id, ChatMessage.broadcast_id == broadcast_id)
                .values(deleted_at=utcnow())
            )
            found = found or bool(result.rowcount)  # type: ignore[attr-defined]
        return found

    # archive -------------------------------------------------------------------------------------
    async def flush_archive(self) -> None:
        if not self._archive:
            return
        rows, self._archive = self._archive, []
        try:
            async with self._db() as session, session.begin():
                await session.execute(insert(ChatMessage), rows)
        except Exception as exc:
            log.warning("chat archive write failed rows=%d error=%r", len(rows), exc)
            self._archive = (rows + self._archive)[-ARCHIVE_MAX_PENDING:]

    async def _archive_loop(self) -> None:
        while True:
            await asyncio.sleep(ARCHIVE_EVERY_S)
            with contextlib.suppress(Exception):
                await self.flush_archive()

    def start(self) -> None:
        self._archiver = asyncio.ensure_future(self._archive_loop())

    async def stop(self) -> None:
        await stop_task(self._archiver, within=2, what="chat archiver")
        with contextlib.suppress(Exception):
            await self.flush_archive()


def _row(broadcast_id: str, m: dict[str, Any]) -> dict[str, Any]:
    user = m["user"]
    return {
        "id": m["id"],
        "broadcast_id": broadcast_id,
        "user_id": user["id"],
        "nickname": user["nickname"],
        "role": user["role"],
        "text": m["text"],
        "ts": m["ts"],
        "at_s": m.get("at_s"),
    }


def _message(r: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "text": r.text,
        "ts": r.ts,
        "user": {"id": r.user_id, "nickname": r.nickname, "role": r.role},
    }
    if r.at_s is not None:
        out["at_s"] = r.at_s
    if r.role == "host":
        out["badge"] = "host"
    return out
