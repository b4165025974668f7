"""The bid benchmark's baseline: a bare aiohttp app that parses the same JSON and runs ONE EVALSHA of
the same bid.lua for every request, with no auth check, no PostgreSQL write and no room event.

Run by bench_bids.py as `python -m loadtests.baseline_bids --port P --redis-url URL --auction ID`.
The bidder is the bearer token itself (the baseline does the least work possible).
"""

from __future__ import annotations

import argparse
import secrets
import time

import orjson
from aiohttp import web
from redis.asyncio import Redis

from server.inventory.keys import auction_keys
from server.inventory.scripts import source


def build(redis_url: str, auction_id: str) -> web.Application:
    redis = Redis.from_url(redis_url, max_connections=512)
    script = redis.register_script(source("bid"))
    keys = auction_keys(auction_id)

    async def bid(request: web.Request) -> web.Response:
        amount = int(orjson.loads(await request.read())["amount"])
        bidder = request.headers.get("Authorization", "")[7:][-24:]
        key = request.headers.get("Idempotency-Key", "")
        now = int(time.time() * 1000)
        r = await script(
            keys=keys, args=[now, bidder, "b", amount, "bd_" + secrets.token_hex(8), key, str(amount)]
        )
        code = r[0].decode()
        if code in ("ok", "replay"):
            body = {"id": r[1].decode(), "amount": int(r[2])}
            return web.Response(body=orjson.dumps(body), status=201, content_type="application/json")
        problem: dict[str, object] = {"code": code, "status": 409}
        if len(r) > 1:
            problem["min_bid"] = int(r[1])
        return web.Response(body=orjson.dumps(problem), status=409, content_type="application/problem+json")

    async def close(app: web.Application) -> None:
        await redis.aclose()

    app = web.Application()
    app.router.add_post("/api/v1/auctions/{id}/bids", bid)
    app.on_cleanup.append(close)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--auction", required=True)
    args = parser.parse_args()
    web.run_app(
        build(args.redis_url, args.auction), host="127.0.0.1", port=args.port, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
