"""REST for the host console: read and change a broadcast's chat settings, read the moderation log."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from server.api.auth import require_host
from server.api.context import DB
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body, path_id
from server.errors import DomainError
from server.live.models import ChatMessage, ModerationAction
from server.live.policy import SettingsChange
from server.live.room import LIVE_ROOM
from server.live.text import MAX_BUY_KEYWORDS

router = Router()


class ChatSettingsIn(Body):
    slow_mode_s: int | None = Field(None, ge=0, le=3600, description="0 turns slow mode off")
    blocked_words: list[str] | None = Field(None, max_length=500, description="whole words, any case")
    buy_keywords: list[Annotated[str, Field(max_length=32)]] | None = Field(
        None,
        max_length=MAX_BUY_KEYWORDS,
        description="comment-to-buy: the host's own keywords, claiming like buy, sold, kup and 구매",
    )
    announce_claims: bool | None = Field(None, description='comment-to-buy: the room sees "Ada claimed 2"')

    def change(self) -> SettingsChange:
        return SettingsChange(self.slow_mode_s, self.blocked_words, self.buy_keywords, self.announce_claims)


@router.get(
    "/api/v1/broadcasts/{id}/chat-settings",
    auth="host",
    tag="live",
    summary="The chat settings of one of my broadcasts",
    errors=("not_found", "forbidden"),
)
async def get_settings(request: web.Request) -> web.Response:
    room = request.app[LIVE_ROOM]
    policy = await room.host_policy(path_id(request), require_host(request))
    return json_response(policy.settings_view())


@router.put(
    "/api/v1/broadcasts/{id}/chat-settings",
    body=ChatSettingsIn,
    auth="host",
    tag="live",
    summary="Set slow mode and blocked words (fields left out stay as they are)",
    errors=("not_found", "forbidden", "validation_error"),
)
async def put_settings(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, ChatSettingsIn)
    room = request.app[LIVE_ROOM]
    view = await room.update_settings(host, path_id(request), body.change())
    return json_response(view)


@router.get(
    "/api/v1/broadcasts/{id}/moderation",
    auth="host",
    tag="live",
    summary="The moderation log of one of my broadcasts, newest first",
    errors=("not_found", "forbidden"),
)
async def moderation_log(request: web.Request) -> web.Response:
    broadcast_id = path_id(request)
    await request.app[LIVE_ROOM].host_policy(broadcast_id, require_host(request))
    async with request.app[DB]() as session:
        rows = (
            (
                await session.execute(
                    select(ModerationAction)
                    .where(ModerationAction.broadcast_id == broadcast_id)
                    .order_by(ModerationAction.id.desc())
                    .limit(500)
                )
            )
            .scalars()
            .all()
        )
    return json_response(
        {
            "items": [
                {
                    "action": r.action,
                    "actor_id": r.actor_id,
                    "user_id": r.target_user_id,
                    "message_id": r.message_id,
                    "details": r.details,
                    "created_at": r.created_at.isoformat(),
                }
                for r in rows
            ]
        }
    )


@router.get(
    "/api/v1/broadcasts/{id}/chat",
    tag="live",
    summary="The broadcast's chat as it was delivered (deleted messages left out), oldest first",
    errors=("bad_request",),
)
async def chat_archive(request: web.Request) -> web.Response:
    """The chat archive, for the replay (played in step with the video) and for anyone who missed it.

    Pages of up to 500 by `since_ms` (exclusive): pass the last `ts` seen to get the next page."""
    broadcast_id = path_id(request)
    since = request.query.get("since_ms", "0")
    if not since.isdigit() or len(since) > 15:
        raise DomainError("bad_request", "since_ms must be milliseconds since the epoch", field="since_ms")
    async with request.app[DB]() as session:
        rows = (
            await session.execute(
                select(ChatMessage)
                .where(
                    ChatMessage.broadcast_id == broadcast_id,
                    ChatMessage.ts > int(since),
                    ChatMessage.deleted_at.is_(None),
                )
                .order_by(ChatMessage.ts, ChatMessage.id)
                .limit(500)
            )
        ).scalars()
        items = [
            {
                "id": m.id,
                "text": m.text,
                "ts": m.ts,
                "user": {"id": m.user_id, "nickname": m.nickname, "role": m.role},
                **({"at_s": m.at_s} if m.at_s is not None else {}),
            }
            for m in rows
        ]
    return json_response({"items": items})
