"""The giveaway API: a host starts, closes, draws or cancels; anyone reads; viewers enter."""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import Field, field_validator
from sqlalchemy import select

from server.api.auth import require_host, require_user
from server.api.context import DB
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body, path_id
from server.broadcasts import Broadcast
from server.commerce.giveaways import service
from server.commerce.giveaways.keyword import KEYWORD_PATTERN, clean_keyword, entry_view
from server.commerce.giveaways.models import Giveaway
from server.errors import NotFound

router = Router()
TAG = "giveaways"


class GiveawayIn(Body):
    product_id: str = Field(min_length=1, max_length=60)
    keyword: str | None = Field(
        None, min_length=1, max_length=32, description="a chat message that is exactly this word enters"
    )
    buyers_only: bool = Field(
        False, description="only viewers with a paid or confirmed order in this broadcast"
    )

    @field_validator("keyword")
    @classmethod
    def _one_word(cls, value: str | None) -> str | None:
        if value is None:
            return None
        word = clean_keyword(value)
        if not re.match(KEYWORD_PATTERN, word):
            raise ValueError("one word of letters, digits, _ # @ or -")
        return word


@router.post(
    "/api/v1/broadcasts/{id}/giveaways",
    body=GiveawayIn,
    status=201,
    auth="host",
    tag=TAG,
    summary="Start a giveaway of one unit of a product",
    errors=("not_found", "insufficient_stock", "broadcast_ended"),
)
async def create_giveaway(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, GiveawayIn)
    g = await service.start(
        request.app, host, path_id(request), body.product_id, body.keyword, body.buyers_only
    )
    return json_response(await service.view_of(request.app, g, with_list=True), status=201)


@router.get(
    "/api/v1/broadcasts/{id}/giveaways",
    tag=TAG,
    summary="A broadcast's giveaways, newest first (without their entrant lists)",
    errors=("not_found",),
)
async def list_giveaways(request: web.Request) -> web.Response:
    broadcast_id = path_id(request)
    async with request.app[DB]() as session:
        if await session.get(Broadcast, broadcast_id) is None:
            raise NotFound("broadcast")
        rows = (
            (
                await session.execute(
                    select(Giveaway)
                    .where(Giveaway.broadcast_id == broadcast_id)
                    .order_by(Giveaway.created_at.desc())
                    .limit(50)
                )
            )
            .scalars()
            .all()
        )
    items = [await service.view_of(request.app, g, with_list=False) for g in rows]
    return json_response({"items": items})


@router.get(
    "/api/v1/giveaways/{id}",
    tag=TAG,
    summary="A giveaway: once closed, its frozen entrant list and hash; once drawn, the seed and winner",
    errors=("not_found",),
)
async def get_giveaway(request: web.Request) -> web.Response:
    async with request.app[DB]() as session:
        g = await service.load_giveaway(session, path_id(request))
    return json_response(await service.view_of(request.app, g, with_list=True))


@router.post(
    "/api/v1/giveaways/{id}/entries",
    status=201,
    auth="user",
    tag=TAG,
    summary="Enter a giveaway (once per person: a repeat answers 200 with the first entry)",
    errors=("not_found", "giveaway_closed", "buyers_only", "forbidden", "banned", "service_unavailable"),
)
async def enter_giveaway(request: web.Request) -> web.Response:
    user = require_user(request)
    entered = await service.enter(request.app, user, path_id(request), "button")
    if entered.new:
        request.app[service.COUNTS].entered(entered.giveaway)
    body = entry_view(entered.giveaway.id, user.id, entered.seq, entered.new)
    return json_response(body, status=201 if entered.new else 200)


@router.post(
    "/api/v1/giveaways/{id}/close",
    auth="host",
    tag=TAG,
    summary="Stop entries and publish the frozen list's SHA-256",
    errors=("not_found", "giveaway_closed", "giveaway_drawn"),
)
async def close_giveaway(request: web.Request) -> web.Response:
    g = await service.close(request.app, require_host(request), path_id(request))
    return json_response(await service.view_of(request.app, g, with_list=True))


@router.post(
    "/api/v1/giveaways/{id}/draw",
    auth="host",
    tag=TAG,
    summary="Reveal the seed, draw the winner, give them the unit as a zero-price order",
    errors=("not_found", "giveaway_open", "giveaway_drawn", "giveaway_closed", "no_entrants"),
)
async def draw_giveaway(request: web.Request) -> web.Response:
    g = await service.draw(request.app, require_host(request), path_id(request))
    return json_response(await service.view_of(request.app, g, with_list=True))


@router.post(
    "/api/v1/giveaways/{id}/cancel",
    auth="host",
    tag=TAG,
    summary="Call a giveaway off before its draw; the unit goes back to the shelf",
    errors=("not_found", "giveaway_drawn", "giveaway_closed"),
)
async def cancel_giveaway(request: web.Request) -> web.Response:
    g = await service.cancel(request.app, require_host(request), path_id(request))
    return json_response(await service.view_of(request.app, g, with_list=True))
