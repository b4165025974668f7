"""`liveshop bench checkout`: reserve -> order -> pay at 500 concurrent buyers against the Stripe sandbox
(~150 ms on every provider call), liveshop next to a baseline measured in the same run.

Everything is real and private to the run: a redis-server on a free port, a fresh PostgreSQL database,
the Stripe sandbox as its own process (`python -m server.payments.sandbox stripe --latency-ms 150`),
liveshop as `python -m server serve`, and the baseline (loadtests/baseline_checkout.py: the same flow
the straightforward way, the provider called inside one transaction that locks the offer) on the same
database, Redis and sandbox. Each buyer claims one unit, checks out, then pays with the test card; "paid"
is the moment the node acknowledged the signed payment_intent.succeeded webhook (the sandbox stamps it),
so no polling load distorts the figures.

Reports, per side: paid orders per second (over the whole phase) and p50/p99 from "Pay" to "paid", plus
p50/p99 of the checkout call (where the provider's latency lands). Exit 0 if nothing was oversold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from server.api.auth import Principal, Tokens  # noqa: E402
from server.payments.sandbox import stripe as box  # noqa: E402
from tests.services import (  # noqa: E402
    TEST_SECRET,
    PostgresDatabase,
    RedisServer,
    ServerProcess,
    free_port,
    server_env,
    wait_port,
)

BASELINE_LOG = Path("/tmp/liveshop-bench-baseline.log")
BUYER = {"name": "Bench Buyer", "email": "bench@example.com", "address": "1 Bench Road"}


@dataclass
class Phase:
    name: str
    orders: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    pay_at: dict[str, float] = field(default_factory=dict)  # pi -> wall time "Pay" was pressed
    checkout_s: list[float] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    acked: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0  # CPU time the side's server process spent in the phase

    def fail(self, what: str) -> None:
        self.failed[what] = self.failed.get(what, 0) + 1

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.acked[pi] - t for pi, t in self.pay_at.items() if pi in self.acked)
        last = max(self.acked.values(), default=self.started)
        span = max(last - self.started, 1e-9)
        chk = sorted(self.checkout_s)
        return {
            "side": self.name,
            "paid": len(lat),
            "paid_per_s": round(len(lat) / span, 1),
            "pay_to_paid_p50_ms": _ms(_pct(lat, 50)),
            "pay_to_paid_p99_ms": _ms(_pct(lat, 99)),
            "checkout_p50_ms": _ms(_pct(chk, 50)),
            "checkout_p99_ms": _ms(_pct(chk, 99)),
            "server_cpu_ms_per_paid": round(1000 * self.cpu_s / max(len(lat), 1), 2),
            "seconds": round(span, 1),
            "failed": self.failed,
        }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): noise from other work barely moves it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def _ms(value: float) -> float:
    return round(value * 1000, 1)


async def _json(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kw) as r:
        raw = await r.read()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, {"text": raw[:200].decode(errors="replace")}


async def run_phase(
    phase: Phase,
    base: str,
    sandbox: str,
    offer_id: str,
    buyers: int,
    orders: int,
    seconds: float,
    token_of: Any,
) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        tickets = iter(range(orders))
        deadline = time.monotonic() + seconds
        phase.started = time.time()

        async def buyer() -> None:
            for _ in tickets:
                if time.monotonic() > deadline:
                    return
                token = token_of("us_" + uuid.uuid4().hex[:16])
                auth = {"Authorization": f"Bearer {token}"}
                status, hold = await _json(
                    http,
                    "POST",
                    f"{base}/api/v1/offers/{offer_id}/reservations",
                    json={"quantity": 1},
                    headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                )
                if status != 201:
                    phase.fail(f"reserve {status}")
                    continue
                t0 = time.monotonic()
                status, order = await _json(
                    http,
                    "POST",
                    f"{base}/api/v1/orders",
                    json={"reservation_id": hold["id"], "buyer": BUYER},
                    headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                )
                phase.checkout_s.append(time.monotonic() - t0)
                if status != 201:
                    phase.fail(f"checkout {status}")
                    continue
                phase.orders += 1
                pressed = time.time()
                body = {"client_secret": order["payment"]["client_secret"], "card": "4242424242424242"}
                status, _ = await _json(http, "POST", f"{sandbox}/_sandbox/pay", json=body)
                if status != 200:
                    phase.fail(f"pay {status}")
                    continue
                phase.pay_at[order["payment"]["id"]] = pressed

        await asyncio.gather(*(buyer() for _ in range(buyers)))
        phase.ended = time.time()
        wait_until = time.monotonic() + 30
        while time.monotonic() < wait_until:
            _, acked = await _json(http, "GET", f"{sandbox}/_sandbox/acks")
            phase.acked = {pi: t for pi, t in acked.items() if pi in phase.pay_at}
            if len(phase.acked) >= len(phase.pay_at):
                break
            await asyncio.sleep(0.5)


def _post(url: str, body: dict[str, Any], token: str = "") -> dict[str, Any]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return dict(json.loads(r.read()))
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{url}: {exc.code} {exc.read()[:500]!r}") from None


def _offer(base: str, host: str, product_id: str, broadcast_id: str, quantity: int) -> str:
    body = {
        "product_id": product_id,
        "price": 2500,
        "quantity": quantity,
        "per_buyer_limit": 1,
        "duration_s": 3600,
    }
    return str(_post(f"{base}/api/v1/broadcasts/{broadcast_id}/offers", body, host)["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liveshop bench checkout")
    parser.add_argument("--buyers", type=int, default=500, help="concurrent buyers")
    parser.add_argument("--orders", type=int, default=1500, help="orders per side (the offer's quantity)")
    parser.add_argument("--latency-ms", type=float, default=150.0, help="the provider's latency per call")
    parser.add_argument("--seconds", type=float, default=60.0, help="cap per side")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    redis = RedisServer()
    redis.start()
    pg = PostgresDatabase()
    pg.create()
    procs: list[subprocess.Popen[bytes]] = []
    node: ServerProcess | None = None
    try:
        node_port, stripe_port, base_port = free_port(), free_port(), free_port()
        sandbox = f"http://127.0.0.1:{stripe_port}"
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "server.payments.sandbox",
                    "stripe",
                    "--port",
                    str(stripe_port),
                    "--latency-ms",
                    str(args.latency_ms),
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        )
        wait_port(stripe_port)
        env = server_env(
            pg.url,
            redis.url,
            **box.env(sandbox),
            LIVESHOP_RUN_WORKER="false",
            LIVESHOP_DB_POOL_SIZE="8",
            LIVESHOP_PAYMENT_STALE_S="3600",
            LIVESHOP_PAYMENT_TIMEOUT_S="30",
            LIVESHOP_HOLD_SECONDS="600",
        )
        node = ServerProcess(env)
        node.port = node_port
        node.start()
        base = node.url
        subprocess.run(
            [
                sys.executable,
                "-m",
                "server",
                "create-host",
                "--email",
                "bench@example.com",
                "--password",
                "bench-pass-1",
            ],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        host = str(
            _post(f"{base}/api/v1/auth/login", {"email": "bench@example.com", "password": "bench-pass-1"})[
                "token"
            ]
        )
        product = _post(
            f"{base}/api/v1/products",
            {
                "sku": "BENCH-1",
                "title": "Bench item",
                "price": 2500,
                "currency": "USD",
                "stock": 2 * args.orders + 10,
            },
            host,
        )
        broadcast = _post(f"{base}/api/v1/broadcasts", {"title": "bench"}, host)
        tokens = Tokens(TEST_SECRET)
        results = []
        for side in ("baseline", "liveshop"):
            offer_id = _offer(base, host, product["id"], broadcast["id"], args.orders)
            if side == "baseline":
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "loadtests.baseline_checkout",
                        "--port",
                        str(base_port),
                        "--database-url",
                        pg.url,
                        "--redis-url",
                        redis.url,
                        "--stripe-url",
                        sandbox,
                        "--offer",
                        offer_id,
                    ],
                    cwd=ROOT,
                    stdout=open(BASELINE_LOG, "wb"),
                    stderr=subprocess.STDOUT,
                )
                procs.append(proc)
                wait_port(base_port)
                target = f"http://127.0.0.1:{base_port}"

                def token_of(uid: str) -> str:
                    return uid
            else:
                target = base

                def token_of(uid: str) -> str:
                    return tokens.issue(Principal(uid, "viewer", "bench"))

            _post(
                f"{sandbox}/_sandbox/webhook", {"url": f"{target}/api/v1/webhooks/stripe", "mode": "deliver"}
            )
            phase = Phase(side)
            pid = proc.pid if side == "baseline" else node.proc.pid  # type: ignore[union-attr]
            cpu_before = cpu_seconds(pid)
            asyncio.run(
                run_phase(phase, target, sandbox, offer_id, args.buyers, args.orders, args.seconds, token_of)
            )
            phase.cpu_s = cpu_seconds(pid) - cpu_before
            summary = phase.summary()
            results.append(summary)
            print(json.dumps(summary), flush=True)
        print()
        print(
            f"checkout bench: {args.buyers} concurrent buyers, provider latency {args.latency_ms:.0f} ms, "
            f"up to {args.orders} orders per side"
        )
        print(
            f"{'side':<9} {'paid':>6} {'paid/s':>8} {'pay->paid p50':>14} {'p99':>9} "
            f"{'checkout p50':>13} {'p99':>9} {'cpu/paid':>9}"
        )
        for r in results:
            print(
                f"{r['side']:<9} {r['paid']:>6} {r['paid_per_s']:>8} {r['pay_to_paid_p50_ms']:>12}ms "
                f"{r['pay_to_paid_p99_ms']:>7}ms {r['checkout_p50_ms']:>11}ms {r['checkout_p99_ms']:>7}ms "
                f"{r['server_cpu_ms_per_paid']:>7}ms"
            )
        audit = subprocess.run(
            [sys.executable, "-m", "server", "audit"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        lines = audit.stdout.strip().splitlines()
        print(
            "\n".join(line for line in lines if "!" in line or "problem" in line or "audit:" in line)[-3000:]
        )
        if not lines:
            print(audit.stderr[-1000:])
        print(f"node log: {node.log.name}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return 0 if audit.returncode == 0 else 1
    finally:
        if node is not None:
            node.stop()
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        pg.drop()
        redis.stop()


if __name__ == "__main__":
    raise SystemExit(main())
