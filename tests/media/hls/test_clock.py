"""The media clock: a broadcast's moment on its own video timeline, on the packaging node and (through
the anchors in real Redis) on every other node; what chat messages and room events are stamped with."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from server.config import Settings
from server.media.encoders import VideoEncoder
from server.media.hls.clock import HlsMediaClock, anchor_key
from server.media.hls.origin import HlsOrigin
from server.media.hls.recorder import Recorder
from tests.media.hls.test_cmaf import _encode, _frame

WALL0 = 1_800_000_000.0


def _origin(tmp_path: Path, wall: list[float]) -> HlsOrigin:
    return HlsOrigin(Recorder(tmp_path), part_s=0.5, segment_s=2.0, window=4, wall=lambda: wall[0])


def test_the_moment_is_the_newest_frame_on_the_media_timeline_not_the_wall_clock(tmp_path: Path) -> None:
    wall = [WALL0]
    origin = _origin(tmp_path, wall)
    stream = origin.stream("bc_clock")
    video, _ = _encode(4.0, keyframe_every=60)
    for packet in video[:90]:
        stream.on_video(packet, (320, 240), with_audio=False)
    # the wall clock ran on 10 s meanwhile (a loaded node, a stalled publisher): the video did not
    wall[0] += 10
    at_s, dated = stream.moment()
    assert at_s == pytest.approx(89 / 30, abs=1e-3)  # frame 89 of 30 fps, from the first keyframe
    assert dated.timestamp() == pytest.approx(WALL0 + at_s, abs=1e-3)  # its PROGRAM-DATE-TIME
    offer = stream.mark("offer", "of_1")
    assert offer.at_s == pytest.approx(at_s, abs=1e-3) and offer.wall == dated
    # the publisher goes: the moment stays at the end of what was recorded
    stream.flush()
    assert not stream.live and stream.moment()[0] == pytest.approx(stream.duration_s)
    for packet in VideoEncoder("h264", 600_000, 2.0).encode(_frame(0), True):
        stream.on_video(packet, (320, 240), with_audio=False)
    assert stream.live and stream.moment()[0] == pytest.approx(stream.duration_s, abs=0.05)


async def test_other_nodes_read_the_moment_from_the_anchor_and_stop_when_it_is_stale(
    tmp_path: Path, settings: Settings
) -> None:
    redis = Redis.from_url(settings.redis_url)
    try:
        wall = [time.time()]
        packaging = HlsMediaClock(_origin(tmp_path, wall), redis)
        stream = packaging.origin.stream("bc_anchor")
        for packet in _encode(2.0)[0]:
            stream.on_video(packet, (320, 240), with_audio=False)
        here = await packaging("bc_anchor")
        assert here is not None and here.at_s == pytest.approx(59 / 30, abs=1e-3)
        assert await packaging.write_anchors() == 1
        elsewhere = HlsMediaClock(_origin(tmp_path, wall), redis)  # a node with no stream of it
        there = await elsewhere("bc_anchor")
        assert there is not None
        assert 0 <= there.at_s - here.at_s < 0.5 and 0 <= there.media_ms - here.media_ms < 500
        # the fanout's 90 kHz clock, as every WHEP viewer's RTP timestamps carry it
        assert here.pts == 90_000 + 59 * 3000 and 0 <= there.pts - here.pts < 45_000
        assert here.stamp() == {"media_at_s": here.at_s, "media_ms": here.media_ms, "media_pts": here.pts}
        assert await elsewhere("bc_never_published") is None
        await redis.set(anchor_key("bc_old"), b'{"at_s": 1, "media_ms": 1, "wall": 1}')
        assert await elsewhere("bc_old") is None  # nobody has been publishing it for a while
    finally:
        await redis.aclose()
