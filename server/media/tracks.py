"""A viewer's outgoing track: shared encoded packets through a small bounded queue.

The fan-out offers each packet to every viewer without waiting; a viewer whose sender falls behind
loses its backlog and resumes at the next keyframe, so it neither slows the others nor grows memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class PacketTrack(MediaStreamTrack):
    """`recv()` returns `av.Packet`s, which RTCRtpSender packetizes without encoding."""

    def __init__(
        self,
        kind: str,
        *,
        codec: str = "opus",
        max_queue: int = 30,
        on_keyframe_needed: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.codec = codec
        self.max_queue = max_queue
        self._queue: deque[av.Packet] = deque()
        self._ready = asyncio.Event()
        self._needs_keyframe = kind == "video"
        self._on_keyframe_needed = on_keyframe_needed
        self.delivered = 0
        self.skips = 0  # times the backlog was dropped
        # The viewer's RTP timestamps are aiortc's random origin plus our packets' pts: the sender
        # sends all of one packet before it asks for the next, so at each recv() its last RTP
        # timestamp belongs to the packet handed out before. That gives the origin exactly, and the
        # browser maps each frame it plays (requestVideoFrameCallback's rtpTimestamp) back to pts.
        self.sender: object | None = None
        self.rtp_origin: int | None = None
        self._last_pts: int | None = None

    @property
    def waiting_for_keyframe(self) -> bool:
        return self._needs_keyframe

    def offer(self, packet: av.Packet, keyframe: bool) -> None:
        """Never blocks: queue, or drop the backlog and wait for the next keyframe."""
        if self.readyState != "live":
            return
        if self._needs_keyframe:
            if not keyframe:
                return
            self._needs_keyframe = False
        elif len(self._queue) >= self.max_queue:
            self._queue.clear()
            self.skips += 1
            if self.kind == "video" and not keyframe:
                self._needs_keyframe = True
                if self._on_keyframe_needed is not None:
                    self._on_keyframe_needed()
                return
        self._queue.append(packet)
        self._ready.set()

    def resync(self) -> None:
        """The source changed (host reconnected): start again at the next keyframe."""
        if self.kind == "video":
            self._queue.clear()
            self._needs_keyframe = True

    async def recv(self) -> av.Packet:  # type: ignore[override]
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        self.delivered += 1
        packet = self._queue.popleft()
        if self.sender is not None:
            sent = getattr(self.sender, "_RTCRtpSender__rtp_timestamp", 0)
            if sent and self._last_pts is not None:
                self.rtp_origin = (sent - self._last_pts) % 2**32
            self._last_pts = int(packet.pts or 0)
        return packet

    def stop(self) -> None:
        super().stop()
        self._queue.clear()
        self._ready.set()
