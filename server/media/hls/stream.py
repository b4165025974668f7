"""One broadcast's live HLS: the shared H.264 and Opus packets become CMAF parts and segments, the
live window stays in memory for the origin, every segment is recorded for the replay, and blocked
playlist requests wake as soon as the part they wait for exists."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import av

from server.media.hls.cmaf import CmafMuxer, Fragment
from server.media.hls.playlist import DateRange, Part, Segment, live_playlist, vod_playlist
from server.media.hls.poster import THUMBNAIL_EVERY_S
from server.media.hls.recorder import Recorder

log = logging.getLogger("liveshop.media")


class HlsStream:
    """Owned by the origin for the whole broadcast: publishers may come and go (a new init segment and
    a discontinuity each time); it ends, with #EXT-X-ENDLIST, when the broadcast ends."""

    def __init__(
        self,
        broadcast_id: str,
        *,
        part_s: float,
        segment_s: float,
        window: int,
        recorder: Recorder,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.broadcast_id = broadcast_id
        self.part_s = part_s
        self.segment_s = segment_s
        self.target_s = max(1, round(segment_s * 1.5))
        self.recorder = recorder
        self.wall = wall
        self.window: deque[Segment] = deque(maxlen=window)
        self.recorded: list[Segment] = []  # every complete segment (their bytes live in the recorder)
        self.inits: dict[int, bytes] = {}
        self.ranges: list[DateRange] = []
        # (seconds into the recording, wall clock then) at each publisher's start: maps wall time
        # (chat messages) to the recording's time across the gaps when the host was away
        self.periods: list[tuple[float, float]] = []
        self.ended = False
        self.poster: bytes | None = None
        self.request_keyframe: Callable[[], None] = lambda: None
        self._muxer: CmafMuxer | None = None
        self._muxer_wall0 = 0.0
        self._muxer_start_s = 0.0
        self._map_id = -1
        self._next_msn = 0
        self._discontinuity = False
        self._changed = asyncio.Event()
        self._poster_at = -1e9
        self.newest_pts = 0  # the newest video packet's fanout timestamp (90 kHz), as RTP carries it

    def wants_poster(self) -> bool:
        """A poster at the start, then a fresh thumbnail every THUMBNAIL_EVERY_S while live."""
        return not self.ended and time.monotonic() - self._poster_at >= THUMBNAIL_EVERY_S

    def set_poster(self, image: bytes) -> None:
        self._poster_at = time.monotonic()
        self.poster = image
        self.recorder.write_poster(self.broadcast_id, image)

    # packets in ----------------------------------------------------------------------------------

    def on_video(self, packet: av.Packet, size: tuple[int, int], with_audio: bool) -> None:
        if self.ended:
            return
        self.newest_pts = int(packet.pts or 0)
        muxer = self._muxer
        if muxer is not None and (muxer.size != size or (muxer.audio is not None) != with_audio):
            if not packet.is_keyframe:
                return  # the old muxer cannot take the new picture; the next keyframe starts anew
            self.flush()
            muxer = None
        if muxer is None:
            if not packet.is_keyframe:
                self.request_keyframe()
                return
            muxer = self._start_muxer(size, with_audio)
        self._add(muxer.mux_video(packet))

    def on_audio(self, packet: av.Packet) -> None:
        if self._muxer is not None and not self.ended:
            self._add(self._muxer.mux_audio(packet))

    def flush(self) -> None:
        """The publisher went away: write out what the muxer holds and close the open segment."""
        if self._muxer is None:
            return
        muxer, self._muxer = self._muxer, None
        self._add(muxer.close(), muxer)
        self._complete_open_segment()
        self._discontinuity = True
        self._notify()

    def end(self) -> None:
        """The broadcast ended: the live playlist gets #EXT-X-ENDLIST and the replay is written."""
        if self.ended:
            return
        self.flush()
        self.ended = True
        self.recorder.write_playlist(self.broadcast_id, self.replay_playlist())
        self.recorder.write_timeline(self.broadcast_id, self.timeline(), self.duration_s, self.periods)
        self._notify()

    def _start_muxer(self, size: tuple[int, int], with_audio: bool) -> CmafMuxer:
        muxer = CmafMuxer(size[0], size[1], with_audio=with_audio, part_s=self.part_s)
        self._map_id += 1
        self._muxer = muxer
        self._muxer_wall0 = self.wall()
        self._muxer_start_s = self.duration_s
        self.periods.append((round(self._muxer_start_s, 3), self._muxer_wall0))
        return muxer

    def _add(self, fragments: list[Fragment], muxer: CmafMuxer | None = None) -> None:
        muxer = muxer or self._muxer
        if muxer is not None and muxer.init and self._map_id not in self.inits:
            self.inits[self._map_id] = muxer.init
            self.recorder.write_init(self.broadcast_id, self._map_id, muxer.init)
        for fragment in fragments:
            self._add_part(fragment)
        if fragments:
            self._notify()

    def _add_part(self, fragment: Fragment) -> None:
        open_segment = self.window[-1] if self.window and not self.window[-1].complete else None
        if open_segment is None or (fragment.independent and open_segment.duration_s >= self.segment_s * 0.9):
            self._complete_open_segment()
            open_segment = Segment(
                msn=self._next_msn,
                map_id=self._map_id,
                start_s=self._muxer_start_s + fragment.start_s,
                wall=datetime.fromtimestamp(self._muxer_wall0, UTC) + timedelta(seconds=fragment.start_s),
                discontinuity=self._discontinuity and self._next_msn > 0,
            )
            self._discontinuity = False
            self._next_msn += 1
            self.window.append(open_segment)
        open_segment.parts.append(
            Part(len(open_segment.parts), fragment.duration_s, fragment.independent, fragment.data)
        )
        if open_segment.duration_s + self.part_s >= self.segment_s:
            self.request_keyframe()  # so the next part can open the next segment on time

    def _complete_open_segment(self) -> None:
        if not self.window or self.window[-1].complete or not self.window[-1].parts:
            return
        segment = self.window[-1]
        segment.complete = True
        self.recorded.append(segment)
        self.recorder.write_segment(self.broadcast_id, segment.msn, segment.data())
        self.recorder.write_playlist(self.broadcast_id, vod_playlist(self.recorded, self.ranges), final=False)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # reads ---------------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """A publisher is sending (its packets are being packaged)."""
        return self._muxer is not None and not self.ended

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.recorded) + sum(
            s.duration_s for s in self.window if not s.complete
        )

    def position_s(self) -> float:
        """Where the video is now, in seconds from the start of the recording: the newest frame the
        node has packaged (its own media timeline, not the wall clock, which parts from it whenever
        encoding falls behind or a publisher's last frames are lost)."""
        muxer = self._muxer
        if muxer is None:
            return self.duration_s
        return max(self.duration_s, self._muxer_start_s + muxer.newest_s)

    def moment(self) -> tuple[float, datetime]:
        """Now on the media timeline: (seconds into the recording, its program date time, i.e. the
        wall-clock stamp the playlists give that frame). A WebRTC viewer compares the second with the
        capture time its browser derives from RTCP sender reports; an HLS viewer with the playhead."""
        at_s = self.position_s()
        if self._muxer is None:
            return at_s, datetime.fromtimestamp(self.wall(), UTC)
        offset = at_s - self._muxer_start_s
        return at_s, datetime.fromtimestamp(self._muxer_wall0, UTC) + timedelta(seconds=offset)

    def mark(self, kind: str, item_id: str) -> DateRange:
        """A pin, offer or auction happened now: it gets the video's current moment."""
        at_s, wall = self.moment()
        moment = DateRange(
            id=f"{kind}-{item_id}-{len(self.ranges)}",
            kind=kind,
            item_id=item_id,
            at_s=round(at_s, 3),
            wall=wall,
        )
        self.ranges.append(moment)
        return moment

    def timeline(self) -> list[dict[str, object]]:
        return [{"at_s": r.at_s, "type": r.kind, "id": r.item_id} for r in self.ranges]

    def playlist(self) -> str:
        return live_playlist(
            list(self.window),
            self.ranges,
            target_s=self.target_s,
            part_target_s=self.part_s,
            parts_for_last=3,
            ended=self.ended,
        )

    def replay_playlist(self) -> str:
        return vod_playlist(self.recorded, self.ranges)

    def has(self, msn: int, part: int | None) -> bool:
        """Is segment `msn` (or its part `part`) out yet? (what a blocking reload waits for)"""
        if self.ended:
            return True
        for segment in reversed(self.window):
            if segment.msn == msn:
                return segment.complete or (part is not None and len(segment.parts) > part)
            if segment.msn < msn:
                return False
        return bool(self.window) and msn < self.window[0].msn

    @property
    def next_msn(self) -> int:
        return self._next_msn

    async def wait_for(self, msn: int, part: int | None, timeout: float) -> bool:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not self.has(msn, part):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return False
        return True

    def part_bytes(self, msn: int, index: int) -> bytes | None:
        for segment in self.window:
            if segment.msn == msn and index < len(segment.parts):
                return segment.parts[index].data
        return None

    def segment_bytes(self, msn: int) -> bytes | None:
        for segment in self.window:
            if segment.msn == msn and segment.complete:
                return segment.data()
        return None
