"""HTTP face of the HLS origin and of replays: /hls/{broadcast_id}/... and the replay API."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.api.auth import optional_user, require_host
from server.api.context import DB, SETTINGS
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body
from server.broadcasts import Broadcast
from server.errors import DomainError, NotFound
from server.media.hls.origin import HlsOrigin, serve_file, serve_playlist, stored
from server.media.hls.recorder import BROADCAST_ID

ORIGIN = web.AppKey("hls_origin", HlsOrigin)

router = Router()


@router.get(
    "/hls/{broadcast_id}/index.m3u8",
    tag="media",
    summary="LL-HLS playlist of the live broadcast (blocking reload with _HLS_msn/_HLS_part)",
    errors=("not_found", "bad_request", "service_unavailable"),
)
async def hls_playlist(request: web.Request) -> web.Response:
    """LL-HLS media playlist; after the broadcast ends, the recording's VOD playlist."""
    return await serve_playlist(request.app[ORIGIN], request)


@router.get(
    "/hls/{broadcast_id}/{name}",
    tag="media",
    summary="An init segment, segment, part or poster of a broadcast's video",
    errors=("not_found", "service_unavailable"),
)
async def hls_file(request: web.Request) -> web.Response:
    """CMAF init segments, media segments, parts, and the poster image."""
    return await serve_file(request.app[ORIGIN], request)


@router.get(
    "/api/v1/broadcasts/{id}/replay",
    tag="media",
    summary="The replay of an ended broadcast: its playlist and product timeline",
    errors=("no_replay", "service_unavailable"),
)
async def replay(request: web.Request) -> web.Response:
    """{playlist_url, duration_s, poster_url, timeline: [{at_s, type, id}]} once the broadcast has ended."""
    broadcast_id = request.match_info["id"]
    if not BROADCAST_ID.match(broadcast_id):
        raise NotFound("broadcast")
    async with request.app[DB]() as session:
        row = (
            await session.execute(
                select(Broadcast.status, Broadcast.shop_id).where(Broadcast.id == broadcast_id)
            )
        ).first()
    if row is None:
        raise NotFound("broadcast")
    status, shop_id = row
    recorder = request.app[ORIGIN].recorder
    viewer = optional_user(request)
    staff = viewer is not None and viewer.is_host and viewer.shop_id == shop_id
    hidden = await stored(recorder.hidden, broadcast_id)
    facts = (
        await stored(recorder.replay, broadcast_id) if status == "ended" and (staff or not hidden) else None
    )
    if facts is None:
        raise DomainError("no_replay", "This broadcast has no replay (yet)")
    base = request.app[SETTINGS].base_url
    return web.json_response(
        {
            "broadcast_id": broadcast_id,
            "playlist_url": f"{base}/hls/{broadcast_id}/index.m3u8",
            "poster_url": f"{base}/hls/{broadcast_id}/poster.jpg",
            "duration_s": facts["duration_s"],
            "timeline": facts["timeline"],
            # where each stretch of video starts in the recording and on the wall clock (ms since the
            # epoch): a chat message's `ts` maps into the recording through the stretch it fell in
            "periods": [
                {"at_s": p["at_s"], "started_at_ms": int(p["wall"] * 1000)} for p in facts.get("periods", [])
            ],
            "chat_url": f"{base}/api/v1/broadcasts/{broadcast_id}/chat",
            "published": not hidden,
        }
    )


class ReplayIn(Body):
    published: bool


@router.put(
    "/api/v1/broadcasts/{id}/replay",
    body=ReplayIn,
    auth="host",
    tag="media",
    summary="Publish or hide the replay of one of my shop's broadcasts",
    errors=("not_found", "validation_error", "service_unavailable"),
)
async def publish_replay(request: web.Request) -> web.Response:
    """{published: false} hides the replay (its API, playlist and segments answer 404 to everyone but
    the shop's staff); {published: true} shows it again."""
    host = require_host(request)
    body = await parse_body(request, ReplayIn)
    broadcast_id = request.match_info["id"]
    if not BROADCAST_ID.match(broadcast_id):
        raise NotFound("broadcast")
    async with request.app[DB]() as session:
        shop_id = await session.scalar(select(Broadcast.shop_id).where(Broadcast.id == broadcast_id))
    if shop_id is None or shop_id != host.shop_id:
        raise NotFound("broadcast")  # another shop's broadcast is nobody's business
    await stored(request.app[ORIGIN].recorder.set_hidden, broadcast_id, not body.published)
    return json_response({"broadcast_id": broadcast_id, "published": body.published})
