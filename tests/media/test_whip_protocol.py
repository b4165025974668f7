"""WHIP/WHEP over real HTTP: the RFC 9725 status codes, headers, CORS, trickle PATCH and limits."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from loadtests.media_clients import Publisher, new_pc, post_sdp
from server.config import MediaSettings
from server.media import HUB
from server.media.ice import link_headers
from tests.api_client import Api

pytestmark = pytest.mark.media


async def offer_sdp(kind: str = "video") -> str:
    pc = new_pc()
    pc.addTransceiver(kind, direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def test_whip_rejects_wrong_content_type_bad_sdp_wrong_key_and_unknown_broadcast(
    http: aiohttp.ClientSession, base: str, broadcast: dict[str, Any]
) -> None:
    url, key = f"{base}/whip/{broadcast['id']}", broadcast["stream_key"]
    sdp = await offer_sdp()
    wrong_type = await post_sdp(http, url, sdp, key, content_type="application/json")
    assert wrong_type.status == 415
    garbage = await post_sdp(http, url, "this is not sdp", key)
    assert garbage.status == 400
    truncated = await post_sdp(http, url, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=video x\r\n", key)
    assert truncated.status == 400
    wrong_key = await post_sdp(http, url, sdp, "sk_wrong")
    assert wrong_key.status == 401
    assert wrong_key.headers["WWW-Authenticate"].startswith("Bearer")
    no_key = await post_sdp(http, url, sdp)
    assert no_key.status == 401
    unknown = await post_sdp(http, f"{base}/whip/bc_doesnotexist", sdp, key)
    assert unknown.status == 404
    # errors are readable cross-origin
    assert garbage.headers["Access-Control-Allow-Origin"] == "*"
    assert (await post_sdp(http, f"{base}/whep/{broadcast['id']}", "nope")).status == 400
    assert (
        await post_sdp(http, f"{base}/whep/{broadcast['id']}", sdp, content_type="text/plain")
    ).status == 415


async def test_preflight_allows_browser_posts_with_authorization_and_exposes_location(
    http: aiohttp.ClientSession, base: str, broadcast: dict[str, Any]
) -> None:
    headers = {
        "Origin": "https://console.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    for kind in ("whip", "whep"):
        async with http.options(f"{base}/{kind}/{broadcast['id']}", headers=headers) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
            assert "Location" in resp.headers["Access-Control-Expose-Headers"]
            assert resp.headers["Accept-Post"] == "application/sdp"
        async with http.options(f"{base}/{kind}/{broadcast['id']}/anything", headers=headers) as resp:
            assert resp.status == 204
            assert "DELETE" in resp.headers["Access-Control-Allow-Methods"]


def test_ice_servers_are_advertised_without_static_turn_credentials() -> None:
    """Static TURN credentials are the node's own: clients only ever get short-lived ones."""
    settings = MediaSettings(
        ice_servers="stun:stun.example.net:3478,turn:turn.example.net:3478?transport=udp",
        ice_username="user",
        ice_credential="secret",
    )
    assert link_headers(settings) == ['<stun:stun.example.net:3478>; rel="ice-server"']


async def test_publish_answers_201_with_location_etag_then_409_for_a_second_publisher_and_delete_ends_it(
    node: tuple[web.Application, TestServer],
    http: aiohttp.ClientSession,
    base: str,
    api: Api,
    broadcast: dict[str, Any],
) -> None:
    publisher = Publisher(http, base, broadcast["id"], broadcast["stream_key"])
    second = Publisher(http, base, broadcast["id"], broadcast["stream_key"])
    try:
        result = await publisher.start()
        assert result.status == 201
        assert result.headers["Content-Type"].startswith("application/sdp")
        assert result.location and result.location.startswith(f"/whip/{broadcast['id']}/")
        assert result.headers["ETag"].startswith('"')
        assert "a=candidate:" in result.body and "127.0.0.1" in result.body
        for line in result.body.splitlines():  # loopback only, as the tests configure
            if line.startswith("a=candidate:"):
                assert " 127.0.0.1 " in line, line
        for _ in range(100):
            reply = await api.call("GET", f"/api/v1/broadcasts/{broadcast['id']}")
            if reply.body["status"] == "live":
                break
            await asyncio.sleep(0.05)
        assert reply.body["status"] == "live"
        assert (await second.start()).status == 409

        session_url = base + result.location
        # trickle ICE: wrong type 415, stale ETag 412, a candidate 204, an ICE restart 422
        frag = "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
        async with http.patch(session_url, data=frag, headers={"Content-Type": "text/plain"}) as resp:
            assert resp.status == 415
        async with http.patch(
            session_url,
            data=frag,
            headers={"Content-Type": "application/trickle-ice-sdpfrag", "If-Match": '"stale"'},
        ) as resp:
            assert resp.status == 412
        async with http.patch(
            session_url,
            data=frag,
            headers={"Content-Type": "application/trickle-ice-sdpfrag", "If-Match": result.headers["ETag"]},
        ) as resp:
            assert resp.status == 204
        restart = "a=ice-ufrag:newu\r\na=ice-pwd:newpasswordnewpassword12\r\n"
        async with http.patch(
            session_url, data=restart, headers={"Content-Type": "application/trickle-ice-sdpfrag"}
        ) as resp:
            assert resp.status == 422

        async with http.delete(session_url) as resp:
            assert resp.status == 200
        async with http.delete(session_url) as resp:
            assert resp.status == 404
        assert node[0][HUB].states[broadcast["id"]] == "stopped"
        publisher.location = None
    finally:
        await second.stop(delete=False)
        await publisher.stop()


async def test_viewer_limits_per_client_and_per_broadcast_give_clear_errors(
    node: tuple[web.Application, TestServer],
    http: aiohttp.ClientSession,
    base: str,
    api: Api,
    broadcast: dict[str, Any],
) -> None:
    hub = node[0][HUB]
    token = await api.guest("limited")
    url = f"{base}/whep/{broadcast['id']}"
    locations = []
    try:
        for _ in range(hub.settings.max_sessions_per_client):
            result = await post_sdp(http, url, await offer_sdp(), token)
            assert result.status == 201
            locations.append(result.location)
        over = await post_sdp(http, url, await offer_sdp(), token)
        assert over.status == 429
        assert "per client" in over.body

        original = hub.settings
        hub.settings = original.model_copy(update={"max_viewers_per_broadcast": len(locations)})
        try:
            full = await post_sdp(http, url, await offer_sdp(), await api.guest("other"))
            assert full.status == 503
            assert "viewer limit" in full.body
        finally:
            hub.settings = original
    finally:
        for location in locations:
            async with http.delete(base + location) as resp:
                assert resp.status == 200


async def test_sessions_that_never_connect_are_reaped(
    node: tuple[web.Application, TestServer],
    http: aiohttp.ClientSession,
    base: str,
    broadcast: dict[str, Any],
) -> None:
    hub = node[0][HUB]
    result = await post_sdp(http, f"{base}/whep/{broadcast['id']}", await offer_sdp())
    assert result.status == 201
    session_id = result.location.rsplit("/", 1)[-1]
    assert session_id in hub.sessions
    for _ in range(100):
        if session_id not in hub.sessions:
            break
        await asyncio.sleep(0.1)
    assert session_id not in hub.sessions
    async with http.delete(base + result.location) as resp:
        assert resp.status == 404


async def test_viewer_offer_without_a_codec_we_send_is_rejected(
    http: aiohttp.ClientSession, base: str, broadcast: dict[str, Any]
) -> None:
    sdp = (await offer_sdp()).replace("VP8/90000", "XV9/90000").replace("H264/90000", "XH9/90000")
    result = await post_sdp(http, f"{base}/whep/{broadcast['id']}", sdp)
    assert result.status == 400


async def test_whip_and_whep_are_in_the_published_contract(api: Api) -> None:
    spec = (await api.call("GET", "/api/v1/openapi.json")).body
    whip = spec["paths"]["/whip/{broadcast_id}"]["post"]
    assert "application/sdp" in whip["requestBody"]["content"]
    assert {"201", "400", "401", "404", "409", "415"} <= set(whip["responses"])
    assert "post" in spec["paths"]["/whep/{broadcast_id}"]
    assert "delete" in spec["paths"]["/whip/{broadcast_id}/{session_id}"]
