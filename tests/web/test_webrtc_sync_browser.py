"""WebRTC viewers in step (Debian's Chromium): a room event carries the media time it happened at
(`media_pts`, the broadcast's 90 kHz media clock), the watch page maps each presented frame's RTP
timestamp to that clock (the WHEP session's origin, requestVideoFrameCallback), and an offer announced
at media time T is not shown before the frame of T plays, even behind a 2.5 s jitter buffer
(tests/web/webrtc_sync.mjs)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.media.encoders import VIDEO_CLOCK
from tests.api_client import Api
from tests.web.test_browser import ROOT, missing
from tests.web.test_hls_browser import publishing_to_a_page, step

pytestmark = [pytest.mark.browser, pytest.mark.media]
SCRIPT = ROOT / "tests" / "web" / "webrtc_sync.mjs"
DELAY_MS = 2500


def signed(a: int, b: int) -> int:
    """a - b on the 32-bit RTP clock."""
    d = (a - b) % 2**32
    return d - 2**32 if d >= 2**31 else d


async def test_an_offer_waits_for_its_frame_behind_a_deep_jitter_buffer(
    node: tuple[web.Application, TestServer], http: aiohttp.ClientSession, api: Api, host: str
) -> None:
    reason = missing()
    if reason:
        pytest.fail(reason)
    base = str(node[1].make_url("")).rstrip("/")
    broadcast = await api.broadcast(host, "WebRTC in step")
    bid = broadcast["id"]
    product = await api.product(host)
    delay = ("--delay-ms", str(DELAY_MS))
    async with publishing_to_a_page(http, base, broadcast, SCRIPT, *delay, ready=r"s1\.m4s") as proc:
        first = await step(proc)
        assert first["step"] == "playing", first
        await asyncio.sleep(3)  # the jitter buffer fills to its target
        await api.offer(host, bid, product["id"], quantity=3, per_buyer_limit=1)
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        done = await step(proc)
        await proc.wait()
    verdict = done["verdict"]
    assert "error" not in verdict, verdict
    assert verdict["page_errors"] == []
    offer_pts, frame_pts = verdict["offer_pts"], verdict["frame_pts_when_shown"]
    assert isinstance(offer_pts, int), verdict  # the room event carried its media time
    late_s = signed(frame_pts, offer_pts) / VIDEO_CLOCK
    print(f"offer shown {verdict['offer_shown_after_ms']} ms after launch; frame on screen {late_s:+.3f} s")
    # never before the frame of T; and released as soon as it played (a frame or two after)
    assert 0 <= late_s < 0.5, verdict
    # the path really was late: shown seconds after the room heard of it, not at once
    assert verdict["offer_shown_after_ms"] >= 1500, verdict
