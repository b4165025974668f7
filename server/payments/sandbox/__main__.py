"""`python -m server.payments.sandbox stripe|toss --port P [--latency-ms N] [--webhook URL]`: one sandbox
in its own process (benchmarks and ops run it beside a node), printing its LIVESHOP_* settings."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from server.payments.sandbox import serve
from server.payments.sandbox import stripe as stripe_box
from server.payments.sandbox import toss as toss_box


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m server.payments.sandbox")
    parser.add_argument("provider", choices=("stripe", "toss"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="every API call waits this long")
    parser.add_argument("--webhook", default="", help="Stripe: the node's /api/v1/webhooks/stripe")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    if args.provider == "stripe":
        running = await serve(stripe_box.make_app(latency, args.webhook), args.host, args.port)
        env = stripe_box.env(running.url)
    else:
        running = await serve(toss_box.make_app(latency), args.host, args.port)
        env = toss_box.env(running.url)
    for key, value in env.items():
        print(f"{key}={value}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.close()


if __name__ == "__main__":
    asyncio.run(main())
