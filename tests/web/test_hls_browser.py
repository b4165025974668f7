"""LL-HLS in Debian's Chromium: hls.js plays the live broadcast with advancing frames, an offer appears
only once the playhead reaches its EXT-X-DATERANGE, the replay page seeks to it and buys the product
the host kept on sale at its shelf price (tests/web/hls.mjs)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from loadtests.media_clients import Publisher
from tests.api_client import Api
from tests.media.test_hls import until_playlist
from tests.web.test_browser import ROOT, missing

pytestmark = [pytest.mark.browser, pytest.mark.media]
SCRIPT = ROOT / "tests" / "web" / "hls.mjs"


async def step(proc: asyncio.subprocess.Process, within: float = 60) -> dict[str, Any]:
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), within)
        if not line:
            raise AssertionError("the browser script ended early")
        if line.startswith(b"{"):
            return dict(json.loads(line))


@asynccontextmanager
async def publishing_to_a_page(
    http: aiohttp.ClientSession, base: str, broadcast: dict[str, Any], script: Path, *args: str, ready: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A publisher on the broadcast and, once its playlist shows `ready`, the page script (driven over
    stdin and stdout, see `step`). Leaving stops the publisher; the script runs on (a replay step)."""
    publisher = Publisher(http, base, broadcast["id"], broadcast["stream_key"], width=320, height=180)
    try:
        assert (await publisher.start()).status == 201
        await until_playlist(http, f"{base}/hls/{broadcast['id']}/index.m3u8", ready)
        yield await asyncio.create_subprocess_exec(
            "node",
            str(script),
            "--base",
            base,
            "--broadcast",
            broadcast["id"],
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
    finally:
        await publisher.stop()


async def test_hls_js_plays_offers_wait_for_the_playhead_and_the_replay_seeks_to_a_product(
    node: tuple[web.Application, TestServer], http: aiohttp.ClientSession, api: Api, host: str
) -> None:
    reason = missing()
    if reason:
        pytest.fail(reason)
    base = str(node[1].make_url("")).rstrip("/")
    broadcast = await api.broadcast(host, "HLS in the browser")
    bid = broadcast["id"]
    product = await api.product(host)
    async with publishing_to_a_page(http, base, broadcast, SCRIPT, ready=r"s2\.m4s") as proc:
        first = await step(proc)
        assert first["step"] == "playing", first
        offer = await api.offer(host, bid, product["id"], quantity=3, per_buyer_limit=1)
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        shown = await step(proc)
        assert shown["step"] == "offer-shown", shown
        playlist = await until_playlist(http, f"{base}/hls/{bid}/index.m3u8", offer["id"])
    assert (await api.call("POST", f"/api/v1/broadcasts/{bid}/end", token=host)).status == 200
    # the host keeps the product on sale from the replay, at its shelf price
    kept = await api.call(
        "POST",
        f"/api/v1/broadcasts/{bid}/replay-offers",
        token=host,
        json={"product_id": product["id"], "quantity": 2},
    )
    assert kept.status == 201 and kept.body["price"] == product["price"], kept.body
    proc.stdin.write(b"replay\n")
    done = await step(proc)
    await proc.wait()
    verdict = done["verdict"]
    assert "error" not in verdict, verdict
    assert verdict["page_errors"] == []
    played = verdict["playing"]
    assert (
        played["later"]["t"] > played["first"]["t"] and played["later"]["frames"] > played["first"]["frames"]
    )
    # the offer waited for the video: shown once the playhead reached the moment the playlist gives it
    start = re.search(
        rf'START-DATE="([^"]+)",X-LIVESHOP-TYPE="offer",X-LIVESHOP-ID="{offer["id"]}"', playlist
    )
    assert start is not None
    moment = datetime.fromisoformat(start.group(1).replace("Z", "+00:00"))
    playhead = datetime.fromisoformat(verdict["playing_date_at_offer"].replace("Z", "+00:00"))
    assert (playhead - moment).total_seconds() >= -0.3, (playhead, moment)
    print(f"offer shown {verdict['offer_shown_after_ms']} ms after its launch, in step with the video")
    assert verdict["offer_shown_after_ms"] >= 500  # a WebRTC viewer would see it at once
    replay = verdict["replay"]
    at = next(i["at"] for i in replay["items"] if i["type"] == "offer")
    assert abs(replay["seeked_to"] - at) < 1.5
    assert product["title"] in replay["now_showing"]
    # bought from the replay page at the shelf price, through the same hold and checkout
    assert replay["buy_label"] == "Buy · $19.99" and replay["order_total"] == "$19.99", replay
    sold = await api.call("GET", f"/api/v1/offers/{kept.body['id']}")
    assert sold.body["available"] == 1, sold.body
