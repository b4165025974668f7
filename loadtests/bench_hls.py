"""`liveshop bench hls`: LL-HLS viewers per core at the origin, directly and behind a local nginx cache
(the CDN stand-in), next to WHEP viewers per core from `bench media`'s fan-out in the same run; and
the latency of each, from a clock burned into the publisher's picture.

A real node (`python -m server serve --demo`, embedded services, its own temp folder) ingests one
aiortc WHIP publisher whose frames carry the wall clock as 32 stripes. Simulated LL-HLS players (an
aiohttp process) do what a player does: a blocking playlist reload for the next part, then the part.
CPU is read from /proc for the node and nginx over each window. Everything stays on 127.0.0.1.

Usage: liveshop bench hls [--viewers 200,400] [--window 8] [--no-nginx] [--no-whep]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

from loadtests.bench_media import _loopback_only, cpu_seconds, free_port, per_core, run_mode
from loadtests.media_clients import PatternTrack, Publisher

STRIPES = 32
STRIPE_W = 8
HINT = re.compile(r'PRELOAD-HINT:TYPE=PART,URI="p(\d+)\.(\d+)\.m4s"')


class ClockTrack(PatternTrack):
    """The test pattern with the sender's wall clock (ms, low 32 bits) burned in as stripes."""

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        now = int(time.time() * 1000) & 0xFFFFFFFF
        plane = frame.planes[0]
        row = b"".join(
            (b"\xeb" if now >> (STRIPES - 1 - i) & 1 else b"\x10") * STRIPE_W for i in range(STRIPES)
        )
        data = bytearray(bytes(plane))
        for y in range(32):
            data[y * plane.line_size : y * plane.line_size + len(row)] = row
        plane.update(bytes(data))
        return frame


def burned_ms(frame: av.VideoFrame) -> int:
    plane = frame.planes[0]
    line = bytes(plane)[16 * plane.line_size : 16 * plane.line_size + STRIPES * STRIPE_W]
    value = 0
    for i in range(STRIPES):
        value = value << 1 | (line[i * STRIPE_W + STRIPE_W // 2] > 128)
    return value


def age_ms(burned: int) -> int:
    return ((int(time.time() * 1000) & 0xFFFFFFFF) - burned) & 0xFFFFFFFF


# the node and its publisher ---------------------------------------------------------------------


def start_node(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESHOP_")}
    env.update(
        LIVESHOP_ICE_HOST_ADDRESSES="127.0.0.1",
        LIVESHOP_ICE_PEER_NETWORKS="127.0.0.0/8",
        LIVESHOP_RECORDINGS_DIR=str(folder / "recordings"),
        LIVESHOP_LOG_LEVEL="WARNING",
        LIVESHOP_EVENT_LOOP="asyncio",
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--demo", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "node.log", "wb"),
    )
    return proc, f"http://127.0.0.1:{port}"


async def go_live(base: str) -> tuple[str, Publisher]:
    import aiohttp

    from server.demo import DEMO_EMAIL, DEMO_PASSWORD

    http = aiohttp.ClientSession()
    deadline = time.monotonic() + 60
    while True:
        try:
            async with http.post(
                f"{base}/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
            ) as r:
                if r.status == 200:
                    token = (await r.json())["token"]
                    break
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the node did not start")
        await asyncio.sleep(0.3)
    auth = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{base}/api/v1/broadcasts", json={"title": "bench"}, headers=auth) as r:
        broadcast = await r.json()
    publisher = Publisher(http, base, broadcast["id"], broadcast["stream_key"])
    publisher.pc.getTransceivers()[0].sender.replaceTrack(ClockTrack())
    result = await publisher.start()
    if result.status != 201:
        raise RuntimeError(f"WHIP answered {result.status}")
    return broadcast["id"], publisher


async def until_segments(url: str, count: int, within: float = 30.0) -> None:
    import aiohttp

    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(f"{url}/index.m3u8") as r:
                if r.status == 200 and (await r.text()).count("#EXTINF") >= count:
                    return
            await asyncio.sleep(0.25)
    raise RuntimeError("the node made no HLS segments (see node.log in the bench folder)")


# simulated LL-HLS players ------------------------------------------------------------------------


async def players(url: str, count: int, seconds: float) -> dict[str, float]:
    """`count` players for `seconds`: blocking reload for the hinted part, then that part."""
    import aiohttp

    done = {"playlists": 0, "parts": 0, "errors": 0}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(f"{url}/index.m3u8") as r:
            start = HINT.search(await r.text())
        if start is None:
            raise RuntimeError("no part hint in the playlist")
        deadline = time.monotonic() + seconds

        async def player() -> None:
            msn, part = int(start.group(1)), int(start.group(2))
            while time.monotonic() < deadline:
                try:
                    async with http.get(f"{url}/index.m3u8?_HLS_msn={msn}&_HLS_part={part}") as r:
                        text = await r.text()
                        done["playlists"] += 1
                    async with http.get(f"{url}/p{msn}.{part}.m4s") as r:
                        await r.read()
                        done["parts"] += r.status == 200
                    hint = HINT.search(text)
                    msn, part = (int(hint.group(1)), int(hint.group(2))) if hint else (msn, part + 1)
                except aiohttp.ClientError:
                    done["errors"] += 1
                    await asyncio.sleep(0.2)

        await asyncio.gather(*(player() for _ in range(count)))
    return {k: float(v) for k, v in done.items()}


async def hls_latency(url: str, parts: int = 12) -> list[int]:
    """Age of the newest frame of each part when the origin hands it out (ms)."""
    import aiohttp

    ages: list[int] = []
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/index.m3u8") as r:
            text = await r.text()
        start = HINT.search(text)
        map_id = re.findall(r"init(\d+)\.mp4", text)[-1]
        async with http.get(f"{url}/init{map_id}.mp4") as r:
            init = await r.read()
        assert start is not None
        msn, part = int(start.group(1)), int(start.group(2))
        decoder: av.CodecContext | None = None
        for _ in range(parts):
            async with http.get(f"{url}/index.m3u8?_HLS_msn={msn}&_HLS_part={part}") as r:
                text = await r.text()
            async with http.get(f"{url}/p{msn}.{part}.m4s") as r:
                data = await r.read()
            newest = None
            with av.open(io.BytesIO(init + data)) as container:
                stream = container.streams.video[0]
                if decoder is None:
                    decoder = av.CodecContext.create("h264", "r")
                    decoder.extradata = stream.codec_context.extradata
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue  # the demuxer's end marker would flush the decoder for good
                    try:
                        for frame in decoder.decode(packet):
                            newest = frame
                    except av.error.InvalidDataError:
                        continue  # until the first keyframe
            if newest is not None:
                ages.append(age_ms(burned_ms(newest)))
            hint = HINT.search(text)
            msn, part = (int(hint.group(1)), int(hint.group(2))) if hint else (msn, part + 1)
    return ages


async def whep_latency(base: str, broadcast_id: str, frames: int = 90) -> list[int]:
    """Age of each frame as a WHEP viewer's decoder hands it out (ms)."""
    import aiohttp

    from loadtests.media_clients import Viewer

    ages: list[int] = []
    async with aiohttp.ClientSession() as http:
        viewer = Viewer(
            http, base, broadcast_id, audio=False, on_frame=lambda f: ages.append(age_ms(burned_ms(f)))
        )
        await viewer.start()
        try:
            await viewer.wait_frames(frames, within=30)
        finally:
            await viewer.stop()
    return ages[frames // 3 :]  # past the first keyframe's catch-up


# nginx, the CDN stand-in -------------------------------------------------------------------------


def start_nginx(folder: Path, origin: str) -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        return None
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""
daemon off; worker_processes 1; user root; pid {folder}/nginx.pid; error_log {folder}/nginx.err warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  open_file_cache max=10000 inactive=30s;
  open_file_cache_valid 1s;
  proxy_cache_path {folder}/cache levels=1:2 keys_zone=hls:16m max_size=256m inactive=60s use_temp_path=off;
  server {{
    listen 127.0.0.1:{port};
    location /hls/ {{
      proxy_pass {origin};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache hls;
      proxy_cache_key $uri$is_args$args;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10s;
      proxy_cache_lock_age 10s;
      proxy_read_timeout 30s;
    }}
  }}
}}
"""
    )
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(folder)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}"


def nginx_cpu(proc: subprocess.Popen[bytes]) -> float:
    """CPU of the master and its workers."""
    total = cpu_seconds(proc.pid)
    for child in Path("/proc").iterdir():
        if child.name.isdigit():
            try:
                stat = (child / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == proc.pid:
                total += cpu_seconds(int(child.name))
    return total


async def idle_cpu(node: subprocess.Popen[bytes], window: float) -> float:
    t0, c0 = time.monotonic(), cpu_seconds(node.pid)
    await asyncio.sleep(window)
    return (cpu_seconds(node.pid) - c0) / (time.monotonic() - t0)


PART_S = 0.5  # the node's default LL-HLS part: a player fetches one part and one playlist per part


NOISE_CPU = 0.02  # above-idle CPU under this (2% of a core) is the machine's noise, not the players'


def marginal(rows: list[dict[str, float]], idle: float, key: str = "node_cpu") -> float | None:
    """Viewers one core serves, from the CPU each served part (with its blocking playlist) costs above
    the node's idle cost: independent of how many parts the load generator managed to ask for. None
    when that cost is lost in the noise (on a shared machine the node's idle can read higher than its
    loaded windows): dividing by ~0 would print millions."""
    best = max(rows, key=lambda r: r["parts_per_s"])
    above = best[key] - (idle if key == "node_cpu" else 0.0)
    if above < NOISE_CPU:
        return None
    return PART_S / (above / max(best["parts_per_s"], 1e-9))


def _viewers(value: float | None) -> str:
    return f"{value:>18,.0f}" if value is not None else f"{'below the noise':>18}"


async def measure(
    label: str, url: str, viewers: int, window: float, procs: list[tuple[str, subprocess.Popen[bytes]]]
) -> dict[str, float]:
    gen = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "loadtests.bench_hls",
        "--players",
        url,
        str(viewers),
        str(window),
        stdout=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(1.0)  # the players start; measure the steady part (the publisher runs on this loop)
    t0 = time.monotonic()
    c0 = {name: (nginx_cpu(p) if name == "nginx" else cpu_seconds(p.pid)) for name, p in procs}
    await asyncio.sleep(max(1.0, window - 2.0))
    elapsed = time.monotonic() - t0
    cpu = {
        name: ((nginx_cpu(p) if name == "nginx" else cpu_seconds(p.pid)) - c0[name]) / elapsed
        for name, p in procs
    }
    out, _ = await asyncio.wait_for(gen.communicate(), window + 60)
    done = json.loads(out.decode().strip().splitlines()[-1])
    row = {"viewers": viewers, **{f"{k}_cpu": v for k, v in cpu.items()}, **done}
    row["parts_per_s"] = done["parts"] / window
    row["wanted_per_s"] = viewers / PART_S
    per_viewer = {k: v / viewers for k, v in cpu.items()}
    print(
        f"  {label:14} viewers={viewers:5d} parts/s={row['parts_per_s']:6.0f} of {row['wanted_per_s']:.0f} "
        f"errors={int(done['errors'])} "
        + " ".join(f"{k}_cpu={v * 100:5.1f}%" for k, v in cpu.items())
        + "  viewers/core: "
        + " ".join(f"{k}={1 / max(v, 1e-9):,.0f}" for k, v in per_viewer.items()),
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liveshop bench hls")
    parser.add_argument("--players", nargs=3, metavar=("URL", "COUNT", "SECONDS"), help=argparse.SUPPRESS)
    parser.add_argument("--viewers", default="200,400")
    parser.add_argument("--window", type=float, default=8.0)
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--no-whep", action="store_true")
    args = parser.parse_args(argv)
    if args.players:
        url, count, seconds = args.players
        print(json.dumps(asyncio.run(players(url, int(count), float(seconds)))))
        return 0

    counts = [int(c) for c in args.viewers.split(",")]
    # in memory where the machine has it (the edge's cache as a CDN keeps its hot objects, and the
    # recordings), and removed afterwards
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    folder = Path(tempfile.mkdtemp(prefix="liveshop-bench-hls-", dir=shm))
    node, base = start_node(folder)
    loop = asyncio.new_event_loop()
    nginx = None
    print("LL-HLS benchmark: one 640x360 30 fps publisher, simulated LL-HLS players, all on 127.0.0.1")
    try:
        _loopback_only()
        broadcast_id, publisher = loop.run_until_complete(go_live(base))
        origin_url = f"{base}/hls/{broadcast_id}"
        loop.run_until_complete(until_segments(origin_url, 3))
        ages = loop.run_until_complete(hls_latency(origin_url))
        whep_ages = loop.run_until_complete(whep_latency(base, broadcast_id))
        idle = loop.run_until_complete(idle_cpu(node, args.window))
        print(f"  node with no HLS viewers (ingest, decode, the one H.264 encode): cpu={idle * 100:5.1f}%")
        rows = [
            loop.run_until_complete(measure("origin", origin_url, n, args.window, [("node", node)]))
            for n in counts
        ]
        cached: list[dict[str, float]] = []
        if not args.no_nginx:
            nginx = start_nginx(folder, base)
            if nginx is None:
                print("  nginx is not installed (scripts/install-test-deps.sh installs Debian's nginx-light)")
            else:
                url = f"{nginx[1]}/hls/{broadcast_id}"
                procs = [("node", node), ("nginx", nginx[0])]
                cached = [
                    loop.run_until_complete(measure("behind nginx", url, n, args.window, procs))
                    for n in counts
                ]
        loop.run_until_complete(publisher.stop())
        loop.run_until_complete(publisher.http.close())
    finally:
        if nginx is not None:
            nginx[0].terminate()
        node.terminate()
        node.wait(10)
        loop.close()
        shutil.rmtree(folder, ignore_errors=True)
    print()
    whep_projected = None
    if not args.no_whep:
        print("WHEP fan-out in the same run (bench media's fan-out mode):")
        _, _, whep_projected = per_core(run_mode("fanout", [1, 4, 8], 4.0, 4))
    print()
    print(f"{'':52}{'viewers per core':>18}")
    print(f"{'LL-HLS at the origin (node CPU above idle)':52}{_viewers(marginal(rows, idle))}")
    if cached:
        print(f"{'LL-HLS behind nginx (node CPU above idle)':52}{_viewers(marginal(cached, idle))}")
        edge = marginal(cached, idle, "nginx_cpu")
        print(f"{'LL-HLS behind nginx (nginx CPU: the CDN edge)':52}{_viewers(edge)}")
    if whep_projected is not None:
        print(f"{'WHEP fan-out (projected, bench media)':52}{whep_projected:>18,.0f}")
    print()
    if ages:
        print(
            f"LL-HLS: newest frame's age when its part is served p50={statistics.median(ages):.0f} ms "
            f"max={max(ages)} ms; a player {1.5:.1f} s behind (PART-HOLD-BACK) shows it at "
            f"~{statistics.median(ages) + 1500:.0f} ms glass to glass"
        )
    if whep_ages:
        print(f"WHEP: frame age at the viewer's decoder p50={statistics.median(whep_ages):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
