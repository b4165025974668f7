"""`liveshop bench report`: what the sale report's measure costs on the hot paths, in Redis CPU.

A private redis-server on a free loopback port; each operation the report adds runs N times, one at a
time (`--n`, default 5,000, at most 50,000; at most 60 s a phase): a viewer's join, leave and chat
message (live/audience.lua), a claim's count (one pipeline), and for comparison a PING and the
smallest EVALSHA. Printed per operation: the wall time per call (loopback round trip included) and
redis-server's CPU time per call (from /proc: other work on a shared machine barely moves it). Then one
read of the whole report's audience figures with 10,000 unique viewers over 7 sources.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402

from server.api.attribution import resolve  # noqa: E402
from server.clock import SYSTEM_CLOCK  # noqa: E402
from server.commerce.measure import SaleMeasure  # noqa: E402
from server.live.audience import Audience  # noqa: E402
from tests.services import RedisServer  # noqa: E402

PHASE_S = 60.0
SOURCES = ("tiktok", "instagram", "youtube", "shopify", "facebook", "direct", "other")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def phase(name: str, n: int, pid: int, step: Callable[[int], Awaitable[Any]]) -> dict[str, Any]:
    cpu, start = cpu_seconds(pid), time.perf_counter()
    done = 0
    while done < n and time.perf_counter() - start < PHASE_S:
        await step(done)
        done += 1
    wall = time.perf_counter() - start
    used = cpu_seconds(pid) - cpu
    return {
        "op": name,
        "calls": done,
        "wall_us": round(wall / done * 1e6, 1),
        "redis_cpu_us": round(used / done * 1e6, 1),
    }


async def run(n: int, pid: int, url: str) -> dict[str, Any]:
    redis = Redis.from_url(url)
    audience = Audience(redis, SYSTEM_CLOCK, sample_s=10)
    sale = SaleMeasure(redis, SYSTEM_CLOCK)
    b = "bc_bench" + uuid.uuid4().hex[:8]
    tiny = redis.register_script("return 1")
    came = [resolve({"utm_source": s}) for s in SOURCES]
    rows = [
        await phase("PING (baseline)", n, pid, lambda i: redis.ping()),
        await phase("EVALSHA return 1 (baseline)", n, pid, lambda i: tiny(keys=[b], args=[])),
        await phase("viewer joins", n, pid, lambda i: audience.joined(b, f"u:{i}", came[i % len(came)])),
        await phase("viewer chats", n, pid, lambda i: audience.chatted(b, f"u:{i}")),
        await phase("viewer leaves", n, pid, lambda i: audience.left(b)),
        await phase("claim counted", n, pid, lambda i: sale.reserved(b, f"us_{i}")),
    ]
    b2 = "bc_bench" + uuid.uuid4().hex[:8]
    for i in range(10_000):
        await audience.joined(b2, f"u:{i}", came[i % len(came)])
    start = time.perf_counter()
    figures = await audience.figures(b2)
    read_ms = (time.perf_counter() - start) * 1000
    await redis.aclose()
    return {
        "per_call": rows,
        "audience_read": {
            "unique_viewers": figures["unique_viewers"],
            "sources": len(figures["viewers_by_source"]),
            "ms": round(read_ms, 2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liveshop bench report", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="calls per operation (at most 50,000)")
    args = parser.parse_args(argv or [])
    n = max(1, min(args.n, 50_000))
    server = RedisServer()
    server.start()
    try:
        assert server.proc is not None
        result = asyncio.run(run(n, server.proc.pid, server.url))
    finally:
        server.stop()
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
