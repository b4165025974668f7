"""Entries reach PostgreSQL in batches: one transaction for every entry that arrived meanwhile.

A rush of thousands of viewers pressing "Enter" at once must not cost a transaction (and a commit's
fsync) each: per giveaway the first entry is written at once, and those that arrive while a write is
in flight go together in the next one (no timer, so a quiet giveaway answers at once). Each write
holds the giveaway row's share lock, so the close (FOR UPDATE) waits for it and counts its rows; a
batch that finds the giveaway closed refuses its new entries (never acknowledged) and still answers
the people who were in already.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.commerce.giveaways.models import Giveaway, GiveawayEntry
from server.db.base import new_id, utcnow
from server.errors import CodeName, DomainError

log = logging.getLogger("liveshop.commerce")
BATCH_MAX = 500  # rows per transaction (and per IN list)
NOT_SAVED = "Your entry could not be saved; please retry"


@dataclass(frozen=True, slots=True)
class Row:
    user_id: str
    nickname: str
    seq: int  # Redis's number for the entry
    via: str


Answer = tuple[int, bool]  # (entry number as recorded, new)


class EntryWriter:
    """giveaway id -> the entries waiting for the next write; one write in flight per giveaway."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], refusal: tuple[CodeName, str]) -> None:
        self._db = sessionmaker
        self._refusal = refusal
        self._pending: dict[str, list[tuple[Row, asyncio.Future[Answer]]]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.stats = {"entries": 0, "batches": 0}

    async def write(self, giveaway_id: str, row: Row) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(giveaway_id, []).append((row, future))
        if giveaway_id not in self._tasks:
            self._tasks[giveaway_id] = asyncio.ensure_future(self._drain(giveaway_id))
        return await asyncio.shield(future)  # a caller that gives up leaves its row to be written

    async def _drain(self, giveaway_id: str) -> None:
        try:
            while self._pending.get(giveaway_id):
                waiting = self._pending.pop(giveaway_id)
                batch, rest = waiting[:BATCH_MAX], waiting[BATCH_MAX:]
                if rest:
                    self._pending[giveaway_id] = rest + self._pending.get(giveaway_id, [])
                try:
                    answers = await self._write(giveaway_id, [row for row, _ in batch])
                except (SQLAlchemyError, OSError) as exc:
                    log.warning(
                        "entries not recorded giveaway=%s n=%d error=%r", giveaway_id, len(batch), exc
                    )
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(DomainError("service_unavailable", NOT_SAVED))
                    continue
                told_new: set[str] = set()  # one person twice in a batch: one new entry, one repeat
                for row, future in batch:
                    answer = answers.get(row.user_id)
                    if future.done():
                        continue
                    if answer is None:
                        future.set_exception(DomainError(*self._refusal))
                        continue
                    seq, inserted = answer
                    new = inserted and row.user_id not in told_new
                    told_new.add(row.user_id)
                    future.set_result((seq, new))
        finally:
            del self._tasks[giveaway_id]

    async def _write(self, giveaway_id: str, rows: list[Row]) -> dict[str, tuple[int, bool]]:
        """user id -> (recorded entry number, whether this write inserted it); absent: refused."""
        self.stats["batches"] += 1
        self.stats["entries"] += len(rows)
        first: dict[str, Row] = {}
        for r in rows:
            first.setdefault(r.user_id, r)  # one person twice in a batch: one row
        users = list(first.values())
        async with self._db() as session, session.begin():
            # FOR SHARE: the close takes the row FOR UPDATE, so it waits for this write and counts it.
            status = (
                await session.execute(
                    select(Giveaway.status).where(Giveaway.id == giveaway_id).with_for_update(read=True)
                )
            ).scalar_one_or_none()
            ids = {r.user_id: new_id("ge") for r in users}
            if status == "open":
                now = utcnow()
                values = [
                    {
                        "id": ids[r.user_id],
                        "giveaway_id": giveaway_id,
                        "user_id": r.user_id,
                        "nickname": r.nickname[:64],
                        "seq": r.seq,
                        "via": r.via,
                        "created_at": now,
                    }
                    for r in users
                ]
                dialect = session.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                await session.execute(insert(GiveawayEntry).values(values).on_conflict_do_nothing())
            found = await session.execute(
                select(GiveawayEntry.id, GiveawayEntry.user_id, GiveawayEntry.seq).where(
                    GiveawayEntry.giveaway_id == giveaway_id,
                    GiveawayEntry.user_id.in_([r.user_id for r in users]),
                )
            )
            return {user: (int(seq), row_id == ids[user]) for row_id, user, seq in found.all()}
