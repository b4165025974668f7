"""Google Merchant API emulator: OAuth bearer, productInputs PATCH with updateMask and an API data
source, availability enum, 429 RESOURCE_EXHAUSTED over a per-second quota."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from server.mirror.sandbox.common import STATE, Bucket, SandboxState, add_admin, fault_middleware

TOKEN = "ya29.sandbox-google-token"
MERCHANT = "123456789"
DATA_SOURCE = "987654"
AVAILABILITY = {"IN_STOCK", "OUT_OF_STOCK", "PREORDER", "BACKORDER"}
BUCKET = web.AppKey("google_bucket", Bucket)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message, "status": code}}, status=status)


def _throttled(request: web.Request) -> web.Response:
    return _error(
        429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Product inputs write requests'"
    )


def _failed() -> web.Response:
    return _error(503, "UNAVAILABLE", "The service is currently unavailable.")


async def patch_input(request: web.Request) -> web.Response:
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    if request.match_info["account"] != MERCHANT:
        return _error(403, "PERMISSION_DENIED", "The caller does not have access to this account")
    if request.query.get("dataSource") != f"accounts/{MERCHANT}/dataSources/{DATA_SOURCE}":
        return _error(400, "INVALID_ARGUMENT", "dataSource must name an API data source of this account")
    if not request.app[BUCKET].take():
        request.app[STATE].answered["throttle"] += 1
        return _throttled(request)
    name = unquote(request.match_info["name"])
    parts = name.split("~", 2)
    if len(parts) != 3:
        return _error(400, "INVALID_ARGUMENT", "name must be contentLanguage~feedLabel~offerId")
    try:
        body: dict[str, Any] = json.loads(await request.read())
    except ValueError:
        return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
    mask = [m for m in request.query.get("updateMask", "").split(",") if m]
    attrs = body.get("productAttributes") or {}
    state = request.app[STATE]
    sku = parts[2]
    state.attempts[sku] += 1
    if "productAttributes.availability" in mask:
        value = attrs.get("availability")
        if value is None:
            state.stock.pop(sku, None)  # in the mask but not in the body: deleted
        elif value not in AVAILABILITY:
            return _error(
                400,
                "INVALID_ARGUMENT",
                f"Invalid value at 'product_input.product_attributes.availability' ({value})",
            )
        else:
            state.stock[sku] = value
    elif not mask and "availability" in attrs:
        state.stock[sku] = attrs["availability"]
    state.writes[sku] += 1
    return web.json_response(
        {
            "name": f"accounts/{MERCHANT}/productInputs/{name}",
            "offerId": sku,
            "contentLanguage": parts[0],
            "feedLabel": parts[1],
            "productAttributes": {"availability": state.stock.get(sku)},
        }
    )


def make_app(writes_per_s: float = 50.0, burst: float = 50.0) -> web.Application:
    app = web.Application(middlewares=[fault_middleware(_throttled, _failed)])
    app[STATE] = SandboxState("google")
    app[BUCKET] = Bucket(burst, writes_per_s)
    app.router.add_route("PATCH", "/products/v1/accounts/{account}/productInputs/{name}", patch_input)
    add_admin(app)
    return app


def env(url: str) -> dict[str, str]:
    return {
        "LIVESHOP_GOOGLE_ACCESS_TOKEN": TOKEN,
        "LIVESHOP_GOOGLE_MERCHANT_ID": MERCHANT,
        "LIVESHOP_GOOGLE_DATA_SOURCE_ID": DATA_SOURCE,
        "LIVESHOP_GOOGLE_BASE_URL": url,
    }
