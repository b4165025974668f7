"""CMAF packaging and LL-HLS playlists, from real encoder packets to bytes that ffprobe decodes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import pytest

from server.media.encoders import VIDEO_TIME_BASE, AudioEncoder, VideoEncoder
from server.media.hls.cmaf import CmafMuxer, Fragment
from server.media.hls.playlist import part_name
from server.media.hls.recorder import Recorder
from server.media.hls.stream import HlsStream


def _frame(i: int, width: int = 320, height: int = 240) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane in frame.planes:
        plane.update(bytes([(i * 7) % 255]) * plane.buffer_size)
    frame.pts = 90_000 + i * 3000
    frame.time_base = VIDEO_TIME_BASE
    return frame


def _silence() -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="stereo", samples=1600)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = 48_000
    return frame


def _encode(seconds: float, keyframe_every: int = 60) -> tuple[list[av.Packet], list[av.Packet]]:
    video, audio = VideoEncoder("h264", 600_000, 2.0), AudioEncoder(64_000)
    vp: list[av.Packet] = []
    ap: list[av.Packet] = []
    for i in range(int(seconds * 30)):
        vp += video.encode(_frame(i), i % keyframe_every == 0)
        audio.skip_to(48_000 + i * 1600)  # the same clock as the video (pts 90,000 = 1 s)
        ap += audio.encode(_silence())
    return vp, ap


def ffprobe(path: Path | str) -> dict[str, int]:
    """Frames ffprobe decodes per codec (the independent check that the bytes are real video)."""
    binary = shutil.which("ffprobe")
    if binary is None:
        pytest.fail("ffprobe is missing: scripts/install-test-deps.sh installs Debian's ffmpeg for the tests")
    out = subprocess.run(
        [
            binary,
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return {s["codec_name"]: int(s.get("nb_read_frames", 0)) for s in json.loads(out.stdout)["streams"]}


def test_muxer_cuts_parts_at_keyframes_and_part_length_and_ffprobe_decodes_every_frame(
    tmp_path: Path,
) -> None:
    video, audio = _encode(3.0, keyframe_every=30)
    muxer = CmafMuxer(320, 240, with_audio=True, part_s=0.5)
    fragments: list[Fragment] = []
    for i, packet in enumerate(video):
        fragments += muxer.mux_video(packet)
        for a in audio[i * 5 // 3 : (i + 1) * 5 // 3]:
            fragments += muxer.mux_audio(a)
    live = len(fragments)
    fragments += muxer.close()
    assert live >= 4, "parts come out while the stream runs, not only at the end"
    assert [round(f.duration_s, 2) for f in fragments] == [0.5] * 6
    assert [f.independent for f in fragments] == [True, False] * 3  # a keyframe every second
    assert [round(f.start_s, 2) for f in fragments] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    path = tmp_path / "whole.mp4"
    path.write_bytes(muxer.init + b"".join(f.data for f in fragments))
    frames = ffprobe(path)
    assert frames["h264"] == 90
    assert frames["opus"] >= 140  # 20 ms Opus packets over the 3 s


def test_stream_groups_parts_into_segments_lists_them_and_records_a_playable_replay(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    stream = HlsStream("bc_test", part_s=0.5, segment_s=2.0, window=4, recorder=recorder)
    requested: list[int] = []
    stream.request_keyframe = lambda: requested.append(1)
    video, _ = _encode(6.0, keyframe_every=60)
    for packet in video[:120]:
        stream.on_video(packet, (320, 240), with_audio=False)
    playlist = stream.playlist()
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES" in playlist
    assert "#EXT-X-PART-INF:PART-TARGET=0.50000" in playlist
    assert '#EXT-X-MAP:URI="init0.mp4"' in playlist
    assert "#EXTINF:2.00000,\ns0.m4s" in playlist
    assert '#EXT-X-PART:DURATION=0.50000,URI="p1.0.m4s",INDEPENDENT=YES' in playlist
    assert playlist.rstrip().splitlines()[-1].startswith("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=")
    assert stream.has(1, 2) and not stream.has(2, 0)
    assert stream.part_bytes(1, 0) is not None and stream.segment_bytes(0) is not None
    offer = stream.mark("offer", "of_1")
    assert 3.5 <= offer.at_s <= 4.5
    assert 'X-LIVESHOP-ID="of_1"' in stream.playlist()
    # the publisher drops and comes back at another size: a new init segment after a discontinuity
    stream.flush()
    for packet in VideoEncoder("h264", 600_000, 2.0).encode(_frame(0, 160, 120), True):
        stream.on_video(packet, (160, 120), with_audio=False)
    stream.end()
    recorder.drain()
    replay = (tmp_path / "bc_test" / "replay.m3u8").read_text()
    assert replay.rstrip().endswith("#EXT-X-ENDLIST")
    assert "#EXT-X-DISCONTINUITY" in replay and '#EXT-X-MAP:URI="init1.mp4"' in replay
    assert recorder.replay("bc_test")["timeline"] == [{"at_s": offer.at_s, "type": "offer", "id": "of_1"}]
    frames = ffprobe(tmp_path / "bc_test" / "replay.m3u8")
    assert frames["h264"] >= 120


def test_a_part_name_that_is_not_out_yet_is_the_preload_hint() -> None:
    stream = HlsStream("bc_x", part_s=0.5, segment_s=2.0, window=3, recorder=Recorder(Path("/nonexistent")))
    assert "#EXT-X-MEDIA-SEQUENCE:0" in stream.playlist()
    assert not stream.has(0, 0)
    assert part_name(0, 0) == "p0.0.m4s"
