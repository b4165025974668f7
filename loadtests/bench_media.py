"""`liveshop bench media`: encode-once fan-out vs aiortc's default (one encoder per viewer).

One 640x360 30 fps aiortc publisher and a growing number of WHEP viewers (aiortc clients in other
processes, VP8, video only). For each server mode it prints server CPU per viewer, frames/s per viewer
and the largest viewer count that one core serves while every viewer keeps >= 25 fps. Both modes run
in the same invocation, so a busy machine slows both. Everything stays on 127.0.0.1.

The bench server hosts only the media path (no database): `fanout` uses server.media's Fanout and
PacketTrack exactly as the WHEP route does; `baseline` adds the host track (via MediaRelay) to every
viewer's peer connection, so each RTCRtpSender runs its own encoder.

Usage: liveshop bench media [--steps 1,2,4,8,16,24] [--window 5] [--max-baseline 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import closing

LOOPBACK = ["127.0.0.1"]


def _loopback_only() -> None:
    from server.media import ice

    ice.restrict_host_addresses(LOOPBACK)
    ice.restrict_peers(["127.0.0.0/8"])


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# server ------------------------------------------------------------------------------------------


async def serve(mode: str, port: int) -> None:
    from aiohttp import web
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaRelay

    from server.config import MediaSettings
    from server.media.fanout import Fanout

    _loopback_only()
    settings = MediaSettings(ice_host_addresses="127.0.0.1")
    fanout = Fanout("bench", settings)
    relay = MediaRelay()
    state: dict[str, object] = {}
    pcs: set[RTCPeerConnection] = set()

    def new_pc() -> RTCPeerConnection:
        from server.media.ice import rtc_configuration

        pc = RTCPeerConnection(rtc_configuration(settings))
        pcs.add(pc)
        return pc

    async def answer(pc: RTCPeerConnection, offer: str) -> web.Response:
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        if mode == "baseline" and "host" in state and pc is not state.get("host_pc"):
            pc.addTrack(relay.subscribe(state["host"], buffered=False))  # type: ignore[arg-type]
        elif mode == "fanout" and pc is not state.get("host_pc"):
            for transceiver in pc.getTransceivers():
                if transceiver.kind == "video":
                    transceiver.sender.replaceTrack(fanout.video_track("vp8"))
                    transceiver.direction = "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())
        return web.Response(status=201, text=pc.localDescription.sdp, content_type="application/sdp")

    async def whip(request: web.Request) -> web.Response:
        pc = new_pc()
        state["host_pc"] = pc

        @pc.on("track")
        def on_track(track: object) -> None:
            if getattr(track, "kind", "") == "video":
                state["host"] = track
                if mode == "fanout":
                    fanout.attach(track)  # type: ignore[arg-type]

        return await answer(pc, await request.text())

    async def whep(request: web.Request) -> web.Response:
        return await answer(new_pc(), await request.text())

    app = web.Application()
    app.router.add_post("/whip/bench", whip)
    app.router.add_post("/whep/bench", whep)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


# clients -----------------------------------------------------------------------------------------


async def publish(base: str) -> None:
    import aiohttp

    from loadtests.media_clients import Publisher

    _loopback_only()
    async with aiohttp.ClientSession() as http:
        publisher = Publisher(http, base, "bench", "", audio=False)
        result = await publisher.start()
        print("published", result.status, flush=True)
        await asyncio.Event().wait()


class CountingDecoder:
    """Viewers count complete frames as received (depacketized, not decoded): decoding 24 streams
    would measure the client machine, not the server."""

    def decode(self, encoded_frame: object) -> list[object]:
        import av

        return [av.VideoFrame(16, 16, "yuv420p")]


async def view(base: str, count: int) -> None:
    import aiohttp
    import aiortc.rtcrtpreceiver

    from loadtests.media_clients import Viewer

    aiortc.rtcrtpreceiver.get_decoder = lambda codec: CountingDecoder()  # type: ignore[assignment]
    _loopback_only()
    async with aiohttp.ClientSession() as http:
        viewers = [Viewer(http, base, "bench", codec="VP8", audio=False) for _ in range(count)]
        for viewer in viewers:
            await viewer.start()
        while True:
            print(json.dumps([v.frames for v in viewers]), flush=True)
            await asyncio.sleep(1.0)


# driver ------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ViewerProc:
    """A child process of aiortc viewers; a thread keeps its latest per-viewer frame counts."""

    def __init__(self, base: str, count: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loadtests.bench_media", "--view", base, str(count)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.last: list[int] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.last = json.loads(line)

    def poll(self) -> list[int]:
        return list(self.last)


def spawn(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadtests.bench_media", *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc


def run_mode(mode: str, steps: list[int], window: float, per_proc: int) -> list[dict[str, float]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = spawn("--serve", mode, str(port))
    publisher = spawn("--publish", base)
    viewers: list[ViewerProc] = []
    rows = []
    try:
        time.sleep(2.0)
        idle_t0, idle_c0 = time.monotonic(), cpu_seconds(server.pid)
        time.sleep(2.0)
        idle_cpu = (cpu_seconds(server.pid) - idle_c0) / (time.monotonic() - idle_t0)
        total = 0
        for target in steps:
            while total < target:
                n = min(per_proc, target - total)
                viewers.append(ViewerProc(base, n))
                total += n
            deadline = time.monotonic() + 12.0  # connect and get a keyframe
            time.sleep(2.0)
            while time.monotonic() < deadline and sum(min(v.poll() or [0]) == 0 for v in viewers):
                time.sleep(0.5)
            before = [v.poll() for v in viewers]
            t0, c0 = time.monotonic(), cpu_seconds(server.pid)
            time.sleep(window)
            after = [v.poll() for v in viewers]
            elapsed = time.monotonic() - t0
            cpu = (cpu_seconds(server.pid) - c0) / elapsed
            fps = []
            for b, a in zip(before, after, strict=True):
                fps += [(y - x) / elapsed for x, y in zip(b, a, strict=False)]
            fps += [0.0] * (total - len(fps))
            row = {
                "viewers": total,
                "cpu": cpu,
                "idle_cpu": idle_cpu,
                "min_fps": min(fps),
                "mean_fps": sum(fps) / len(fps),
            }
            rows.append(row)
            print(
                f"  {mode:8} viewers={total:3d} server_cpu={cpu * 100:5.1f}% "
                f"cpu/viewer={(cpu - idle_cpu) / total * 100:5.2f}% fps min={row['min_fps']:4.1f} "
                f"mean={row['mean_fps']:4.1f}",
                flush=True,
            )
            if row["min_fps"] < 25 or cpu > 1.0:
                break
    finally:
        for proc in [*(v.proc for v in viewers), publisher, server]:
            proc.terminate()
        for proc in [*(v.proc for v in viewers), publisher, server]:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return rows


def per_core(rows: list[dict[str, float]]) -> tuple[int, float, float]:
    """(measured: most viewers with all >= 25 fps within one core; marginal CPU per viewer; projected
    viewers per core = (1 core - fixed cost) / marginal cost, from the line through the good rows)."""
    good = [r for r in rows if r["min_fps"] >= 25 and r["cpu"] <= 1.0] or rows[:1]
    measured = int(max((r["viewers"] for r in good if r["min_fps"] >= 25), default=0))
    first, last = good[0], good[-1]
    if last["viewers"] > first["viewers"]:
        slope = (last["cpu"] - first["cpu"]) / (last["viewers"] - first["viewers"])
    else:
        slope = first["cpu"] - first["idle_cpu"]
    slope = max(slope, 1e-4)
    fixed = first["cpu"] - slope * first["viewers"]
    return measured, slope, (1.0 - fixed) / slope


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liveshop bench media")
    parser.add_argument("--serve", nargs=2, metavar=("MODE", "PORT"))
    parser.add_argument("--publish", metavar="BASE")
    parser.add_argument("--view", nargs=2, metavar=("BASE", "COUNT"))
    parser.add_argument("--steps", default="1,2,4,8,16,24")
    parser.add_argument("--baseline-steps", default="1,2,3,4,6,8")
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--per-process", type=int, default=4)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.serve[0], int(args.serve[1])))
        return 0
    if args.publish:
        asyncio.run(publish(args.publish))
        return 0
    if args.view:
        asyncio.run(view(args.view[0], int(args.view[1])))
        return 0

    print("media fan-out benchmark: 640x360 30 fps publisher, VP8 WHEP viewers, all on 127.0.0.1")
    baseline = run_mode(
        "baseline", [int(s) for s in args.baseline_steps.split(",")], args.window, args.per_process
    )
    fanout = run_mode("fanout", [int(s) for s in args.steps.split(",")], args.window, args.per_process)
    b_measured, b_slope, b_projected = per_core(baseline)
    f_measured, f_slope, f_projected = per_core(fanout)
    print()
    print(f"{'':34}{'baseline':>12}{'fan-out':>12}")
    print(f"{'viewers measured, all >= 25 fps':34}{b_measured:>12d}{f_measured:>12d}")
    print(f"{'server CPU per extra viewer':34}{b_slope * 100:>11.2f}%{f_slope * 100:>11.2f}%")
    print(f"{'viewers per core (projected)':34}{b_projected:>12.1f}{f_projected:>12.1f}")
    print(f"fan-out serves {f_projected / max(b_projected, 1e-9):.1f}x the baseline's viewers per core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
