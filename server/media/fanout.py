"""Per-broadcast fan-out: the host's decoded frames are encoded once per codec and the same packets
are offered to every viewer's PacketTrack."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from server.config import MediaSettings
from server.media.encoders import AUDIO_RATE, VIDEO_CLOCK, VIDEO_TIME_BASE, AudioEncoder, VideoEncoder, fit
from server.media.hls.poster import jpeg
from server.media.tracks import PacketTrack
from server.tasks import stop_task

if TYPE_CHECKING:
    from server.media.hls.stream import HlsStream

log = logging.getLogger("liveshop.media")


class Fanout:
    """Owns the encoders of one broadcast and the set of viewer tracks fed from them."""

    def __init__(self, broadcast_id: str, settings: MediaSettings, hls: HlsStream | None = None) -> None:
        self.broadcast_id = broadcast_id
        self.settings = settings
        self.hls = hls  # LL-HLS and the recording take the same H.264 and Opus packets
        if hls is not None:
            hls.request_keyframe = lambda: self.request_keyframe("h264")
        self.video_tracks: set[PacketTrack] = set()
        self.audio_tracks: set[PacketTrack] = set()
        self.encoders: dict[str, VideoEncoder] = {}
        self.audio_encoder: AudioEncoder | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._clock0 = time.monotonic()
        self._key_requested: set[str] = set()
        self._last_key: dict[str, float] = {}
        self.frames_in = 0
        self.frames_encoded = 0
        self.source_size: tuple[int, int] | None = None

    # viewers -------------------------------------------------------------------------------------

    def video_track(self, codec: str) -> PacketTrack:
        track = PacketTrack(
            "video",
            codec=codec,
            max_queue=self.settings.viewer_queue_frames,
            on_keyframe_needed=lambda: self.request_keyframe(codec),
        )
        self.video_tracks.add(track)
        self.request_keyframe(codec)
        return track

    def audio_track(self) -> PacketTrack:
        track = PacketTrack("audio", max_queue=self.settings.viewer_queue_frames * 2)
        self.audio_tracks.add(track)
        return track

    def remove(self, track: MediaStreamTrack) -> None:
        self.video_tracks.discard(track)  # type: ignore[arg-type]
        self.audio_tracks.discard(track)  # type: ignore[arg-type]
        track.stop()

    def request_keyframe(self, codec: str) -> None:
        """Honoured on the next frame, but no more often than keyframe_min_gap_s."""
        self._key_requested.add(codec)

    # source --------------------------------------------------------------------------------------

    @property
    def has_source(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def attach(self, track: MediaStreamTrack) -> None:
        """A host track arrived: pump it (a new host replaces the old one's pumps of that kind)."""
        run: Callable[[MediaStreamTrack], Coroutine[Any, Any, None]] = (
            self._pump_video if track.kind == "video" else self._pump_audio
        )
        if track.kind == "video":
            for viewer in self.video_tracks:
                viewer.resync()
        task = asyncio.create_task(run(track), name=f"media-{track.kind}-{self.broadcast_id}")
        task.kind = track.kind  # type: ignore[attr-defined]
        for old in self._tasks:
            if getattr(old, "kind", None) == track.kind:
                old.cancel()
        self._tasks = [t for t in self._tasks if not t.done() and not t.cancelled()] + [task]

    async def detach(self) -> None:
        tasks, self._tasks = self._tasks, []
        # stop_task, not `suppress(CancelledError): await task`: that would also swallow a cancel
        # meant for the caller (the reaper, stopping at shutdown) and keep it running for ever.
        await asyncio.gather(*(stop_task(task, within=2, what="media pump") for task in tasks))
        if self.hls is not None:
            self.hls.flush()

    async def close(self) -> None:
        await self.detach()
        for track in list(self.video_tracks | self.audio_tracks):
            track.stop()
        self.video_tracks.clear()
        self.audio_tracks.clear()

    def _has_audio(self) -> bool:
        return any(getattr(t, "kind", None) == "audio" and not t.done() for t in self._tasks)

    def _now_pts(self) -> int:
        return int((time.monotonic() - self._clock0) * VIDEO_CLOCK)

    @staticmethod
    def _latest(track: MediaStreamTrack, frame: av.VideoFrame) -> av.VideoFrame:
        """aiortc queues decoded frames without bound: if we fell behind, skip to the newest."""
        queue = getattr(track, "_queue", None)
        if isinstance(queue, asyncio.Queue):
            while queue.qsize() > 0:
                newer = queue.get_nowait()
                if newer is None:  # end of stream marker: put it back for recv()
                    queue.put_nowait(None)
                    break
                frame = newer
        return frame

    def _prepare(self, frame: av.VideoFrame) -> av.VideoFrame:
        width, height = fit(
            frame.width, frame.height, self.settings.video_max_width, self.settings.video_max_height
        )
        if (width, height) != (frame.width, frame.height) or frame.format.name != "yuv420p":
            frame = frame.reformat(width=width, height=height, format="yuv420p")
        return frame

    async def _pump_video(self, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = self._latest(track, cast(av.VideoFrame, await track.recv()))
                self.frames_in += 1
                self.source_size = (frame.width, frame.height)
                codecs = {t.codec for t in self.video_tracks}
                if self.hls is not None:
                    codecs.add("h264")
                if not codecs:
                    continue
                frame = await loop.run_in_executor(None, self._prepare, frame)
                frame.pts = self._now_pts()
                frame.time_base = VIDEO_TIME_BASE
                if self.hls is not None and self.hls.wants_poster():
                    self.hls.set_poster(await loop.run_in_executor(None, jpeg, frame))
                for codec in sorted(codecs):
                    await self._encode_and_offer(loop, codec, frame)
        except MediaStreamError:
            log.info("host video ended broadcast=%s", self.broadcast_id)

    async def _encode_and_offer(
        self, loop: asyncio.AbstractEventLoop, codec: str, frame: av.VideoFrame
    ) -> None:
        encoder = self.encoders.get(codec)
        if encoder is None:
            encoder = self.encoders[codec] = VideoEncoder(
                codec, self.settings.video_bitrate, self.settings.keyframe_interval_s
            )
        now = time.monotonic()
        force = codec in self._key_requested and (
            now - self._last_key.get(codec, 0.0) >= self.settings.keyframe_min_gap_s
        )
        packets = await loop.run_in_executor(None, encoder.encode, frame, force)
        self.frames_encoded += 1
        for packet in packets:
            keyframe = bool(packet.is_keyframe)
            if keyframe:
                self._last_key[codec] = now
                self._key_requested.discard(codec)
            for viewer in [t for t in self.video_tracks if t.codec == codec]:
                viewer.offer(packet, keyframe)
            if self.hls is not None and codec == "h264":
                self.hls.on_video(packet, (frame.width, frame.height), self._has_audio())

    async def _pump_audio(self, track: MediaStreamTrack) -> None:
        if self.audio_encoder is None:
            self.audio_encoder = AudioEncoder(self.settings.audio_bitrate)
        encoder = self.audio_encoder
        encoder.skip_to(int((time.monotonic() - self._clock0) * AUDIO_RATE))
        try:
            while True:
                frame = await track.recv()
                if not self.audio_tracks and self.hls is None:
                    continue
                for packet in encoder.encode(cast(av.AudioFrame, frame)):
                    for viewer in list(self.audio_tracks):
                        viewer.offer(packet, True)
                    if self.hls is not None:
                        self.hls.on_audio(packet)
        except MediaStreamError:
            log.info("host audio ended broadcast=%s", self.broadcast_id)
