"""Meta Graph emulator: access_token + appsecret_proof, items_batch with quantity_to_sell_on_facebook,
calls-per-window limit answered with error 80014 and X-Business-Use-Case-Usage, commerce_orders and
acknowledge_order."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

from aiohttp import web

from server.mirror.sandbox.common import STATE, Bucket, SandboxState, add_admin, fault_middleware

ACCESS_TOKEN = "sandbox-meta-token"
APP_SECRET = "sandbox-meta-secret"
CATALOG = "100000000000001"
CMS = "200000000000002"
_ids = itertools.count(900_000_000_001)
BUCKET = web.AppKey("meta_bucket", Bucket)


def _usage(bucket: Bucket, wait_min: int = 0) -> str:
    used = int(100 * (1 - max(bucket.tokens, 0) / bucket.capacity)) if bucket.tokens >= 0 else 0
    return json.dumps(
        {
            CATALOG: [
                {
                    "type": "catalog_batch",
                    "call_count": used,
                    "total_cputime": 1,
                    "total_time": 1,
                    "estimated_time_to_regain_access": wait_min,
                }
            ]
        }
    )


def _error(
    code: int, message: str, status: int = 400, transient: bool = False, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {
            "error": {
                "message": message,
                "type": "OAuthException" if status in (401, 403) else "GraphMethodException",
                "code": code,
                "error_subcode": None,
                "is_transient": transient,
                "fbtrace_id": "sandbox",
            }
        },
        status=status,
        headers=headers,
    )


def _throttled(request: web.Request) -> web.Response:
    return _error(
        80014,
        "There have been too many calls for the batch uploads to this catalog account.",
        headers={"X-Business-Use-Case-Usage": _usage(request.app[BUCKET])},
    )


def _failed() -> web.Response:
    return _error(
        2, "An unexpected error has occurred. Please retry your request later.", status=500, transient=True
    )


async def _params(request: web.Request) -> dict[str, str]:
    params = dict(request.query)
    if request.method == "POST":
        params.update({k: str(v) for k, v in (await request.post()).items()})
    return params


def _auth(params: dict[str, str]) -> web.Response | None:
    if params.get("access_token") != ACCESS_TOKEN:
        return _error(190, "Invalid OAuth access token.", status=401)
    proof = hmac.new(APP_SECRET.encode(), ACCESS_TOKEN.encode(), hashlib.sha256).hexdigest()
    if params.get("appsecret_proof") != proof:
        return _error(100, "Invalid appsecret_proof provided in the API argument", status=400)
    return None


async def items_batch(request: web.Request) -> web.Response:
    params = await _params(request)
    if (denied := _auth(params)) is not None:
        return denied
    if request.match_info["catalog"] != CATALOG:
        return _error(100, "Unsupported post request. Object does not exist")
    bucket = request.app[BUCKET]
    if not bucket.take():
        request.app[STATE].answered["throttle"] += 1
        return _throttled(request)
    if params.get("item_type") != "PRODUCT_ITEM":
        return _error(100, "(#100) param item_type must be one of {PRODUCT_ITEM, ...}")
    try:
        requests = json.loads(params.get("requests", ""))
    except ValueError:
        return _error(100, "(#100) param requests must be a JSON array")
    if not isinstance(requests, list) or not requests or len(requests) > 5000:
        return _error(100, "(#100) requests must hold 1 to 5000 items")
    state = request.app[STATE]
    validation = []
    for r in requests:
        data = r.get("data") if isinstance(r, dict) else None
        if (
            not isinstance(data, dict)
            or r.get("method") not in ("CREATE", "UPDATE", "DELETE")
            or not data.get("id")
        ):
            return _error(100, "(#100) each request needs method and data.id")
        sku = str(data["id"])
        qty = data.get("quantity_to_sell_on_facebook")
        if "inventory" in data:
            validation.append(
                {
                    "retailer_id": sku,
                    "errors": [{"message": "inventory is deprecated: use quantity_to_sell_on_facebook"}],
                }
            )
            continue
        if not isinstance(qty, int) or qty < 0:
            validation.append(
                {
                    "retailer_id": sku,
                    "errors": [{"message": "quantity_to_sell_on_facebook must be a non-negative integer"}],
                }
            )
            continue
        state.attempts[sku] += 1
        state.stock[sku] = qty
        state.writes[sku] += 1
    return web.json_response(
        {"handles": [f"handle-{next(_ids)}"], "validation_status": validation},
        headers={"X-Business-Use-Case-Usage": _usage(bucket)},
    )


async def commerce_orders(request: web.Request) -> web.Response:
    params = await _params(request)
    if (denied := _auth(params)) is not None:
        return denied
    if request.match_info["cms"] != CMS:
        return _error(100, "Unsupported get request. Object does not exist")
    states = set(params.get("state", "CREATED").split(","))
    data = [o for o in request.app[STATE].orders.values() if o["order_status"]["state"] in states]
    return web.json_response({"data": data, "paging": {"cursors": {"before": "", "after": ""}}})


async def acknowledge(request: web.Request) -> web.Response:
    params = await _params(request)
    if (denied := _auth(params)) is not None:
        return denied
    order = request.app[STATE].orders.get(request.match_info["order"])
    if order is None:
        return _error(100, "Unsupported post request. Object does not exist")
    if not params.get("idempotency_key"):
        return _error(100, "(#100) idempotency_key is required")
    order["order_status"]["state"] = "IN_PROGRESS"
    order["merchant_order_id"] = params.get("merchant_order_reference")
    return web.json_response({"id": order["id"], "state": "IN_PROGRESS"})


async def place_order(request: web.Request) -> web.Response:
    """Admin: a buyer checks out on Facebook/Instagram: {"items": {"SKU": qty}}."""
    body = await request.json()
    state = request.app[STATE]
    order_id = str(next(_ids))
    items = [
        {
            "id": f"{order_id}{i}",
            "retailer_id": sku,
            "product_id": sku,
            "quantity": int(qty),
            "price_per_unit": {"amount": "12.00", "currency": "USD"},
        }
        for i, (sku, qty) in enumerate(body["items"].items())
    ]
    for sku, qty in body["items"].items():
        state.stock[sku] = max(int(state.stock.get(sku, 0)) - int(qty), 0)
    order = {
        "id": order_id,
        "order_status": {"state": "CREATED"},
        "created": int(time.time()),
        "last_updated": int(time.time()),
        "items": {"data": items},
        "buyer_details": {"name": "Meta Buyer", "email": "buyer@meta.example"},
        "channel": "facebook",
    }
    state.orders[order_id] = order
    return web.json_response({"order": order})


def make_app(calls_per_s: float = 20.0, burst: float = 20.0) -> web.Application:
    app = web.Application(middlewares=[fault_middleware(_throttled, _failed)])
    app[STATE] = SandboxState("meta")
    app[BUCKET] = Bucket(burst, calls_per_s)
    app.router.add_post("/{version}/{catalog}/items_batch", items_batch)
    app.router.add_get("/{version}/{cms}/commerce_orders", commerce_orders)
    app.router.add_post("/{version}/{order}/acknowledge_order", acknowledge)
    add_admin(app, {"/_sandbox/orders": place_order})
    return app


def env(url: str) -> dict[str, str]:
    return {
        "LIVESHOP_META_ACCESS_TOKEN": ACCESS_TOKEN,
        "LIVESHOP_META_APP_SECRET": APP_SECRET,
        "LIVESHOP_META_CATALOG_ID": CATALOG,
        "LIVESHOP_META_CMS_ID": CMS,
        "LIVESHOP_META_BASE_URL": url,
    }
