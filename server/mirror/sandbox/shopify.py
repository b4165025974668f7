"""Shopify Admin GraphQL emulator: X-Shopify-Access-Token, a calculated-cost bucket answering THROTTLED
with extensions.cost, inventorySetQuantities with the 2026-04 compare-and-swap rules
(changeFromQuantity required, stale -> CHANGE_FROM_QUANTITY_STALE, nothing applied), orderCreate with
@idempotent, and signed orders/create webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from typing import Any

import aiohttp
from aiohttp import web

from server.mirror.sandbox.common import STATE, Bucket, SandboxState, add_admin, fault_middleware

TOKEN = "shpat_sandbox_token"
WEBHOOK_SECRET = "sandbox-shopify-webhook-secret"
LOCATION = "gid://shopify/Location/1001"
_ids = itertools.count(5_000_000_001)
BUCKET = web.AppKey("shopify_bucket", Bucket)
VARIANTS = web.AppKey("shopify_variants", dict)
IDEMPOTENT = web.AppKey("shopify_idempotent", dict)
COST = {"Lookup": 12, "Set": 10, "Record": 10}


def _cost_ext(bucket: Bucket, requested: int, actual: int | None = None) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": bucket.capacity,
                "currentlyAvailable": int(max(bucket.tokens, 0)),
                "restoreRate": bucket.rate,
            },
        }
    }


def _throttled(request: web.Request) -> web.Response:
    bucket = request.app[BUCKET]
    bucket.take(0)
    return web.json_response(
        {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": _cost_ext(bucket, 10),
        }
    )


def _failed() -> web.Response:
    return web.json_response({"errors": "Service Unavailable"}, status=503)


def _variant(app: web.Application, sku: str) -> dict[str, Any]:
    variants = app[VARIANTS]
    if sku not in variants:  # auto-listing, so the demo has listings
        n = next(_ids)
        variants[sku] = {
            "id": f"gid://shopify/ProductVariant/{n}",
            "sku": sku,
            "item": f"gid://shopify/InventoryItem/{n}",
        }
        app[STATE].stock.setdefault(sku, 0)
    return variants[sku]


async def graphql(request: web.Request) -> web.Response:
    if request.headers.get("X-Shopify-Access-Token") != TOKEN:
        return web.json_response(
            {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
            status=401,
        )
    version = request.match_info["version"]
    if not re.fullmatch(r"20\d\d-(01|04|07|10)", version):
        return web.json_response({"errors": "Not Found"}, status=404)
    try:
        body = await request.json()
        query, variables = body["query"], body.get("variables") or {}
    except (ValueError, KeyError, TypeError):
        return web.json_response({"errors": [{"message": "Bad request: query is required"}]}, status=400)
    op = re.search(r"\b(?:query|mutation)\s+(\w+)", query)
    name = op.group(1) if op else ""
    bucket = request.app[BUCKET]
    cost = COST.get(name, 10)
    if not bucket.take(cost):
        request.app[STATE].answered["throttle"] += 1
        return web.json_response(
            {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": _cost_ext(bucket, cost),
            }
        )
    if name == "Lookup":
        data = _lookup(request.app, variables)
    elif name == "Set":
        data = _set(request.app, variables, version)
    elif name == "Record":
        data = _order_create(request.app, query, variables, version)
    else:
        return web.json_response({"errors": [{"message": f"unsupported operation {name!r} in the sandbox"}]})
    if "errors" in data:
        return web.json_response({**data, "extensions": _cost_ext(bucket, cost)})
    return web.json_response({"data": data, "extensions": _cost_ext(bucket, cost, cost)})


def _lookup(app: web.Application, variables: dict[str, Any]) -> dict[str, Any]:
    skus = re.findall(r'sku:"([^"]+)"', str(variables.get("q", "")))
    if variables.get("loc") != LOCATION:
        return {"errors": [{"message": "Location not found"}]}
    nodes = []
    for sku in skus:
        v = _variant(app, sku)
        qty = app[STATE].stock.get(sku)
        nodes.append(
            {
                "id": v["id"],
                "sku": sku,
                "inventoryItem": {
                    "id": v["item"],
                    "inventoryLevel": {"quantities": [{"name": "available", "quantity": qty}]},
                },
            }
        )
    return {"productVariants": {"nodes": nodes}}


def _set(app: web.Application, variables: dict[str, Any], version: str) -> dict[str, Any]:
    data = variables.get("input") or {}
    state = app[STATE]
    by_item = {v["item"]: sku for sku, v in app[VARIANTS].items()}
    errors = []
    quantities = data.get("quantities") or []
    if data.get("name") not in ("available", "on_hand") or not data.get("reason") or not quantities:
        return {
            "errors": [{"message": "InventorySetQuantitiesInput: name, reason and quantities are required"}]
        }
    for i, q in enumerate(quantities):
        sku = by_item.get(q.get("inventoryItemId"))
        field = ["input", "quantities", str(i)]
        if sku is None or q.get("locationId") != LOCATION:
            errors.append({"code": "INVALID_INVENTORY_ITEM", "field": field, "message": "not found"})
            continue
        state.attempts[sku] += 1
        current = state.stock.get(sku)
        if version >= "2026-04":
            if "compareQuantity" in q or "ignoreCompareQuantity" in data:
                return {
                    "errors": [
                        {"message": "compareQuantity and ignoreCompareQuantity were removed in 2026-04"}
                    ]
                }
            if "changeFromQuantity" not in q:
                errors.append(
                    {
                        "code": "INVALID",
                        "field": [*field, "changeFromQuantity"],
                        "message": "changeFromQuantity is required",
                    }
                )
                continue
        expected = q.get("changeFromQuantity", q.get("compareQuantity"))
        check = "changeFromQuantity" in q or not data.get("ignoreCompareQuantity")
        if check and expected is not None and expected != current:
            errors.append(
                {
                    "code": "CHANGE_FROM_QUANTITY_STALE",
                    "field": [*field, "changeFromQuantity"],
                    "message": "The quantity has changed since you read it",
                }
            )
    if errors:  # nothing is applied when any quantity fails
        return {"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": errors}}
    for q in quantities:
        sku = by_item[q["inventoryItemId"]]
        state.stock[sku] = int(q["quantity"])
        state.writes[sku] += 1
    return {
        "inventorySetQuantities": {
            "inventoryAdjustmentGroup": {"id": f"gid://shopify/InventoryAdjustmentGroup/{next(_ids)}"},
            "userErrors": [],
        }
    }


def _order_create(
    app: web.Application, query: str, variables: dict[str, Any], version: str
) -> dict[str, Any]:
    key = re.search(r'@idempotent\(key:\s*"([^"]+)"\)', query)
    store = app[IDEMPOTENT]
    if key:
        app[STATE].attempts[f"idempotency-key:{key.group(1)}"] += 1
    if key and key.group(1) in store:
        return store[key.group(1)]  # a retry with the same key returns the original result
    order = variables.get("order") or {}
    lines = order.get("lineItems") or []
    if not lines or any(int(li.get("quantity", 0)) <= 0 for li in lines):
        return {
            "orderCreate": {
                "order": None,
                "userErrors": [{"field": ["order", "lineItems"], "message": "invalid"}],
            }
        }
    n = next(_ids)
    by_variant = {v["id"]: sku for sku, v in app[VARIANTS].items()}
    record = {
        "skus": [by_variant.get(li.get("variantId")) for li in lines],
        "id": f"gid://shopify/Order/{n}",
        "name": f"#{n % 100000}",
        "sourceIdentifier": order.get("sourceIdentifier"),
        "lineItems": lines,
        "inventoryBehaviour": (variables.get("options") or {}).get("inventoryBehaviour"),
    }
    app[STATE].orders[str(record["id"])] = record
    result = {"orderCreate": {"order": {"id": record["id"], "name": record["name"]}, "userErrors": []}}
    if key:
        store[key.group(1)] = result
    return result


def rest_order(order_id: int, items: dict[str, int], **extra: Any) -> dict[str, Any]:
    """A REST Order as orders/create delivers it."""
    return {
        "id": order_id,
        "name": f"#{order_id % 100000}",
        "email": "buyer@shopify.example",
        "currency": "USD",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "financial_status": "paid",
        "source_name": "web",
        "line_items": [
            {"id": order_id * 10 + i, "sku": sku, "quantity": qty, "price": "12.00", "title": sku}
            for i, (sku, qty) in enumerate(items.items())
        ],
        **extra,
    }


def signed_webhook(
    body: bytes, *, webhook_id: str | None = None, topic: str = "orders/create", secret: str = WEBHOOK_SECRET
) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "sandbox.myshopify.com",
        "X-Shopify-API-Version": "2026-04",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }


async def place_order(request: web.Request) -> web.Response:
    """Admin: a buyer orders on the Shopify store: {"items": {"SKU": qty}}. Shopify lowers its own stock
    and delivers a signed orders/create webhook to the configured address."""
    body = await request.json()
    state = request.app[STATE]
    order = rest_order(next(_ids), body["items"])
    for sku, qty in body["items"].items():
        _variant(request.app, sku)
        state.stock[sku] = int(state.stock.get(sku) or 0) - int(qty)
    state.orders[str(order["id"])] = order
    status = None
    if state.webhook_url:
        raw = json.dumps(order).encode()
        async with (
            aiohttp.ClientSession() as http,
            http.post(state.webhook_url, data=raw, headers=signed_webhook(raw)) as r,
        ):
            status = r.status
    return web.json_response({"order": order, "webhook_status": status})


def make_app(bucket_size: float = 1000.0, restore_rate: float = 100.0) -> web.Application:
    app = web.Application(middlewares=[fault_middleware(_throttled, _failed)])
    app[STATE] = SandboxState("shopify")
    app[BUCKET] = Bucket(bucket_size, restore_rate)
    app[VARIANTS] = {}
    app[IDEMPOTENT] = {}
    app.router.add_post("/admin/api/{version}/graphql.json", graphql)
    add_admin(app, {"/_sandbox/orders": place_order})
    return app


def env(url: str) -> dict[str, str]:
    return {
        "LIVESHOP_SHOPIFY_BASE_URL": url,
        "LIVESHOP_SHOPIFY_TOKEN": TOKEN,
        "LIVESHOP_SHOPIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LIVESHOP_SHOPIFY_LOCATION_ID": LOCATION,
        "LIVESHOP_SHOPIFY_SHOP": "sandbox",
    }
