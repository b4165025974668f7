"""The claim benchmark's baseline: a bare aiohttp app that parses the same JSON and runs ONE EVALSHA
of the same reserve.lua (one claim per call) for every request, with no batching and no local state.
With --floor it answers sold_out at once instead (no Redis): the cost of aiohttp itself, the ceiling
for any aiohttp node answering from memory.

Run by bench_claims.py as `python -m loadtests.baseline_claims --port P --redis-url URL --offer ID`.
The buyer is the bearer token itself (no signature check: the baseline does the least work possible).
"""

from __future__ import annotations

import argparse
import secrets
import time

import orjson
from aiohttp import web
from redis.asyncio import Redis

from server.inventory.keys import offer_keys
from server.inventory.scripts import source

HOLD_MS = 3600 * 1000
SOLD_OUT = orjson.dumps({"code": "sold_out", "status": 409})


def build(redis_url: str, offer_id: str, only_floor: bool = False) -> web.Application:
    redis = Redis.from_url(redis_url, max_connections=512)
    script = redis.register_script(source("reserve"))
    keys = offer_keys(offer_id)

    async def reserve(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        qty = int(body["quantity"])
        buyer = request.headers.get("Authorization", "")[7:]
        key = request.headers.get("Idempotency-Key", "")
        hold_id = f"{offer_id}.{secrets.token_hex(10)}"
        now = int(time.time() * 1000)
        result = await script(keys=keys, args=[now, HOLD_MS, 1, buyer, qty, hold_id, key, str(qty)])
        claim = result[4]
        code = claim[0].decode()
        if code in ("ok", "replay"):
            reply = {"id": claim[1].decode(), "offer_id": offer_id, "quantity": int(claim[2])}
            return web.Response(body=orjson.dumps(reply), status=201, content_type="application/json")
        return web.Response(
            body=orjson.dumps({"code": code, "status": 409}),
            status=409,
            content_type="application/problem+json",
        )

    async def floor(request: web.Request) -> web.Response:
        """--floor: the same JSON parsed, a constant sold_out reply, no Redis: aiohttp's own cost."""
        orjson.loads(await request.read())
        return web.Response(body=SOLD_OUT, status=409, content_type="application/problem+json")

    async def close(app: web.Application) -> None:
        await redis.aclose()

    app = web.Application()
    app.router.add_post("/api/v1/offers/{id}/reservations", floor if only_floor else reserve)
    app.on_cleanup.append(close)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--offer", required=True)
    parser.add_argument("--floor", action="store_true", help="answer sold_out without Redis")
    parser.add_argument("--reuse-port", action="store_true", help="several processes share the port")
    args = parser.parse_args()
    web.run_app(
        build(args.redis_url, args.offer, args.floor),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        reuse_port=args.reuse_port,
    )


if __name__ == "__main__":
    main()
