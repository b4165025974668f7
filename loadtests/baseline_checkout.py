"""The checkout benchmark's baseline: the same reserve -> order -> pay flow written the straightforward
way. One EVALSHA of reserve.lua per claim (no batching); checkout is ONE database transaction that
locks the offer row, marks the hold, inserts the order AND calls the provider (the PaymentIntent is
created inside the transaction, holding the lock across the call); the webhook is one transaction per
event. Same Lua scripts, same tables, same stripe library, same sandbox as liveshop.

Run by bench_checkout.py as `python -m loadtests.baseline_checkout --port P --database-url URL
--redis-url URL --stripe-url URL --offer ID`. The buyer is the bearer token itself.
"""

from __future__ import annotations

import argparse
import secrets
import time

import aiohttp
import orjson
import stripe
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.inventory.keys import offer_keys, order_marks_key
from server.inventory.scripts import source
from server.payments.sandbox import stripe as box

HOLD_MS = 3600 * 1000
PAYMENT_INSERT = (
    "INSERT INTO payments (id, order_id, provider, provider_ref, amount, currency, status, created_at,"
    " updated_at) VALUES (:id, :o, 'stripe', :ref, :a, :c, 'succeeded', now(), now())"
)
POOL = 8  # as the liveshop node in the benchmark (LIVESHOP_DB_POOL_SIZE=8: 8 + 8 overflow)
ORDER_INSERT = (
    "INSERT INTO orders (id, channel, offer_id, product_id, reservation_id, buyer_id, buyer, quantity,"
    " unit_price, total, currency, status, created_at) VALUES (:id, 'liveshop', :offer, :product, :hold,"
    " :buyer, '{}', 1, :price, :price, :currency, 'pending_payment', now())"
)


def build(database_url: str, redis_url: str, stripe_url: str, offer_id: str) -> web.Application:
    redis = Redis.from_url(redis_url, max_connections=512)
    reserve_lua = redis.register_script(source("reserve"))
    begin_lua = redis.register_script(source("begin_checkout"))
    settle_lua = redis.register_script(source("settle_checkout"))
    pay_lua = redis.register_script(source("pay"))
    keys = offer_keys(offer_id)
    engine = create_async_engine(database_url, pool_size=POOL, max_overflow=POOL, pool_timeout=30)
    state: dict[str, object] = {}

    def reply(body: object, status: int) -> web.Response:
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    async def reserve(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        buyer = request.headers.get("Authorization", "")[7:]
        hold_id = f"{offer_id}.{secrets.token_hex(10)}"
        now = int(time.time() * 1000)
        key = request.headers.get("Idempotency-Key", "")
        result = await reserve_lua(
            keys=keys, args=[now, HOLD_MS, 1, buyer, int(body["quantity"]), hold_id, key, "h"]
        )
        claim = result[4]
        if claim[0].decode() in ("ok", "replay"):
            return reply({"id": claim[1].decode(), "offer_id": offer_id}, 201)
        return reply({"code": claim[0].decode()}, 409)

    async def checkout(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        buyer = request.headers.get("Authorization", "")[7:]
        hold_id = body["reservation_id"]
        order_id = "or_" + secrets.token_hex(8)
        client: stripe.StripeClient = state["stripe"]  # type: ignore[assignment]
        async with engine.begin() as conn:
            offer = (
                await conn.execute(
                    text("SELECT price, currency, product_id FROM offers WHERE id = :id FOR UPDATE"),
                    {"id": offer_id},
                )
            ).one()
            now = int(time.time() * 1000)
            marked = await begin_lua(keys=keys[:4], args=[hold_id, buyer, now, now + 30_000])
            if marked[0].decode() != "ok":
                return reply({"code": marked[0].decode()}, 410)
            await conn.execute(
                text(ORDER_INSERT),
                {
                    "id": order_id,
                    "offer": offer_id,
                    "product": offer.product_id,
                    "hold": hold_id,
                    "buyer": buyer,
                    "price": offer.price,
                    "currency": offer.currency,
                },
            )
            pi = await client.v1.payment_intents.create_async(
                params={
                    "amount": offer.price,
                    "currency": offer.currency.lower(),
                    "automatic_payment_methods": {"enabled": True},
                    "metadata": {"order_id": order_id},
                },
                options={"idempotency_key": order_id},
            )
            await conn.execute(
                text("UPDATE orders SET payment = :p WHERE id = :id"),
                {"p": orjson.dumps({"id": pi.id}).decode(), "id": order_id},
            )
        await settle_lua(keys=keys[:4], args=[hold_id, "await", int(time.time() * 1000) + 600_000])
        return reply(
            {
                "id": order_id,
                "status": "pending_payment",
                "payment": {"provider": "stripe", "id": pi.id, "client_secret": pi.client_secret},
            },
            201,
        )

    async def webhook(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            stripe.WebhookSignature.verify_header(
                raw.decode(), request.headers.get("Stripe-Signature", ""), box.WEBHOOK_SECRET, 300
            )
        except stripe.SignatureVerificationError:
            return reply({"code": "bad_signature"}, 400)
        event = orjson.loads(raw)
        if event["type"] != "payment_intent.succeeded":
            return reply({"received": True}, 200)
        order_id = event["data"]["object"]["metadata"]["order_id"]
        async with engine.begin() as conn:
            seen = await conn.execute(
                text(
                    "INSERT INTO payment_events (id, provider, type, order_id, outcome, received_at)"
                    " VALUES (:id, 'stripe', :t, :o, 'paid', now()) ON CONFLICT DO NOTHING"
                ),
                {"id": "baseline:" + event["id"], "t": event["type"], "o": order_id},
            )
            if seen.rowcount == 0:
                return reply({"received": True}, 200)
            await conn.execute(text("SELECT id FROM offers WHERE id = :id FOR UPDATE"), {"id": offer_id})
            order = (
                await conn.execute(
                    text("SELECT reservation_id, buyer_id, status FROM orders WHERE id = :id FOR UPDATE"),
                    {"id": order_id},
                )
            ).one()
            await pay_lua(
                keys=[*keys[:4], order_marks_key(offer_id)],
                args=[order.reservation_id, order_id, order.buyer_id, 1],
            )
            await conn.execute(text("UPDATE orders SET status = 'paid' WHERE id = :id"), {"id": order_id})
            pi = event["data"]["object"]
            await conn.execute(
                text(PAYMENT_INSERT),
                {
                    "id": "pa_" + secrets.token_hex(8),
                    "o": order_id,
                    "ref": pi["id"],
                    "a": pi["amount"],
                    "c": pi["currency"].upper(),
                },
            )
        return reply({"received": True}, 200)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
        state["stripe"] = stripe.StripeClient(
            box.SECRET_KEY,
            base_addresses={"api": stripe_url},
            http_client=stripe.AIOHTTPClient(session=session, timeout=None),
            max_network_retries=0,
        )
        yield
        await session.close()
        await redis.aclose()
        await engine.dispose()

    app = web.Application()
    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/api/v1/offers/{id}/reservations", reserve)
    app.router.add_post("/api/v1/orders", checkout)
    app.router.add_post("/api/v1/webhooks/stripe", webhook)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--stripe-url", required=True)
    parser.add_argument("--offer", required=True)
    args = parser.parse_args()
    app = build(args.database_url, args.redis_url, args.stripe_url, args.offer)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
