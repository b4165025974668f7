"""CMAF packaging of already-encoded packets: PyAV's mp4 muxer writes fragmented MP4 to a sink that
cuts the byte stream into its top-level boxes, so each fragment (moof+mdat) becomes one LL-HLS part.

Nothing is encoded here: the H.264 and Opus packets are the ones the WebRTC viewers get.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from fractions import Fraction

import av

from server.media.encoders import AUDIO_RATE, VIDEO_CLOCK

# trun flags (ISO/IEC 14496-12 8.8.8)
_TRUN_DATA_OFFSET = 0x1
_TRUN_FIRST_FLAGS = 0x4
_TRUN_DURATION = 0x100
_TRUN_SIZE = 0x200
_TRUN_FLAGS = 0x400
_TRUN_CTO = 0x800
# tfhd flags (8.8.7)
_TFHD_BASE_OFFSET = 0x1
_TFHD_DESCRIPTION = 0x2
_TFHD_DURATION = 0x8
_TFHD_SIZE = 0x10
_TFHD_FLAGS = 0x20
_NON_SYNC = 0x10000  # sample_is_non_sync_sample


@dataclass(frozen=True, slots=True)
class Fragment:
    """One moof+mdat: its video start and duration in seconds, and whether it starts on a keyframe."""

    data: bytes
    start_s: float
    duration_s: float
    independent: bool


def boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each box laid end to end in `data` (64-bit sizes included)."""
    found: list[tuple[bytes, int, int]] = []
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, at + 8)[0]
            header = 16
        if size < header or at + size > len(data):
            break
        found.append((kind, at, at + size))
        at += size
    return found


def _children(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    return [(k, start + s, start + e) for k, s, e in boxes(data[start:end])]


def video_timing(moof: bytes, track_id: int, timescale: int) -> tuple[float, float, bool] | None:
    """(start, duration, starts with a keyframe) of one track's samples in a moof box."""
    for kind, start, end in _children(moof, 8, len(moof)):
        if kind != b"traf":
            continue
        traf = {k: (s, e) for k, s, e in _children(moof, start + 8, end)}
        if b"tfhd" not in traf or b"trun" not in traf:
            continue
        s, _ = traf[b"tfhd"]
        flags = struct.unpack_from(">I", moof, s + 8)[0] & 0xFFFFFF
        if struct.unpack_from(">I", moof, s + 12)[0] != track_id:
            continue
        at = s + 16
        if flags & _TFHD_BASE_OFFSET:
            at += 8
        if flags & _TFHD_DESCRIPTION:
            at += 4
        default_duration = 0
        if flags & _TFHD_DURATION:
            default_duration = struct.unpack_from(">I", moof, at)[0]
            at += 4
        if flags & _TFHD_SIZE:
            at += 4
        default_flags = struct.unpack_from(">I", moof, at)[0] if flags & _TFHD_FLAGS else 0
        base = 0
        if b"tfdt" in traf:
            s, _ = traf[b"tfdt"]
            version = moof[s + 8]
            base = struct.unpack_from(">Q" if version == 1 else ">I", moof, s + 12)[0]
        s, _ = traf[b"trun"]
        tflags = struct.unpack_from(">I", moof, s + 8)[0] & 0xFFFFFF
        count = struct.unpack_from(">I", moof, s + 12)[0]
        at = s + 16
        if tflags & _TRUN_DATA_OFFSET:
            at += 4
        first_flags = None
        if tflags & _TRUN_FIRST_FLAGS:
            first_flags = struct.unpack_from(">I", moof, at)[0]
            at += 4
        total = 0
        sample_flags: list[int] = []
        for _ in range(count):
            duration = default_duration
            if tflags & _TRUN_DURATION:
                duration = struct.unpack_from(">I", moof, at)[0]
                at += 4
            if tflags & _TRUN_SIZE:
                at += 4
            if tflags & _TRUN_FLAGS:
                sample_flags.append(struct.unpack_from(">I", moof, at)[0])
                at += 4
            if tflags & _TRUN_CTO:
                at += 4
            total += duration
        first = (
            first_flags if first_flags is not None else (sample_flags[0] if sample_flags else default_flags)
        )
        return base / timescale, total / timescale, not first & _NON_SYNC
    return None


class _BoxSink(io.RawIOBase):
    """The muxer's output: collects bytes and hands back whole top-level boxes."""

    def __init__(self) -> None:
        self.pending = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.pending += data
        return len(data)

    def take(self) -> list[tuple[bytes, bytes]]:
        taken = boxes(bytes(self.pending))
        if not taken:
            return []
        cut = taken[-1][2]
        chunk = bytes(self.pending[:cut])
        del self.pending[:cut]
        return [(kind, chunk[s:e]) for kind, s, e in taken]


class CmafMuxer:
    """fMP4 for one picture size: `init` once, then a Fragment per part (cut at keyframes and at
    `part_s`). Packet timestamps are rebased so the first keyframe starts at zero."""

    def __init__(self, width: int, height: int, *, with_audio: bool, part_s: float) -> None:
        self.sink = _BoxSink()
        self.container = av.open(
            self.sink,
            "w",
            format="mp4",
            options={
                "movflags": "frag_keyframe+empty_moov+default_base_moof+cmaf",
                "frag_duration": str(int(part_s * 1_000_000)),
                "flush_packets": "1",
                "max_interleave_delta": "200000",
            },
        )
        self.video = self.container.add_stream("h264", rate=30)
        self.video.width = width
        self.video.height = height
        self.video.time_base = Fraction(1, VIDEO_CLOCK)
        self.audio = None
        if with_audio:
            self.audio = self.container.add_stream("opus", rate=AUDIO_RATE)
            self.audio.time_base = Fraction(1, AUDIO_RATE)
        self.size = (width, height)
        self.init = b""
        self._moof = b""
        self._base_video: int | None = None
        self._base_audio = 0
        self._last_dts = {"video": -1, "audio": -1}
        self._timescale = VIDEO_CLOCK
        self._video_track_id = 1
        self.newest_s = 0.0  # the newest video frame's time (s from the first keyframe)

    def mux_video(self, packet: av.Packet) -> list[Fragment]:
        if self._base_video is None:
            if not packet.is_keyframe:
                return []
            self._base_video = int(packet.pts or 0)
            self._base_audio = self._base_video * AUDIO_RATE // VIDEO_CLOCK
        return self._mux(packet, self.video, "video", self._base_video)

    def mux_audio(self, packet: av.Packet) -> list[Fragment]:
        if self.audio is None or self._base_video is None:
            return []
        return self._mux(packet, self.audio, "audio", self._base_audio)

    def _mux(self, packet: av.Packet, stream: av.stream.Stream, kind: str, base: int) -> list[Fragment]:
        pts = int(packet.pts or 0) - base
        if pts <= self._last_dts[kind]:  # never backwards, or the muxer refuses the stream
            return []
        self._last_dts[kind] = pts
        if kind == "video":
            self.newest_s = pts / VIDEO_CLOCK
        copy = av.Packet(bytes(packet))
        copy.pts = copy.dts = pts
        copy.time_base = stream.time_base or Fraction(1, VIDEO_CLOCK if kind == "video" else AUDIO_RATE)
        copy.stream = stream
        if kind == "video" and packet.is_keyframe:
            copy.is_keyframe = True
        self.container.mux(copy)
        return self._collect()

    def _collect(self) -> list[Fragment]:
        fragments: list[Fragment] = []
        for kind, data in self.sink.take():
            if kind in (b"ftyp", b"moov"):
                self.init += data
                if kind == b"moov":
                    self._read_video_track(data)
            elif kind == b"moof":
                self._moof = data
            elif kind == b"mdat" and self._moof:
                timing = video_timing(self._moof, self._video_track_id, self._timescale)
                start, duration, independent = timing or (0.0, 0.0, False)
                fragments.append(Fragment(self._moof + data, start, duration, independent))
                self._moof = b""
        return fragments

    def _read_video_track(self, moov: bytes) -> None:
        """The video track's id and timescale, as the muxer wrote them (mvhd/tkhd/mdhd)."""
        for kind, start, end in _children(moov, 8, len(moov)):
            if kind != b"trak":
                continue
            parts = {k: (s, e) for k, s, e in _children(moov, start + 8, end)}
            s, _ = parts[b"tkhd"]
            version = moov[s + 8]
            track_id = struct.unpack_from(">I", moov, s + (28 if version == 1 else 20))[0]
            ms, me = parts[b"mdia"]
            mdia = {k: (a, b) for k, a, b in _children(moov, ms + 8, me)}
            hs, _ = mdia[b"hdlr"]
            if moov[hs + 16 : hs + 20] != b"vide":
                continue
            ds, _ = mdia[b"mdhd"]
            dversion = moov[ds + 8]
            self._timescale = struct.unpack_from(">I", moov, ds + (28 if dversion == 1 else 20))[0]
            self._video_track_id = track_id

    def close(self) -> list[Fragment]:
        """Flushes the last fragment (the muxer writes it when closed)."""
        try:
            self.container.close()
        except av.error.FFmpegError:
            return []
        return self._collect()
