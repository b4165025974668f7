"""A slow viewer drops its backlog and resumes at the next keyframe: bounded memory, nobody waits."""

from __future__ import annotations

import asyncio
import fractions

import av

from server.media.encoders import VideoEncoder, fit
from server.media.tracks import PacketTrack


def packet(n: int) -> av.Packet:
    p = av.Packet(bytes([n % 256]) * 100)
    p.pts, p.time_base = n, fractions.Fraction(1, 90_000)
    return p


async def test_a_viewer_that_never_reads_holds_at_most_its_queue_and_waits_for_a_keyframe() -> None:
    asked: list[int] = []
    track = PacketTrack("video", codec="vp8", max_queue=10, on_keyframe_needed=lambda: asked.append(1))
    track.offer(packet(0), keyframe=False)  # joined mid-GOP: nothing until a keyframe
    assert track.waiting_for_keyframe
    for n in range(1, 1000):
        track.offer(packet(n), keyframe=n % 300 == 0)
        assert len(track._queue) <= 10
    assert track.skips >= 1 and asked  # it fell behind, skipped, and asked the encoder for a keyframe
    track.offer(packet(1200), keyframe=True)
    first = await asyncio.wait_for(track.recv(), 1)
    assert first.pts == 1200  # it resumes exactly at the keyframe
    track.stop()


async def test_a_fast_viewer_gets_every_packet_in_order() -> None:
    track = PacketTrack("video", codec="h264", max_queue=10)
    track.offer(packet(0), keyframe=True)
    got = []
    for n in range(1, 50):
        track.offer(packet(n), keyframe=False)
        got.append((await track.recv()).pts)
    got.append((await track.recv()).pts)
    assert got == list(range(50))
    assert track.skips == 0
    track.stop()


def test_encoder_caps_keep_aspect_and_force_keyframes_on_request() -> None:
    assert fit(1920, 1080, 1280, 720) == (1280, 720)
    assert fit(640, 360, 1280, 720) == (640, 360)
    assert fit(1080, 1920, 1280, 720) == (404, 720)
    for codec in ("h264", "vp8"):
        encoder = VideoEncoder(codec, 500_000, keyframe_interval_s=10)
        keys = []
        for n in range(12):
            frame = av.VideoFrame(320, 180, "yuv420p")
            frame.pts, frame.time_base = n * 3000, fractions.Fraction(1, 90_000)
            keys += [p.is_keyframe for p in encoder.encode(frame, force_keyframe=n == 8)]
        assert keys[0] and keys[8] and not any(keys[1:8]), (codec, keys)


class _Sender:
    """What aiortc's RTCRtpSender leaves after sending a frame: its last RTP timestamp."""

    def __init__(self) -> None:
        self._RTCRtpSender__rtp_timestamp = 0


async def test_the_viewers_rtp_origin_is_learned_exactly_from_what_its_sender_sent() -> None:
    origin = 4_000_000_000  # aiortc picks it at random; RTP timestamps are origin + pts (mod 2^32)
    sender = _Sender()
    track = PacketTrack("video", codec="h264")
    track.sender = sender
    for n in (3000, 6000, 9000):
        track.offer(packet(n), keyframe=True)
    for expected in (None, origin, origin):
        got = await asyncio.wait_for(track.recv(), 1)
        assert track.rtp_origin == expected
        sender._RTCRtpSender__rtp_timestamp = (origin + int(got.pts)) % 2**32  # sent, then asks again
    assert track.rtp_origin == origin
