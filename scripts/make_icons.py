"""Draws the installable web app's icons (web/app/icons/*.png) with the standard library only.

The brand mark is the console's pink dot with a white "play" triangle on the dark background. The
"any" icons have rounded corners; the maskable ones fill the square and keep the mark inside the
central 80 % circle that every launcher mask leaves visible. Edges are anti-aliased from signed
distances, so one sample per pixel is enough.

    python3 scripts/make_icons.py            # rewrites web/app/icons/
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "web" / "app" / "icons"
BACKGROUND = (13, 15, 20)
ACCENT = (255, 61, 110)
WHITE = (255, 255, 255)


def png(width: int, height: int, rgba: bytes) -> bytes:
    """An 8-bit RGBA PNG of `rgba` (rows top to bottom, no filtering)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def coverage(distance: float) -> float:
    """How much of a pixel a shape covers, from the signed distance of its centre to the edge."""
    return min(1.0, max(0.0, 0.5 - distance))


def rounded_square(x: float, y: float, half: float, radius: float) -> float:
    qx, qy = abs(x) - half + radius, abs(y) - half + radius
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - radius


def triangle(x: float, y: float, corners: list[tuple[float, float]]) -> float:
    """Signed distance (negative inside) to a convex triangle, corners in the order drawn below."""
    worst = -math.inf
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        ex, ey = bx - ax, by - ay
        length = math.hypot(ex, ey)
        worst = max(worst, ((y - ay) * ex - (x - ax) * ey) / length)
    return worst


def blend(under: tuple[float, ...], colour: tuple[int, int, int], alpha: float) -> tuple[float, ...]:
    """`colour` at `alpha` over a premultiplied-free RGBA pixel."""
    r, g, b, a = under
    out_a = alpha + a * (1 - alpha)
    if out_a == 0:
        return (0.0, 0.0, 0.0, 0.0)
    mix = [(c * alpha + u * a * (1 - alpha)) / out_a for c, u in zip(colour, (r, g, b), strict=True)]
    return (*mix, out_a)


def draw(size: int, maskable: bool) -> bytes:
    half = size / 2
    dot = size * (0.27 if maskable else 0.32)
    # the play triangle, its centroid a little right of the dot's centre so it looks centred
    t = dot * 0.5
    corners = [(-0.8 * t, -t), (-0.8 * t, t), (1.1 * t, 0.0)]
    pixels = bytearray()
    for py in range(size):
        y = py + 0.5 - half
        for px in range(size):
            x = px + 0.5 - half
            back = 1.0 if maskable else coverage(rounded_square(x, y, half, size * 0.22))
            pixel: tuple[float, ...] = (*BACKGROUND, back)
            pixel = blend(pixel, ACCENT, coverage(math.hypot(x, y) - dot) * back)
            pixel = blend(pixel, WHITE, coverage(triangle(x, y, corners)) * back)
            pixels += bytes(round(c) for c in pixel[:3]) + bytes([round(pixel[3] * 255)])
    return png(size, size, bytes(pixels))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(draw(size, maskable=False))
        (OUT / f"icon-maskable-{size}.png").write_bytes(draw(size, maskable=True))
    print(f"icons written to {OUT}")


if __name__ == "__main__":
    main()
