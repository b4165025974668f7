"""`liveshop bench bids`: 2,000 bidders on one auction, against a bare baseline measured in the same run.

Everything is private to the run: a redis-server on a free loopback port, a fresh PostgreSQL database,
a liveshop node as a `python -m server serve` child process, and the baseline (baseline_bids.py: a
bare aiohttp app running one EVALSHA of the same bid.lua per request, nothing else) on the same Redis.
The load generator (this process, aiohttp) keeps `--connections` requests in flight; each picks one
of the bidders, bids the minimum it last heard of plus 0-2 increments, and learns the new minimum
from the answer (201, or 409 with `min_bid`), so most bids race and many are refused, as in a hot
auction. Bounded: `--bids` requests per side, `--cap-s` seconds at most.

Reported per side: bids answered per second (accepted + refused), p50/p99 acknowledgement, accepted.
liveshop's accepted bids are also written to PostgreSQL before the answer and sent to the room.
Exit status 0 if every answer was 201 or 409 and the liveshop auction's accepted bids rose strictly.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from redis import Redis  # noqa: E402

from loadtests.bench_claims import (  # noqa: E402
    HOST_EMAIL,
    HOST_PASSWORD,
    bench_env,
    call,
    create_bench_host,
    issue_tokens,
    private_services,
    start_children,
    stop_children,
)
from server.db.base import new_id  # noqa: E402
from server.inventory.keys import auction_keys  # noqa: E402
from server.inventory.scripts import source  # noqa: E402
from tests.services import ServerProcess, free_port  # noqa: E402

STARTING, INCREMENT = 100, 1


@dataclass
class Side:
    name: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return self.statuses.get(201, 0) + self.statuses.get(409, 0)

    @property
    def rps(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def drive(base: str, path: str, tokens: list[str], cfg: argparse.Namespace, name: str) -> Side:
    """`cfg.connections` bidders in flight until `cfg.bids` answers or `cfg.cap_s` seconds."""
    side = Side(name)
    known = {"min": STARTING}
    rng = random.Random(7)
    sent = 0
    deadline = time.monotonic() + cfg.cap_s

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal sent
        while sent < cfg.bids and time.monotonic() < deadline:
            sent += 1
            token = tokens[rng.randrange(len(tokens))]
            amount = known["min"] + rng.randrange(0, 3) * INCREMENT
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
            t0 = time.perf_counter()
            async with http.post(base + path, json={"amount": amount}, headers=headers) as resp:
                body = await resp.json(content_type=None)
                side.latencies_ms.append((time.perf_counter() - t0) * 1000)
                side.statuses[resp.status] = side.statuses.get(resp.status, 0) + 1
            if resp.status == 201:
                known["min"] = max(known["min"], int(body["amount"]) + INCREMENT)
            elif isinstance(body, dict) and "min_bid" in body:
                known["min"] = max(known["min"], int(body["min_bid"]))

    connector = aiohttp.TCPConnector(limit=cfg.connections)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.monotonic()
        await asyncio.gather(*(worker(http) for _ in range(cfg.connections)))
        side.seconds = time.monotonic() - started
    return side


def run_liveshop(env: dict[str, str], tokens: list[str], cfg: argparse.Namespace) -> tuple[Side, list[str]]:
    node = ServerProcess(env)
    node.start()
    try:
        base = node.url
        host = call(base, "POST", "/api/v1/auth/login", {"email": HOST_EMAIL, "password": HOST_PASSWORD})[
            "token"
        ]
        sku = "BID-" + uuid.uuid4().hex[:8].upper()
        product = call(
            base,
            "POST",
            "/api/v1/products",
            {"sku": sku, "title": "Bench lot", "price": 1999, "currency": "USD", "stock": 1},
            host,
        )
        broadcast = call(base, "POST", "/api/v1/broadcasts", {"title": "Bench auction"}, host)
        auction = call(
            base,
            "POST",
            f"/api/v1/broadcasts/{broadcast['id']}/auctions",
            {
                "product_id": product["id"],
                "starting_bid": STARTING,
                "increment": INCREMENT,
                "duration_s": 3600,
                "anti_snipe_s": 0,
            },
            host,
        )
        side = asyncio.run(drive(base, f"/api/v1/auctions/{auction['id']}/bids", tokens, cfg, "liveshop x1"))
        view = call(base, "GET", f"/api/v1/auctions/{auction['id']}")
        problems = []
        amounts = [b["amount"] for b in reversed(view["bids"])]
        if any(b - a < INCREMENT for a, b in itertools.pairwise(amounts)):
            problems.append("accepted bids did not rise by the increment")
        if view["bid_count"] != side.statuses.get(201, 0):
            problems.append(f"{side.statuses.get(201, 0)} accepted answers but {view['bid_count']} bids")
        return side, problems
    finally:
        node.stop()


def run_baseline(redis_url: str, redis: Redis, tokens: list[str], cfg: argparse.Namespace) -> Side:
    auction_id = new_id("au")
    ends_at = int(time.time() * 1000) + 3600 * 1000
    redis.register_script(source("auction_load"))(
        keys=auction_keys(auction_id), args=["active", STARTING, INCREMENT, ends_at, 0, 0, 0]
    )
    port = free_port()
    cmd = [sys.executable, "-m", "loadtests.baseline_bids", "--port", str(port), "--redis-url", redis_url]
    children = start_children([*cmd, "--auction", auction_id], port)
    try:
        return asyncio.run(
            drive(
                f"http://127.0.0.1:{port}", f"/api/v1/auctions/{auction_id}/bids", tokens, cfg, "baseline x1"
            )
        )
    finally:
        stop_children(children)


def report(sides: list[Side], cfg: argparse.Namespace) -> None:
    print()
    print(
        f"bids: {cfg.bidders} bidders on one auction, {cfg.connections} in flight, "
        f"up to {cfg.bids} bids per side"
    )
    head = (
        f"{'server':<14} {'answered/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'accepted':>8} {'refused':>8}  other"
    )
    print(head)
    print("-" * len(head))
    base = next((s for s in sides if s.name.startswith("baseline")), None)
    for s in sides:
        other = {k: v for k, v in s.statuses.items() if k not in (201, 409)}
        ratio = f"  ({s.rps / base.rps:.2f}x baseline)" if base and base.rps and s is not base else ""
        print(
            f"{s.name:<14} {s.rps:>10.0f} {s.pct(0.5):>7.1f} {s.pct(0.99):>7.1f} "
            f"{s.statuses.get(201, 0):>8} {s.statuses.get(409, 0):>8}  {other or '-'}{ratio}"
        )


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="liveshop bench bids")
    parser.add_argument("--bidders", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=200, help="bids in flight at once")
    parser.add_argument("--bids", type=int, default=20_000, help="bids per side (bounded)")
    parser.add_argument("--cap-s", type=float, default=30.0, help="seconds per side at most")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    cfg = parse(list(argv or []))
    with private_services() as (redis_server, pg):
        redis = Redis.from_url(redis_server.url)
        env = bench_env(pg.url, redis_server.url)
        create_bench_host(env)
        tokens = issue_tokens(cfg.bidders, "bidder")
        baseline = run_baseline(redis_server.url, redis, tokens, cfg)
        liveshop, problems = run_liveshop(env, tokens, cfg)
        sides = [baseline, liveshop]
        report(sides, cfg)
        bad = [s.name for s in sides if sum(s.statuses.values()) != s.answered]
        for p in problems + [f"{name}: answers other than 201/409" for name in bad]:
            print("PROBLEM:", p)
        redis.close()
        return 0 if not problems and not bad else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
