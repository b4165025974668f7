"""`liveshop bench giveaway`: thousands of viewers enter one giveaway at once, then close and draw.

Everything is private to the run: a redis-server on a free loopback port, a fresh PostgreSQL database
and a liveshop node as a `python -m server serve` child process. The load generator (this process,
aiohttp) keeps `--connections` entries in flight: every entrant presses once, and `--repeat` of them
press again (each repeat must answer 200 with the first entry). Bounded by `--cap-s`.

Reported: entries answered per second, p50/p99 acknowledgement (an entry is in Redis and PostgreSQL
before its answer), the close (the list frozen and hashed) and the draw (seed, winner, the zero-price
order) in milliseconds. Exit status 0 if every answer was 201 or 200, the frozen list holds each
entrant once, and the published draw re-checks (server/commerce/giveaways/fairness.py).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from loadtests.bench_bids import HOST_EMAIL, HOST_PASSWORD, Side, call  # noqa: E402
from server.api.auth import Principal, Tokens  # noqa: E402
from server.commerce.giveaways.fairness import verify_view  # noqa: E402
from server.db.base import new_id  # noqa: E402
from tests.services import TEST_SECRET, PostgresDatabase, RedisServer, ServerProcess, server_env  # noqa: E402


async def drive(base: str, path: str, presses: list[str], cfg: argparse.Namespace) -> Side:
    side = Side("liveshop x1")
    queue = iter(presses)
    deadline = time.monotonic() + cfg.cap_s

    async def worker(http: aiohttp.ClientSession) -> None:
        for token in queue:
            if time.monotonic() > deadline:
                return
            t0 = time.perf_counter()
            async with http.post(base + path, headers={"Authorization": f"Bearer {token}"}) as resp:
                await resp.read()
                side.latencies_ms.append((time.perf_counter() - t0) * 1000)
                side.statuses[resp.status] = side.statuses.get(resp.status, 0) + 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=cfg.connections)) as http:
        started = time.monotonic()
        await asyncio.gather(*(worker(http) for _ in range(cfg.connections)))
        side.seconds = time.monotonic() - started
    return side


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="liveshop bench giveaway")
    parser.add_argument("--entrants", type=int, default=5000)
    parser.add_argument("--repeat", type=float, default=0.2, help="share of entrants who press twice")
    parser.add_argument("--connections", type=int, default=200, help="entries in flight at once")
    parser.add_argument("--cap-s", type=float, default=60.0, help="seconds of entries at most")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    cfg = parse(list(argv or []))
    redis_server, pg = RedisServer(), PostgresDatabase()
    redis_server.start()
    pg.create()
    node = None
    try:
        env = server_env(pg.url, redis_server.url, LIVESHOP_RUN_WORKER="false")
        create = [
            sys.executable,
            "-m",
            "server",
            "create-host",
            "--email",
            HOST_EMAIL,
            "--password",
            HOST_PASSWORD,
        ]
        subprocess.run(create, env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
        signer = Tokens(TEST_SECRET)
        tokens = [signer.issue(Principal(new_id("us"), "viewer", f"fan{i}")) for i in range(cfg.entrants)]
        presses = tokens + tokens[: int(cfg.entrants * cfg.repeat)]
        node = ServerProcess(env)
        node.start()
        base = node.url
        host = call(base, "POST", "/api/v1/auth/login", {"email": HOST_EMAIL, "password": HOST_PASSWORD})[
            "token"
        ]
        sku = "GW-" + uuid.uuid4().hex[:8].upper()
        prize = {"sku": sku, "title": "Bench prize", "price": 1999, "currency": "USD", "stock": 1}
        product = call(base, "POST", "/api/v1/products", prize, host)
        broadcast = call(base, "POST", "/api/v1/broadcasts", {"title": "Bench giveaway"}, host)
        g = call(
            base,
            "POST",
            f"/api/v1/broadcasts/{broadcast['id']}/giveaways",
            {"product_id": product["id"]},
            host,
        )
        side = asyncio.run(drive(base, f"/api/v1/giveaways/{g['id']}/entries", presses, cfg))
        t0 = time.perf_counter()
        closed = call(base, "POST", f"/api/v1/giveaways/{g['id']}/close", None, host)
        close_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        drawn = call(base, "POST", f"/api/v1/giveaways/{g['id']}/draw", None, host)
        draw_ms = (time.perf_counter() - t0) * 1000
        answered = side.statuses.get(201, 0) + side.statuses.get(200, 0)
        print()
        repeats = len(presses) - cfg.entrants
        print(f"giveaway: {cfg.entrants} entrants, {repeats} repeats, {cfg.connections} in flight")
        head = ("entries/s", "p50 ms", "p99 ms", "new", "repeat", "close ms", "draw ms")
        print(" ".join(f"{h:>{w}}" for h, w in zip(head, (10, 7, 7, 6, 6, 9, 8), strict=True)))
        print(
            f"{answered / side.seconds:>10.0f} {side.pct(0.5):>7.1f} {side.pct(0.99):>7.1f} "
            f"{side.statuses.get(201, 0):>6} {side.statuses.get(200, 0):>6} {close_ms:>9.0f} {draw_ms:>8.0f}"
        )
        problems = []
        if answered != sum(side.statuses.values()):
            problems.append(f"answers other than 201/200: {side.statuses}")
        if side.statuses.get(201, 0) != closed["entrant_count"] or closed["entrant_count"] != len(
            {e["user_id"] for e in closed["entrants"]}
        ):
            problems.append(
                f"{side.statuses.get(201, 0)} new entries but {closed['entrant_count']} in the list"
            )
        try:
            verify_view(drawn)
        except ValueError as exc:
            problems.append(f"the draw does not re-check: {exc}")
        for p in problems:
            print("PROBLEM:", p)
        return 0 if not problems else 1
    finally:
        if node is not None:
            node.stop()
        redis_server.stop()
        pg.drop()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
