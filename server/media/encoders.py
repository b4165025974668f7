"""One encoder per codec per broadcast: PyAV contexts producing `av.Packet`s that aiortc packs as-is.

aiortc's own encoders live inside each RTCRtpSender (one per viewer); these produce the packets once
and every viewer's sender only packetizes them (RTCRtpSender calls `Encoder.pack` for an av.Packet).
"""

from __future__ import annotations

import fractions

import av
from av.audio.resampler import AudioResampler
from av.video.frame import PictureType

VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
AUDIO_RATE = 48_000
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_RATE)
FPS = 30

CODECS = ("h264", "vp8")  # the video codecs we encode, by their lower-case SDP name


def fit(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The largest even size within the caps that keeps the aspect ratio."""
    scale = min(1.0, max_width / width, max_height / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


class VideoEncoder:
    """Encodes frames for one codec; recreated when the picture size changes."""

    def __init__(self, codec: str, bitrate: int, keyframe_interval_s: float) -> None:
        if codec not in CODECS:
            raise ValueError(f"unsupported codec {codec}")
        self.codec_name = codec
        self.bitrate = bitrate
        self.gop = max(1, round(keyframe_interval_s * FPS))
        self.context: av.VideoCodecContext | None = None
        self.frames = 0

    def _open(self, width: int, height: int) -> av.VideoCodecContext:
        if self.codec_name == "h264":
            ctx = av.CodecContext.create("libx264", "w")
            ctx.options = {
                "preset": "veryfast",
                "tune": "zerolatency",
                "level": "31",
                "maxrate": str(self.bitrate),
                "bufsize": str(self.bitrate),
                "x264-params": "scenecut=0",
            }
            ctx.profile = "Baseline"
        else:
            ctx = av.CodecContext.create("libvpx", "w")
            ctx.qmin = 2
            ctx.qmax = 56
            ctx.options = {
                "bufsize": str(self.bitrate),
                "cpu-used": "8",
                "deadline": "realtime",
                "lag-in-frames": "0",
                "maxrate": str(self.bitrate),
                "minrate": str(self.bitrate // 4),
                "static-thresh": "1",
                "undershoot-pct": "95",
            }
        ctx.width = width
        ctx.height = height
        ctx.bit_rate = self.bitrate
        ctx.pix_fmt = "yuv420p"
        ctx.framerate = fractions.Fraction(FPS, 1)
        ctx.time_base = VIDEO_TIME_BASE
        ctx.gop_size = self.gop
        ctx.thread_count = 1
        return ctx

    def encode(self, frame: av.VideoFrame, force_keyframe: bool) -> list[av.Packet]:
        """Runs in a worker thread: PyAV releases the GIL while libx264/libvpx work."""
        if self.context is None or (self.context.width, self.context.height) != (frame.width, frame.height):
            self.context = self._open(frame.width, frame.height)
            force_keyframe = True
        frame.pict_type = PictureType.I if force_keyframe else PictureType.NONE
        packets = list(self.context.encode(frame))
        for packet in packets:
            packet.time_base = VIDEO_TIME_BASE
        self.frames += 1
        return packets


class AudioEncoder:
    """Opus at 48 kHz stereo in 20 ms packets, timestamped by a running sample count."""

    def __init__(self, bitrate: int) -> None:
        self.context = av.CodecContext.create("libopus", "w")
        self.context.bit_rate = bitrate
        self.context.format = "s16"
        self.context.layout = "stereo"
        self.context.sample_rate = AUDIO_RATE
        self.context.time_base = AUDIO_TIME_BASE
        self.resampler = AudioResampler(format="s16", layout="stereo", rate=AUDIO_RATE, frame_size=960)
        self.samples = 0

    def skip_to(self, samples: int) -> None:
        """Jump the clock forward (the host came back after a gap) so timestamps never go back."""
        self.samples = max(self.samples, samples)

    def encode(self, frame: av.AudioFrame) -> list[av.Packet]:
        packets: list[av.Packet] = []
        for chunk in self.resampler.resample(frame):
            chunk.pts = self.samples
            chunk.time_base = AUDIO_TIME_BASE
            self.samples += chunk.samples
            packets.extend(self.context.encode(chunk))
        for packet in packets:
            packet.time_base = AUDIO_TIME_BASE
        return packets
