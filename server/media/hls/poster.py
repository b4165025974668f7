"""The broadcast's poster and thumbnail: a JPEG of a frame the node already has decoded, refreshed
now and then while live, so the broadcast list and the replay show a picture before playing."""

from __future__ import annotations

import av

THUMBNAIL_EVERY_S = 30.0
POSTER_MAX_WIDTH = 640


def jpeg(frame: av.VideoFrame, quality: int = 5) -> bytes:
    """Runs in a worker thread: scales to at most 640 px wide and encodes one JPEG (MJPEG intra)."""
    width = min(POSTER_MAX_WIDTH, frame.width) // 2 * 2
    height = max(2, int(frame.height * width / frame.width) // 2 * 2)
    picture = frame.reformat(width=width, height=height, format="yuvj420p")
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = frame.time_base or av.time_base  # type: ignore[assignment]
    encoder.qmin = encoder.qmax = quality
    picture.pts = 0
    return b"".join(bytes(p) for p in [*encoder.encode(picture), *encoder.encode(None)])
