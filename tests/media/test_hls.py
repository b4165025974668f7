"""LL-HLS of a live broadcast from a real WHIP publisher: parts and blocking reload over HTTP, ffprobe
decoding what the origin serves, offers and pins at their moment, a publisher who drops and
returns, the replay with its timeline, and paths that lead nowhere."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from loadtests.media_clients import Publisher
from server.api.context import REDIS
from server.media.routes import large_audience_key
from tests.api_client import Api
from tests.conftest import new_host
from tests.live.conftest import RoomClient
from tests.media.hls.test_cmaf import ffprobe

pytestmark = pytest.mark.media


async def text(http: aiohttp.ClientSession, url: str) -> tuple[int, str, dict[str, str]]:
    async with http.get(url) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def until_playlist(http: aiohttp.ClientSession, url: str, pattern: str, within: float = 20.0) -> str:
    deadline = time.monotonic() + within
    while True:
        status, body, _ = await text(http, url)
        if status == 200 and re.search(pattern, body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"playlist never showed {pattern!r}: {status} {body}")
        await asyncio.sleep(0.1)


async def test_live_hls_parts_blocking_reload_offers_in_the_playlist_and_a_playable_replay(
    node: tuple[web.Application, TestServer],
    http: aiohttp.ClientSession,
    base: str,
    api: Api,
    host: str,
    tmp_path: Path,
) -> None:
    broadcast = await api.broadcast(host, "HLS test")
    bid = broadcast["id"]
    playlist_url = f"{base}/hls/{bid}/index.m3u8"
    first = Publisher(http, base, bid, broadcast["stream_key"], width=320, height=180)
    second: Publisher | None = None
    try:
        assert (await first.start()).status == 201
        live = await until_playlist(http, playlist_url, r"#EXTINF:[\d.]+,\ns1\.m4s")
        assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES" in live
        assert "#EXT-X-PRELOAD-HINT:TYPE=PART" in live
        _, _, headers = await text(http, playlist_url)
        assert headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
        assert headers["Cache-Control"] == "public, max-age=1"

        # a blocking reload for the next part returns once that part exists, and lists it
        hint = re.search(r'PRELOAD-HINT:TYPE=PART,URI="p(\d+)\.(\d+)\.m4s"', live)
        assert hint is not None
        msn, part = int(hint.group(1)), int(hint.group(2))
        started = time.monotonic()
        status, blocked, headers = await text(http, f"{playlist_url}?_HLS_msn={msn}&_HLS_part={part}")
        assert status == 200 and f'URI="p{msn}.{part}.m4s"' in blocked
        assert time.monotonic() - started < 3.0
        assert headers["Cache-Control"] == "public, max-age=60"

        # what the origin serves is real video: init + a live segment decode in ffprobe
        async with http.get(f"{base}/hls/{bid}/init0.mp4") as resp:
            init = await resp.read()
        async with http.get(f"{base}/hls/{bid}/s1.m4s") as resp:
            assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            segment = await resp.read()
        (tmp_path / "live.mp4").write_bytes(init + segment)
        frames = ffprobe(tmp_path / "live.mp4")
        assert frames["h264"] >= 20
        assert "opus" in frames

        # an offer started now rides in the playlist as a date range
        product = await api.product(host)
        offer = await api.offer(host, bid, product["id"], quantity=5, per_buyer_limit=1)
        pin = await api.call(
            "PUT", f"/api/v1/broadcasts/{bid}/pin", token=host, json={"product_id": product["id"]}
        )
        assert pin.status == 200
        await until_playlist(http, playlist_url, rf'X-LIVESHOP-TYPE="offer",X-LIVESHOP-ID="{offer["id"]}"')
        talker = await RoomClient(base, await api.guest("replay-talker")).connect()
        await talker.join(bid)
        assert (await talker.call("chat", {"text": "is it cotton?"}))["ok"]
        await talker.sio.disconnect()

        # the publisher drops and another one returns at another size
        await first.stop(delete=False)
        second = Publisher(http, base, bid, broadcast["stream_key"], width=256, height=144)
        assert (await second.start()).status == 201
        await until_playlist(http, playlist_url, r'#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init1.mp4"')
        replay_before = await api.call("GET", f"/api/v1/broadcasts/{bid}/replay")
        assert replay_before.status == 404 and replay_before.body["code"] == "no_replay"
        await until_playlist(
            http,
            playlist_url,
            r'init1\.mp4"\n(?:#EXT-X-PROGRAM-DATE-TIME:.*\n(?:#EXT-X-PART:.*\n)*#EXTINF.*\n.*\n){1}',
        )
    finally:
        await first.stop()
        if second is not None:
            await second.stop()

    ended = await api.call("POST", f"/api/v1/broadcasts/{bid}/end", token=host)
    assert ended.status == 200
    replay = await api.call("GET", f"/api/v1/broadcasts/{bid}/replay")
    assert replay.status == 200, replay.body
    assert replay.body["duration_s"] > 3
    kinds = [(item["type"], item["id"]) for item in replay.body["timeline"]]
    assert ("offer", offer["id"]) in kinds and ("pin", product["id"]) in kinds
    at = {item["type"]: item["at_s"] for item in replay.body["timeline"]}
    assert 0 < at["offer"] <= at["pin"] <= replay.body["duration_s"]
    # the chat replays in step: each message carries where the video was when the room got it, on the
    # same media timeline as the pins and offers (said after the pin, before the publisher dropped)
    chat = await api.call("GET", f"/api/v1/broadcasts/{bid}/chat")
    said = next(m for m in chat.body["items"] if m["text"] == "is it cotton?")
    periods = replay.body["periods"]
    assert len(periods) == 2 and periods[0]["at_s"] == 0 and periods[1]["at_s"] > 0
    # exact in order: after the pin's moment, inside the first stretch (before the publisher dropped);
    # how far after the pin is not bounded by the wall time between them, since each stamp is the
    # newest frame packaged then and the encode may lag more at one stamp than at the other
    assert at["pin"] <= said["at_s"] <= periods[1]["at_s"], (at, said, periods)
    replay_url = base + urlsplit(replay.body["playlist_url"]).path  # the node's public URL names 8080
    status, vod, _ = await text(http, replay_url)
    assert status == 200 and vod.rstrip().endswith("#EXT-X-ENDLIST")
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in vod and "#EXT-X-DISCONTINUITY" in vod
    frames = await asyncio.to_thread(ffprobe, replay_url)  # the node answers ffprobe on this loop
    assert frames["h264"] >= 60

    # the host hides the replay: gone for the public (API, playlist, segments), still there for the shop
    other_shop = await new_host(node[0], api)
    hide = {"published": False}
    assert (
        await api.call("PUT", f"/api/v1/broadcasts/{bid}/replay", token=other_shop, json=hide)
    ).status == 404
    assert (await api.call("PUT", f"/api/v1/broadcasts/{bid}/replay", token=host, json=hide)).status == 200
    hidden = await api.call("GET", f"/api/v1/broadcasts/{bid}/replay")
    assert (hidden.status, hidden.body["code"]) == (404, "no_replay")
    assert (await text(http, replay_url))[0] == 404
    assert (await text(http, f"{base}/hls/{bid}/s0.m4s"))[0] == 404
    staff = await api.call("GET", f"/api/v1/broadcasts/{bid}/replay", token=host)
    assert staff.status == 200 and staff.body["published"] is False
    shown = await api.call("PUT", f"/api/v1/broadcasts/{bid}/replay", token=host, json={"published": True})
    assert shown.status == 200
    assert (await api.call("GET", f"/api/v1/broadcasts/{bid}/replay")).body["published"] is True


@pytest.mark.parametrize(
    "path",
    [
        "/hls/bc_nope/index.m3u8",
        "/hls/bc_nope/s0.m4s",
        "/hls/bc_x/..%2f..%2fpyproject.toml",
        "/hls/bc_x/%2e%2e%2fpyproject.toml",
        "/hls/..%2f/index.m3u8",
        "/hls/bc_x/replay.m3u8",
        "/hls/bc_x/timeline.json",
        "/hls/bc_x/p1.m4s",
        "/hls/bc_x/s1.m4s%00",
        "/hls/bc%00x/index.m3u8",
        "/hls/" + "a" * 200 + "/index.m3u8",
        "/api/v1/broadcasts/bc_nope/replay",
    ],
)
async def test_paths_that_lead_nowhere_are_404_problems_never_files(
    http: aiohttp.ClientSession, base: str, path: str
) -> None:
    async with http.get(base + path) as resp:
        assert resp.status == 404, await resp.text()
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert (await resp.json())["code"] in ("not_found", "no_replay")


async def test_blocking_reload_with_bad_or_far_future_numbers_is_a_clear_400(
    http: aiohttp.ClientSession, base: str, api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    broadcast = await api.broadcast(host, "HLS bad input")
    publisher = Publisher(
        http, base, broadcast["id"], broadcast["stream_key"], width=160, height=90, audio=False
    )
    url = f"{base}/hls/{broadcast['id']}/index.m3u8"
    try:
        assert (await publisher.start()).status == 201
        await until_playlist(http, url, r"p0\.0\.m4s")
        for query in (
            "_HLS_msn=abc",
            "_HLS_part=1",
            "_HLS_msn=999999",
            "_HLS_msn=-1",
            "_HLS_msn=1&_HLS_part=x",
        ):
            async with http.get(f"{url}?{query}") as resp:
                assert resp.status == 400, (query, await resp.text())
                assert (await resp.json())["code"] == "bad_request"
    finally:
        await publisher.stop()


@pytest.mark.parametrize("since", ["abc", "-1", "1e9", "9" * 20])
async def test_the_chat_archive_refuses_a_bad_page_mark_clearly(
    http: aiohttp.ClientSession, base: str, since: str
) -> None:
    async with http.get(f"{base}/api/v1/broadcasts/bc_any/chat", params={"since_ms": since}) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == "bad_request"


async def test_the_large_audience_switch_lives_in_redis_for_every_node_and_only_its_shop_may_flip_it(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    broadcast = await api.broadcast(host, "Big show")
    path = f"/api/v1/broadcasts/{broadcast['id']}/delivery"
    state = f"/api/v1/media/{broadcast['id']}"
    assert (await api.call("GET", state)).body["large_audience"] is False
    other = await new_host(node[0], api)
    assert (await api.call("PUT", path, token=other, json={"large_audience": True})).status == 404
    assert (await api.call("PUT", path, token=host, json={"large_audience": "yes please"})).status == 422
    assert (await api.call("PUT", path, token=host, json={"large_audience": True})).status == 200
    on = (await api.call("GET", state)).body
    assert on["large_audience"] is True and on["hls_url"] == f"/hls/{broadcast['id']}/index.m3u8"
    assert await node[0][REDIS].get(large_audience_key(broadcast["id"])) == b"1"  # what other nodes read
    assert (await api.call("PUT", path, token=host, json={"large_audience": False})).status == 200
    assert (await api.call("GET", state)).body["large_audience"] is False
