"""HTTP face of WHIP (RFC 9725) and WHEP: POST an offer, get 201 + answer + Location; DELETE ends it.

Every response, errors included, carries CORS headers so a browser page on another origin can publish
(with `Authorization: Bearer <stream_key>`) and play; `OPTIONS` answers the preflight and lists the
ICE servers in `Link` headers, as the 201 does.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy import select

from server.api.auth import bearer, optional_user, require_host
from server.api.clients import client_network
from server.api.context import DB, REDIS, SETTINGS
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body, path_id
from server.broadcasts import Broadcast
from server.errors import DomainError, NotFound
from server.media import ice
from server.media.encoders import VIDEO_CLOCK
from server.media.sdp import MAX_SDP_BYTES, parse_offer
from server.media.sessions import MediaHub, Session
from server.media.tracks import PacketTrack

HUB = web.AppKey("media_hub", MediaHub)

SDP_EXCHANGE = {  # the body is SDP, not JSON; the 201 answer is SDP too (Location, ETag, Link headers)
    "requestBody": {"required": True, "content": {"application/sdp": {"schema": {"type": "string"}}}},
}

router = Router()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ALLOW_ENDPOINT = "POST, OPTIONS"
ALLOW_SESSION = "PATCH, DELETE, OPTIONS"


def cors_headers(request: web.Request, allow: str) -> dict[str, str]:
    origins = request.app[SETTINGS].cors_origins
    origin = request.headers.get("Origin", "")
    if origins == "*":
        allowed = "*"
    else:
        allowed = origin if origin in [o.strip() for o in origins.split(",")] else ""
    headers = {
        "Access-Control-Allow-Methods": allow,
        "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
        "Access-Control-Expose-Headers": "Location, Link, ETag, Accept-Patch, Accept-Post",
        "Access-Control-Max-Age": "86400",
        "Vary": "Origin",
    }
    if allowed:
        headers["Access-Control-Allow-Origin"] = allowed
    return headers


def with_cors(allow: str) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            headers = cors_headers(request, allow)
            try:
                response = await handler(request)
            except DomainError as exc:
                exc.headers.update(headers)
                raise
            response.headers.update(headers)
            return response

        wrapped.__doc__ = handler.__doc__
        wrapped.__name__ = handler.__name__
        return wrapped

    return decorate


def _link_response(request: web.Request, status: int, body: str = "", **headers: str) -> web.Response:
    response = web.Response(status=status, text=body or None, headers=headers)
    if body:
        response.content_type = "application/sdp"
    # A TURN credential for this client alone, short-lived: never a shared secret in a header.
    for link in ice.link_headers(request.app[HUB].settings, client_network(request)):
        response.headers.add("Link", link)
    return response


async def read_offer(request: web.Request) -> str:
    if request.content_type != "application/sdp":
        raise DomainError("unsupported_media_type", "Send the SDP offer as Content-Type: application/sdp")
    if (request.content_length or 0) > MAX_SDP_BYTES:
        raise DomainError("payload_too_large", "The SDP offer is too large")
    try:
        return await request.text()
    except UnicodeDecodeError:
        raise DomainError("bad_request", "The SDP offer is not UTF-8") from None


async def load_broadcast(request: web.Request, broadcast_id: str) -> Broadcast:
    async with request.app[DB]() as session:
        found = await session.get(Broadcast, broadcast_id)
    if found is None:
        raise NotFound("broadcast")
    return found


def session_for(request: web.Request, kind: str) -> Session:
    hub = request.app[HUB]
    found = hub.sessions.get(request.match_info["session_id"])
    if found is None or found.kind != kind or found.broadcast_id != request.match_info["broadcast_id"]:
        raise NotFound("session")
    return found


def created(request: web.Request, session: Session, answer: str) -> web.Response:
    location = f"/{session.kind}/{session.broadcast_id}/{session.id}"
    return _link_response(
        request,
        201,
        answer,
        Location=location,
        ETag=session.etag,
        **{"Accept-Patch": "application/trickle-ice-sdpfrag"},
    )


# WHIP ----------------------------------------------------------------------------------------------


@router.post(
    "/whip/{broadcast_id}",
    tag="media",
    status=201,
    auth="stream_key",
    extra=SDP_EXCHANGE,
    summary="WHIP ingest: SDP offer in, SDP answer out (RFC 9725)",
    errors=(
        "bad_request",
        "unauthorized",
        "not_found",
        "conflict",
        "broadcast_ended",
        "unsupported_media_type",
    ),
)
@with_cors(ALLOW_ENDPOINT)
async def whip_publish(request: web.Request) -> web.Response:
    """WHIP ingest: SDP offer in, SDP answer out (RFC 9725)."""
    broadcast_id = request.match_info["broadcast_id"]
    offer = await read_offer(request)
    broadcast = await load_broadcast(request, broadcast_id)
    key = bearer(request)
    # A key that is not ASCII (bytes that were not UTF-8 arrive as surrogates) is simply wrong.
    if (
        key is None
        or not key.isascii()
        or not secrets.compare_digest(key.encode(), broadcast.stream_key.encode())
    ):
        err = DomainError("unauthorized", "Send Authorization: Bearer <the broadcast's stream key>")
        err.headers["WWW-Authenticate"] = 'Bearer realm="whip"'
        raise err
    if broadcast.status == "ended":
        raise DomainError("broadcast_ended")
    parse_offer(offer)
    session, answer = await request.app[HUB].publish(broadcast_id, offer, request.remote or "")
    return created(request, session, answer)


# WHEP ----------------------------------------------------------------------------------------------


@router.post(
    "/whep/{broadcast_id}",
    tag="media",
    status=201,
    extra=SDP_EXCHANGE,
    summary="WHEP playback: SDP offer in, SDP answer out",
    errors=(
        "bad_request",
        "invalid_token",
        "not_found",
        "broadcast_ended",
        "unsupported_media_type",
        "rate_limited",
        "service_unavailable",
    ),
)
@with_cors(ALLOW_ENDPOINT)
async def whep_play(request: web.Request) -> web.Response:
    """WHEP playback: SDP offer in, SDP answer out."""
    broadcast_id = request.match_info["broadcast_id"]
    offer = await read_offer(request)
    broadcast = await load_broadcast(request, broadcast_id)
    if broadcast.status == "ended":
        raise DomainError("broadcast_ended")
    parsed = parse_offer(offer)
    user = optional_user(request)
    client = f"user:{user.id}" if user is not None else f"ip:{request.remote}"
    session, answer = await request.app[HUB].play(broadcast_id, offer, parsed, client)
    return created(request, session, answer)


# sessions and preflight ----------------------------------------------------------------------------


async def _delete(request: web.Request, kind: str) -> web.Response:
    session = session_for(request, kind)
    session.ended_by_client = True
    await request.app[HUB].close(session, reason="deleted")
    return web.Response(status=200)


async def _patch(request: web.Request, kind: str) -> web.Response:
    session = session_for(request, kind)
    if request.content_type != "application/trickle-ice-sdpfrag":
        raise DomainError("unsupported_media_type", "Send Content-Type: application/trickle-ice-sdpfrag")
    if_match = request.headers.get("If-Match")
    if if_match is not None and if_match not in ("*", session.etag):
        return web.Response(status=412, headers={"ETag": session.etag})
    await request.app[HUB].trickle(session, await request.text())
    return web.Response(status=204, headers={"ETag": session.etag})


@router.delete(
    "/whip/{broadcast_id}/{session_id}", tag="media", summary="End a WHIP session", errors=("not_found",)
)
@with_cors(ALLOW_SESSION)
async def whip_delete(request: web.Request) -> web.Response:
    """End a WHIP session."""
    return await _delete(request, "whip")


@router.delete(
    "/whep/{broadcast_id}/{session_id}", tag="media", summary="End a WHEP session", errors=("not_found",)
)
@with_cors(ALLOW_SESSION)
async def whep_delete(request: web.Request) -> web.Response:
    """End a WHEP session."""
    return await _delete(request, "whep")


@router.patch(
    "/whip/{broadcast_id}/{session_id}",
    tag="media",
    summary="Trickle ICE candidates (application/trickle-ice-sdpfrag)",
    errors=("not_found", "unsupported_media_type", "validation_error"),
)
@with_cors(ALLOW_SESSION)
async def whip_patch(request: web.Request) -> web.Response:
    """Trickle ICE candidates to a WHIP session."""
    return await _patch(request, "whip")


@router.patch(
    "/whep/{broadcast_id}/{session_id}",
    tag="media",
    summary="Trickle ICE candidates (application/trickle-ice-sdpfrag)",
    errors=("not_found", "unsupported_media_type", "validation_error"),
)
@with_cors(ALLOW_SESSION)
async def whep_patch(request: web.Request) -> web.Response:
    """Trickle ICE candidates to a WHEP session."""
    return await _patch(request, "whep")


@router.get(
    "/whep/{broadcast_id}/{session_id}/clock",
    tag="media",
    summary="How this session's video RTP timestamps map to the broadcast's media clock",
    errors=("not_found",),
)
@with_cors("GET, OPTIONS")
async def whep_clock(request: web.Request) -> web.Response:
    """{rtp_origin, clock_rate}: a frame's media pts = (its RTP timestamp - rtp_origin) mod 2^32 at
    clock_rate, on the clock room events give as `media_pts` (rtp_origin is null until the first
    frames went out). The watch page holds a pin or offer until it plays that frame."""
    session = session_for(request, "whep")
    origin = next(
        (t.rtp_origin for t in session.tracks if isinstance(t, PacketTrack) and t.kind == "video"), None
    )
    return json_response({"rtp_origin": origin, "clock_rate": VIDEO_CLOCK})


@with_cors(ALLOW_ENDPOINT)
async def endpoint_options(request: web.Request) -> web.Response:
    return _link_response(request, 204, **{"Accept-Post": "application/sdp", "Allow": ALLOW_ENDPOINT})


@with_cors(ALLOW_SESSION)
async def session_options(request: web.Request) -> web.Response:
    return web.Response(
        status=204, headers={"Allow": ALLOW_SESSION, "Accept-Patch": "application/trickle-ice-sdpfrag"}
    )


@router.get("/api/v1/media/{broadcast_id}", tag="media", summary="Media state of a broadcast", errors=())
@with_cors("GET, OPTIONS")
async def media_state(request: web.Request) -> web.Response:
    """Media state of a broadcast: publishing, reconnecting, stopped or idle, and the viewer count."""
    hub = request.app[HUB]
    broadcast_id = request.match_info["broadcast_id"]
    fanout = hub.fanouts.get(broadcast_id)
    body = {
        "broadcast_id": broadcast_id,
        "state": hub.states.get(broadcast_id, "idle"),
        "viewers": len(hub.viewers(broadcast_id)),
        "source_size": list(fanout.source_size) if fanout and fanout.source_size else None,
        "codecs": sorted(fanout.encoders) if fanout else [],
        # the host's "large audience" switch: every watch page plays HLS (through the CDN) instead of WHEP
        "large_audience": await large_audience(request.app, broadcast_id),
        "hls_url": f"/hls/{broadcast_id}/index.m3u8",
    }
    return web.json_response(body)


def large_audience_key(broadcast_id: str) -> str:
    """Redis: "1" while the host wants every viewer on HLS (shared by every node)."""
    return f"media:{{{broadcast_id}}}:large_audience"


async def large_audience(app: web.Application, broadcast_id: str) -> bool:
    if len(broadcast_id) > 80:
        return False
    try:
        return bool(await app[REDIS].get(large_audience_key(broadcast_id)))
    except RedisError:  # a hint for the page; WHEP keeps working without it
        return False


class DeliveryIn(Body):
    large_audience: bool


@router.put(
    "/api/v1/broadcasts/{id}/delivery",
    body=DeliveryIn,
    auth="host",
    tag="media",
    summary="Large audience on or off: every watch page plays HLS through the CDN instead of WebRTC",
    errors=("not_found", "validation_error"),
)
async def set_delivery(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, DeliveryIn)
    broadcast_id = path_id(request)
    async with request.app[DB]() as session:
        shop_id = await session.scalar(select(Broadcast.shop_id).where(Broadcast.id == broadcast_id))
    if shop_id is None or shop_id != host.shop_id:
        raise NotFound("broadcast")
    key = large_audience_key(broadcast_id)
    if body.large_audience:
        await request.app[REDIS].set(key, "1", ex=7 * 86400)
    else:
        await request.app[REDIS].delete(key)
    return json_response({"broadcast_id": broadcast_id, "large_audience": body.large_audience})


def install(app: web.Application) -> None:
    router.install(app)
    for kind in ("whip", "whep"):
        app.router.add_route("OPTIONS", f"/{kind}/{{broadcast_id}}", endpoint_options)
        app.router.add_route("OPTIONS", f"/{kind}/{{broadcast_id}}/{{session_id}}", session_options)
