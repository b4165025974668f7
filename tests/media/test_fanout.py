"""aiortc publisher + aiortc WHEP viewers through a real node: encode once, fan out to every viewer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from loadtests.media_clients import Publisher, Viewer
from server.media import HUB

pytestmark = pytest.mark.media


async def test_every_viewer_decodes_frames_of_the_published_size_from_one_encoder_per_codec(
    node: tuple[web.Application, TestServer],
    http: aiohttp.ClientSession,
    base: str,
    broadcast: dict[str, Any],
) -> None:
    publisher = Publisher(http, base, broadcast["id"], broadcast["stream_key"])
    viewers = [
        Viewer(http, base, broadcast["id"]),
        Viewer(http, base, broadcast["id"]),
        Viewer(http, base, broadcast["id"], codec="H264"),
    ]
    try:
        assert (await publisher.start()).status == 201
        for viewer in viewers:
            assert (await viewer.start()).status == 201
        await asyncio.gather(*(v.wait_frames(20, within=15) for v in viewers))
        for viewer in viewers:
            assert viewer.sizes == {(640, 360)}
            assert viewer.audio_frames > 0
        fanout = node[0][HUB].fanouts[broadcast["id"]]
        assert sorted(fanout.encoders) == ["h264", "vp8"]
        # one encode per codec per frame, not one per viewer
        assert fanout.frames_encoded <= 2 * fanout.frames_in + 2
    finally:
        for viewer in viewers:
            await viewer.stop()
        await publisher.stop()


async def test_late_viewer_gets_a_keyframe_within_two_seconds_without_disturbing_others(
    http: aiohttp.ClientSession, base: str, broadcast: dict[str, Any]
) -> None:
    publisher = Publisher(http, base, broadcast["id"], broadcast["stream_key"])
    first = Viewer(http, base, broadcast["id"])
    late = Viewer(http, base, broadcast["id"])
    try:
        await publisher.start()
        await first.start()
        await first.wait_frames(30, within=15)
        await asyncio.sleep(1.3)  # well into a GOP (keyframes every 3 s in tests)
        before, t0 = first.frames, time.monotonic()
        assert (await late.start()).status == 201
        await late.wait_frames(1, within=5)
        assert late.first_frame_at is not None
        assert late.first_frame_at - late.started < 2.0
        await late.wait_frames(15, within=5)
        # the first viewer kept playing at its pace meanwhile (>= 60% of 30 fps on a busy machine)
        assert first.frames - before >= (time.monotonic() - t0) * 30 * 0.6
        gap = time.monotonic() - (first.last_frame_at or 0)
        assert gap < 0.5
    finally:
        await late.stop()
        await first.stop()
        await publisher.stop()
