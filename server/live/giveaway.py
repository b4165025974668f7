"""Giveaways in the room: their events to everyone, the win to the winner alone, entry by keyword."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from server import events as topics
from server.api.auth import Principal
from server.api.seams import GIVEAWAY_KEYWORD
from server.errors import DomainError
from server.live.chat import problem_ack

if TYPE_CHECKING:
    from server.live.room import LiveRoom

log = logging.getLogger("liveshop.live")


def on_giveaway(room: LiveRoom, user_room: str):  # type: ignore[no-untyped-def]
    """Room event `giveaway` {type, giveaway}; on a draw the winner alone gets `giveaway_won`."""

    async def handle(event: topics.Event) -> None:
        if not event.is_local:
            return
        data = event.data
        await room.emit(
            "giveaway", {"type": data["type"], "giveaway": data["giveaway"]}, data["broadcast_id"]
        )
        winner = data.get("winner_id")
        if data["type"] == "drawn" and isinstance(winner, str):
            notice = {"giveaway": data["giveaway"], "order_id": data.get("order_id")}
            await room.emit("giveaway_won", notice, user_room.format(winner))

    return handle


def could_enter(text: str) -> bool:
    """A cheap first look before any task or lookup: a giveaway keyword message is one short word."""
    stripped = text.strip()
    return 0 < len(stripped) <= 40 and not any(c.isspace() for c in stripped)


async def keyword_entry(room: LiveRoom, sid: str, broadcast_id: str, user: Principal, text: str) -> None:
    """A chat message that is an open giveaway's keyword enters its sender; only the sender hears
    how it went (`giveaway_entry` or `error`). Never raises: the chat message stands either way."""
    try:
        entry = await room.app[GIVEAWAY_KEYWORD](broadcast_id, user, text)
    except DomainError as exc:
        await room.emit_to(sid, "error", problem_ack(exc)["error"])
        return
    except Exception as exc:
        log.warning("giveaway keyword entry failed broadcast=%s error=%r", broadcast_id, exc)
        detail = "Entering is briefly unavailable; retry shortly"
        await room.emit_to(
            sid, "error", {"code": "service_unavailable", "detail": detail, "retry_after_ms": 1000}
        )
        return
    if entry is not None:
        await room.emit_to(sid, "giveaway_entry", entry)
