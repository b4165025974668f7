"""`liveshop bench chat`: one server process, a room of websocket viewers, senders chatting for N s.

Measures, in the same run and at the same load, liveshop's /live room (one `serve` process on a real
Redis with the AsyncRedisManager, SQLite for the archive) and a baseline: a bare python-socketio server
that emits every message to the room as it arrives. The load generator runs in separate processes and
speaks engine.io v4 over raw aiohttp websockets; only a sample of viewers decode frames for latency,
the rest count messages with one C-level substring count, so it stays light.

    liveshop bench chat --viewers 1000 --rate 20 --duration 30
    liveshop bench chat --viewers 2000 --rate 50 --duration 30 --only liveshop
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARK = '"t='
SECRET = "Xq2kTm9vLr4wNp7sBh3yZd6fGj0cRu5aKe1oWi8x-bench"


# ---------------------------------------------------------------------------------------------- load
async def _viewer(
    url: str,
    token: str,
    room: str,
    sampler: bool,
    sender_rate: float,
    stats: dict,
    t_start: float,
    t_end: float,
    ready: list,
    deflate: int,
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(
            url + "/socket.io/?EIO=4&transport=websocket", max_msg_size=0, heartbeat=None, compress=deflate
        )
        await ws.receive()  # open
        if ws.compress:  # offered with --deflate, and the server accepted permessage-deflate
            stats["deflate"] += 1
        await ws.send_str(f'40/live,{{"token":"{token}"}}')
        await ws.receive()  # namespace connected
        await ws.send_str(f'42/live,0["join",{{"broadcast_id":"{room}"}}]')
        while True:
            msg = (await ws.receive()).data
            if isinstance(msg, str) and msg.startswith("43/live,0"):
                break
        ready.append(1)
        sender = asyncio.ensure_future(_send(ws, room, sender_rate, t_end)) if sender_rate else None
        lat = stats["lat"]
        async for m in ws:
            data = m.data
            if not isinstance(data, str):
                continue
            if data == "2":
                await ws.send_str("3")
                continue
            now = time.time()
            if now < t_start:
                continue
            if now > t_end:
                break
            n = data.count(MARK)
            stats["delivered"] += n
            if sampler and n:
                payload = json.loads(data[data.index("[") :])[1]
                for item in payload if isinstance(payload, list) else [payload]:
                    lat.append(now - float(item["text"][2:]))
        if sender:
            sender.cancel()
        await ws.close()


async def _send(ws: Any, room: str, rate: float, t_end: float) -> None:
    interval = 1.0 / rate
    next_at = time.monotonic()
    while time.time() < t_end:
        frame = json.dumps(["chat", {"text": f"t={time.time():.6f}", "broadcast_id": room}])
        await ws.send_str("42/live," + frame)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def _load_worker(
    url: str,
    tokens: list[str],
    room: str,
    senders: int,
    rate: float,
    sample_every: int,
    t_start: float,
    t_end: float,
    out: Any,
    deflate: int = 0,
) -> None:
    async def run() -> dict:
        stats: dict[str, Any] = {"delivered": 0, "lat": [], "deflate": 0}
        ready: list[int] = []
        tasks = []
        for i, token in enumerate(tokens):
            tasks.append(
                asyncio.ensure_future(
                    _viewer(
                        url,
                        token,
                        room,
                        i % sample_every == 0,
                        rate / senders if i < senders else 0.0,
                        stats,
                        t_start,
                        t_end,
                        ready,
                        deflate,
                    )
                )
            )
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        done, pending = await asyncio.wait(tasks, timeout=t_end - time.time() + 10)
        for t in pending:
            t.cancel()
        errors = [repr(t.exception()) for t in done if t.exception()]
        return {
            "delivered": stats["delivered"],
            "lat": stats["lat"],
            "connected": len(ready),
            "deflate": stats["deflate"],
            "errors": errors[:3],
        }

    out.put(run_quiet(run))


def run_quiet(fn: Any) -> Any:
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(fn())


# ---------------------------------------------------------------------------------------------- servers
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, path: str = "/", timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + path, timeout=2)
            return
        except Exception as exc:
            if getattr(exc, "code", None):
                return
            time.sleep(0.2)
    raise TimeoutError(url)


def _http(method: str, url: str, body: dict | None = None, token: str | None = None) -> dict:
    import urllib.request

    req = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


class Server:
    def __init__(self, kind: str, redis_url: str, workdir: str, tick_ms: int) -> None:
        self.kind = kind
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(workdir, f"{kind}.log"), "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESHOP_")}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "LIVESHOP_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
                "LIVESHOP_REDIS_URL": redis_url,
                "LIVESHOP_SECRET": SECRET,
                "LIVESHOP_TRUSTED_CLIENTS": "127.0.0.0/8",
                "LIVESHOP_LOG_LEVEL": "WARNING",
                "LIVESHOP_RUN_WORKER": "false",
                "LIVESHOP_CHAT_RATE_PER_S": "1000",
                "LIVESHOP_CHAT_BURST": "1000",
                "LIVESHOP_CHAT_TICK_MS": str(tick_ms),
            }
        )
        self.env = env
        if kind == "baseline":
            cmd = [sys.executable, str(ROOT / "loadtests" / "chat_baseline_server.py"), str(self.port)]
        else:
            subprocess.run(
                [sys.executable, "-m", "server", "migrate"],
                env=env,
                cwd=ROOT,
                check=True,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )
            cmd = [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        _wait_http(self.url, "/socket.io/?EIO=4&transport=polling")

    def room(self) -> tuple[str, list[str]]:
        if self.kind == "baseline":
            return "bench", []
        email = f"bench-{self.port}@example.com"
        subprocess.run(
            [sys.executable, "-m", "server", "create-host", "--email", email, "--password", "bench-password"],
            env=self.env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        host = _http("POST", self.url + "/api/v1/auth/login", {"email": email, "password": "bench-password"})
        b = _http("POST", self.url + "/api/v1/broadcasts", {"title": "bench"}, host["token"])
        _http("POST", self.url + f"/api/v1/broadcasts/{b['id']}/start", None, host["token"])
        return b["id"], []

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _tokens(n: int) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from server.api.auth import Principal, Tokens

    tokens = Tokens(SECRET)
    return [tokens.issue(Principal(f"us_bench{i}", "viewer", f"v{i}")) for i in range(n)]


def measure(kind: str, redis_url: str, workdir: str, args: argparse.Namespace) -> dict[str, Any]:
    import psutil

    server = Server(kind, redis_url, workdir, args.tick_ms)
    try:
        room, _ = server.room()
        tokens = _tokens(args.viewers)
        ramp = max(5.0, args.viewers / 150)
        t_start = time.time() + ramp + args.warmup
        t_end = t_start + args.duration
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        shares = [tokens[i :: args.procs] for i in range(args.procs)]
        senders = max(1, args.senders // args.procs)
        workers = [
            ctx.Process(
                target=_load_worker,
                args=(
                    server.url,
                    share,
                    room,
                    senders,
                    args.rate / args.procs,
                    args.sample_every,
                    t_start,
                    t_end,
                    out,
                    15 if args.deflate else 0,
                ),
            )
            for share in shares
        ]
        for w in workers:
            w.start()
        proc = psutil.Process(server.proc.pid)
        time.sleep(max(0.0, t_start - time.time()))
        cpu0 = proc.cpu_times()
        w0 = time.monotonic()
        rss_peak = 0
        while time.time() < t_end:
            rss_peak = max(rss_peak, proc.memory_info().rss)
            time.sleep(0.5)
        cpu1 = proc.cpu_times()
        wall = time.monotonic() - w0
        results = [out.get(timeout=args.duration + 60) for _ in workers]
        for w in workers:
            w.join(10)
        lat = sorted(x for r in results for x in r["lat"])
        delivered = sum(r["delivered"] for r in results)
        cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

        return {
            "server": kind,
            "viewers": sum(r["connected"] for r in results),
            "deflate": sum(r.get("deflate", 0) for r in results),
            "delivered_per_s": delivered / args.duration,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "cpu_cores": cpu,
            "rss_mb": rss_peak / 2**20,
            "errors": [e for r in results for e in r["errors"]][:3],
        }
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="liveshop bench chat", description=__doc__.split("\n\n")[0])
    p.add_argument("--viewers", type=int, default=1000)
    p.add_argument("--rate", type=float, default=20, help="chat messages per second in the room")
    p.add_argument("--senders", type=int, default=20)
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--procs", type=int, default=2, help="load generator processes")
    p.add_argument("--sample-every", type=int, default=20, help="1 viewer in N decodes for latency")
    p.add_argument("--tick-ms", type=int, default=200)
    p.add_argument("--only", choices=["liveshop", "baseline"])
    p.add_argument(
        "--deflate",
        action="store_true",
        help="viewers offer permessage-deflate, as browsers do (aiohttp's client does not by default)",
    )
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.services import RedisServer

    redis = RedisServer()
    redis.start()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="liveshop-bench-") as workdir:
            for kind in ("baseline", "liveshop"):
                if args.only and kind != args.only:
                    continue
                print(
                    f"... {kind}: {args.viewers} viewers x {args.rate:g} msg/s for {args.duration:g} s",
                    flush=True,
                )
                rows.append(measure(kind, redis.url, workdir, args))
    finally:
        redis.stop()
    print(
        f"\nroom of {args.viewers} viewers, {args.rate:g} chat msg/s ({args.viewers * args.rate:,.0f} "
        f"logical deliveries/s), {args.duration:g} s, tick {args.tick_ms} ms, "
        f"viewers {'offer' if args.deflate else 'do not offer'} permessage-deflate"
    )
    print(
        f"{'server':<10}{'viewers':>9}{'deliv/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'CPU cores':>11}{'RSS MB':>9}"
        f"{'deflate':>9}"
    )
    for r in rows:
        print(
            f"{r['server']:<10}{r['viewers']:>9}{r['delivered_per_s']:>11,.0f}{r['p50_ms']:>9.0f}"
            f"{r['p99_ms']:>9.0f}{r['cpu_cores']:>11.2f}{r['rss_mb']:>9.0f}{r['deflate']:>9}"
        )
        if r["errors"]:
            print(f"  load generator errors ({r['server']}): {r['errors']}")
    if len(rows) == 2 and rows[1]["cpu_cores"] > 0:
        per = [r["cpu_cores"] / max(r["delivered_per_s"], 1) for r in rows]
        print(f"\nserver CPU per delivered message: baseline / liveshop = {per[0] / per[1]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
