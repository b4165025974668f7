"""TikTok Shop emulator: checks app_key, timestamp, x-tts-access-token and the request sign (computed
here on its own from the documented algorithm), rate-limits with 429 + a non-zero code [GUESS], keeps
per-SKU inventory, stores orders and pushes signed ORDER_STATUS_CHANGE webhooks."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

import aiohttp
from aiohttp import web

from server.mirror.sandbox.common import STATE, Bucket, SandboxState, add_admin, fault_middleware

APP_KEY = "sandbox-tiktok-key"
APP_SECRET = "sandbox-tiktok-secret"
ACCESS_TOKEN = "sandbox-tiktok-token"
SHOP_CIPHER = "sandbox-cipher"
WAREHOUSE = "7000000000000000001"
_ids = itertools.count(7_300_000_000_000_000_001)
BUCKET = web.AppKey("tiktok_bucket", Bucket)
PRODUCTS = web.AppKey("tiktok_products", dict)


def _reply(code: int = 0, message: str = "Success", data: Any = None, status: int = 200) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "request_id": "sandbox", "data": data or {}}, status=status
    )


def _expected_sign(path: str, query: dict[str, str], body: bytes, method: str) -> str:
    keys = sorted(k for k in query if k not in ("sign", "access_token") and query[k] != "")
    s = path + "".join(k + query[k] for k in keys)
    if method != "GET":
        s += body.decode()
    s = APP_SECRET + s + APP_SECRET
    return hmac.new(APP_SECRET.encode(), s.encode(), hashlib.sha256).hexdigest()


@web.middleware
async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/_sandbox"):
        return await handler(request)
    q = dict(request.query)
    body = await request.read()
    if request.headers.get("x-tts-access-token") != ACCESS_TOKEN:
        return _reply(105002, "access token is invalid", status=401)
    if q.get("app_key") != APP_KEY:
        return _reply(106010, "app_key is invalid", status=401)
    if abs(int(q.get("timestamp", "0") or 0) - time.time()) > 300:
        return _reply(106002, "timestamp is expired", status=401)
    if q.get("sign") != _expected_sign(request.path, q, body, request.method):
        return _reply(106001, "signature invalid", status=401)
    if not request.path.startswith(("/authorization/", "/seller/")) and q.get("shop_cipher") != SHOP_CIPHER:
        return _reply(106011, "shop_cipher is invalid", status=401)
    if request.content_type != "application/json":
        return _reply(36009001, "Content-Type must be application/json", status=400)
    if not request.app[BUCKET].take():
        request.app[STATE].answered["throttle"] += 1
        return _throttled(request)
    return await handler(request)


def _throttled(request: web.Request) -> web.Response:
    return _reply(36009003, "Too many requests, rate limit exceeded", status=429)


def _failed() -> web.Response:
    return _reply(36009500, "Internal error, please retry", status=500)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    return json.loads(raw) if raw else {}


def _product_for(app: web.Application, seller_sku: str, create: bool) -> tuple[str, str] | None:
    products: dict[str, tuple[str, str]] = app[PRODUCTS]
    if seller_sku not in products and create:
        products[seller_sku] = (str(next(_ids)), str(next(_ids)))
        app[STATE].stock.setdefault(seller_sku, 0)
    return products.get(seller_sku)


async def search_products(request: web.Request) -> web.Response:
    body = await _body(request)
    skus = body.get("seller_skus") or []
    if not isinstance(skus, list) or len(skus) > 100:
        return _reply(36009001, "seller_skus must be a list of at most 100", status=400)
    found = []
    for sku in skus:
        ids = _product_for(request.app, str(sku), create=True)  # auto-listing, so the demo has listings
        if ids:
            found.append({"id": ids[0], "skus": [{"id": ids[1], "seller_sku": sku}]})
    return _reply(data={"products": found, "total_count": len(found), "next_page_token": ""})


async def update_inventory(request: web.Request) -> web.Response:
    product_id = request.match_info["product_id"]
    body = await _body(request)
    by_sku_id = {ids[1]: (sku, ids[0]) for sku, ids in request.app[PRODUCTS].items()}
    skus = body.get("skus")
    if not isinstance(skus, list) or not skus:
        return _reply(12052700, "skus is required", status=400)
    state = request.app[STATE]
    errors = []
    for entry in skus:
        inv = entry.get("inventory") if isinstance(entry, dict) else None
        found = by_sku_id.get(str(entry.get("id"))) if isinstance(entry, dict) else None
        if found is None or found[1] != product_id:
            errors.append(
                {"code": 12052048, "message": "sku not found", "detail": {"sku_id": entry.get("id")}}
            )
            continue
        if (
            not isinstance(inv, list)
            or not inv
            or not isinstance(inv[0].get("quantity"), int)
            or inv[0]["quantity"] < 0
        ):
            return _reply(12052701, "inventory[].quantity must be a non-negative integer", status=400)
        if inv[0].get("warehouse_id") not in (None, WAREHOUSE):
            return _reply(12052702, "warehouse not found", status=400)
        state.attempts[found[0]] += 1
        state.stock[found[0]] = inv[0]["quantity"]
        state.writes[found[0]] += 1
    return _reply(data={"errors": errors} if errors else {})


def _order_view(order: dict[str, Any]) -> dict[str, Any]:
    return order


async def get_orders(request: web.Request) -> web.Response:
    ids = [i for i in request.query.get("ids", "").split(",") if i]
    if not ids or len(ids) > 50:
        return _reply(36009001, "ids is required (at most 50)", status=400)
    orders = [request.app[STATE].orders[i] for i in ids if i in request.app[STATE].orders]
    return _reply(data={"orders": orders})


async def search_orders(request: web.Request) -> web.Response:
    body = await _body(request)
    since = int(body.get("update_time_ge") or 0)
    orders = [o for o in request.app[STATE].orders.values() if o["update_time"] >= since]
    return _reply(data={"orders": orders, "total_count": len(orders), "next_page_token": ""})


async def webhooks(request: web.Request) -> web.Response:
    body = await _body(request)
    if request.method == "PUT":
        request.app[STATE].webhook_url = str(body.get("address", ""))
    return _reply(data={"address": request.app[STATE].webhook_url, "event_type": "ORDER_STATUS_CHANGE"})


async def place_order(request: web.Request) -> web.Response:
    """Admin: a buyer orders on TikTok Shop. {"items": {"SKU": qty}, "notify": true}. TikTok lowers its
    own stock and (if a webhook address is set) pushes a signed ORDER_STATUS_CHANGE."""
    body = await request.json()
    state = request.app[STATE]
    order_id = str(body.get("id") or next(_ids))
    lines = []
    for sku, qty in body["items"].items():
        ids = _product_for(request.app, sku, create=True)
        assert ids is not None
        for n in range(int(qty)):  # one line item per unit, no quantity key
            lines.append(
                {
                    "id": f"{order_id}-{sku}-{n}",
                    "seller_sku": sku,
                    "sku_id": ids[1],
                    "product_id": ids[0],
                    "product_name": sku,
                    "sale_price": "12.00",
                    "original_price": "12.00",
                    "currency": "USD",
                }
            )
        state.stock[sku] = max(int(state.stock.get(sku, 0)) - int(qty), 0)
    now = int(time.time())
    order = {
        "id": order_id,
        "status": "AWAITING_SHIPMENT",
        "create_time": now,
        "update_time": now,
        "user_id": "buyer-1",
        "buyer_email": "buyer@tiktok.example",
        "line_items": lines,
    }
    state.orders[order_id] = order
    delivered = None
    if body.get("notify", True) and state.webhook_url:
        delivered = await notify(state.webhook_url, order)
    return web.json_response({"order": order, "webhook_status": delivered})


def event_for(order: dict[str, Any], notification_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "type": 1,
            "tts_notification_id": notification_id or f"n-{order['id']}-{order['update_time']}",
            "shop_id": "7000000001",
            "timestamp": int(time.time()),
            "data": {
                "order_id": order["id"],
                "order_status": order["status"],
                "is_on_hold_order": False,
                "update_time": order["update_time"],
            },
        }
    ).encode()


async def notify(url: str, order: dict[str, Any]) -> int:
    raw = event_for(order)
    sig = hmac.new(APP_SECRET.encode(), APP_KEY.encode() + raw, hashlib.sha256).hexdigest()
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=raw, headers={"Authorization": sig, "Content-Type": "application/json"}) as resp,
    ):
        return resp.status


def make_app(rate_per_s: float = 50.0, burst: float = 50.0) -> web.Application:
    app = web.Application(middlewares=[fault_middleware(_throttled, _failed), auth])
    app[STATE] = SandboxState("tiktok")
    app[BUCKET] = Bucket(burst, rate_per_s)
    app[PRODUCTS] = {}
    app.router.add_post("/product/202312/products/search", search_products)
    app.router.add_post("/product/202309/products/{product_id}/inventory/update", update_inventory)
    app.router.add_get("/order/202309/orders", get_orders)
    app.router.add_post("/order/202309/orders/search", search_orders)
    app.router.add_route("*", "/event/202309/webhooks", webhooks)
    add_admin(app, {"/_sandbox/orders": place_order})
    return app


def env(url: str) -> dict[str, str]:
    """The LIVESHOP_* settings that point liveshop at this sandbox."""
    return {
        "LIVESHOP_TIKTOK_APP_KEY": APP_KEY,
        "LIVESHOP_TIKTOK_APP_SECRET": APP_SECRET,
        "LIVESHOP_TIKTOK_ACCESS_TOKEN": ACCESS_TOKEN,
        "LIVESHOP_TIKTOK_SHOP_CIPHER": SHOP_CIPHER,
        "LIVESHOP_TIKTOK_WAREHOUSE_ID": WAREHOUSE,
        "LIVESHOP_TIKTOK_BASE_URL": url,
    }
