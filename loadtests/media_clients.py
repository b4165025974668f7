"""aiortc WHIP publisher and WHEP viewer clients, shared by the media tests and the benchmark.

Both use an explicit empty ICE server list (aiortc would otherwise ask Google's STUN server) and rely
on `server.media.ice.restrict_host_addresses` having pinned host candidates to loopback.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack, VideoStreamTrack
from multidict import CIMultiDict

VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)


class PatternTrack(VideoStreamTrack):
    """A moving test pattern of a given size at ~30 fps (no numpy: planes are filled from bytes)."""

    def __init__(self, width: int = 640, height: int = 360) -> None:
        super().__init__()
        self.width, self.height = width, height
        self._pattern = bytes((i * 7 // 3) % 256 for i in range(width * height + 8192))
        self.count = 0

    def _plane(self, frame: av.VideoFrame, index: int, data: bytes, width: int, height: int) -> None:
        plane = frame.planes[index]
        if plane.line_size != width:
            pad = b"\x00" * (plane.line_size - width)
            data = b"".join(data[r * width : (r + 1) * width] + pad for r in range(height))
        plane.update(data)

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self.count += 1
        w, h = self.width, self.height
        frame = av.VideoFrame(w, h, "yuv420p")
        offset = (self.count * 24) % 8192
        self._plane(frame, 0, self._pattern[offset : offset + w * h], w, h)
        chroma = bytes([128 + (self.count % 64)]) * (w // 2 * (h // 2))
        self._plane(frame, 1, chroma, w // 2, h // 2)
        self._plane(frame, 2, chroma, w // 2, h // 2)
        frame.pts, frame.time_base = pts, time_base
        return frame


class ToneTrack(AudioStreamTrack):
    """A 440 Hz tone in aiortc's 20 ms mono frames (8 kHz)."""

    def __init__(self) -> None:
        super().__init__()
        period = 8_000 // 440
        self._wave = array("h", (int(8000 * math.sin(2 * math.pi * i / period)) for i in range(period)))
        self._t = 0

    async def recv(self) -> av.AudioFrame:
        silence = await super().recv()  # paces at real time and gives pts
        samples = silence.samples
        wave, period = self._wave, len(self._wave)
        chunk = array("h", (wave[(self._t + i) % period] for i in range(samples)))
        self._t += samples
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(chunk.tobytes())
        frame.sample_rate = silence.sample_rate
        frame.pts, frame.time_base = silence.pts, silence.time_base
        return frame


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


@dataclass
class WhipResult:
    status: int
    headers: CIMultiDict[str]
    body: str
    location: str | None


async def post_sdp(
    http: aiohttp.ClientSession,
    url: str,
    sdp: str,
    token: str | None = None,
    content_type: str = "application/sdp",
) -> WhipResult:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with http.post(url, data=sdp.encode(), headers=headers) as resp:
        body = await resp.text()
        return WhipResult(resp.status, resp.headers.copy(), body, resp.headers.get("Location"))


class Publisher:
    """An aiortc WHIP encoder: a generated video track and a tone."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base: str,
        broadcast_id: str,
        stream_key: str,
        width: int = 640,
        height: int = 360,
        audio: bool = True,
    ) -> None:
        self.http, self.base, self.broadcast_id, self.key = http, base, broadcast_id, stream_key
        self.pc = new_pc()
        self.video = PatternTrack(width, height)
        self.pc.addTransceiver(self.video, direction="sendonly")
        if audio:
            self.pc.addTransceiver(ToneTrack(), direction="sendonly")
        self.location: str | None = None

    async def start(self) -> WhipResult:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        result = await post_sdp(
            self.http, f"{self.base}/whip/{self.broadcast_id}", self.pc.localDescription.sdp, self.key
        )
        if result.status == 201:
            self.location = result.location
            await self.pc.setRemoteDescription(RTCSessionDescription(result.body, "answer"))
        return result

    async def stop(self, delete: bool = True) -> None:
        if delete and self.location:
            async with self.http.delete(self.base + self.location) as resp:
                await resp.read()
        await self.pc.close()


@dataclass
class Viewer:
    """An aiortc WHEP player that decodes what it gets and records sizes and timing."""

    http: aiohttp.ClientSession
    base: str
    broadcast_id: str
    codec: str | None = None  # "H264" or "VP8" to prefer one, None for aiortc's default order
    audio: bool = True
    pc: RTCPeerConnection = field(default_factory=new_pc)
    location: str | None = None
    frames: int = 0
    audio_frames: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    started: float = 0.0
    first_frame_at: float | None = None
    last_frame_at: float | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    on_frame: Callable[[av.VideoFrame], None] | None = None  # sees every decoded video frame

    async def start(self, token: str | None = None) -> WhipResult:
        video = self.pc.addTransceiver("video", direction="recvonly")
        if self.codec:
            caps = RTCRtpSender.getCapabilities("video").codecs
            video.setCodecPreferences([c for c in caps if c.mimeType in (f"video/{self.codec}", "video/rtx")])
        if self.audio:
            self.pc.addTransceiver("audio", direction="recvonly")

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tasks.append(asyncio.ensure_future(self._consume(track)))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.started = time.monotonic()
        result = await post_sdp(
            self.http, f"{self.base}/whep/{self.broadcast_id}", self.pc.localDescription.sdp, token
        )
        if result.status == 201:
            self.location = result.location
            await self.pc.setRemoteDescription(RTCSessionDescription(result.body, "answer"))
        return result

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    now = time.monotonic()
                    self.frames += 1
                    self.sizes.add((frame.width, frame.height))
                    self.first_frame_at = self.first_frame_at or now
                    self.last_frame_at = now
                    if self.on_frame is not None:
                        self.on_frame(frame)
                else:
                    self.audio_frames += 1
        except MediaStreamError:
            pass

    async def wait_frames(self, count: int, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        target = self.frames + count
        while self.frames < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"got {self.frames} video frames, wanted {target}")
            await asyncio.sleep(0.05)

    async def stop(self, delete: bool = True) -> None:
        if delete and self.location:
            async with self.http.delete(self.base + self.location) as resp:
                await resp.read()
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
