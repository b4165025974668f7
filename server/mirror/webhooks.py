"""Inbound platform orders: TikTok Shop and Shopify webhooks, verified exactly as each platform
specifies; a replayed delivery is recognised and changes nothing."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.api.context import DB, EVENTS, INVENTORY, SETTINGS
from server.api.openapi import Router
from server.api.validation import decode_json, json_response, parse_model
from server.errors import DomainError
from server.mirror.backoff import PlatformError
from server.mirror.connectors.base import PlatformLine, PlatformOrder
from server.mirror.inbound import LineOutcome, take_order
from server.mirror.models import MirrorWebhook
from server.mirror.signing import same, shopify_webhook_hmac, tiktok_webhook_signature
from server.mirror.state import MIRROR

log = logging.getLogger("liveshop.mirror")
router = Router()


class ShopifyLine(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sku: str | None = Field(None, max_length=64)
    quantity: int = Field(gt=0, le=100_000, strict=True)
    price: str = "0"


class ShopifyOrder(BaseModel):
    """The fields of Shopify's REST Order this needs (the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")
    id: int | str
    currency: str = Field("USD", min_length=3, max_length=3)
    email: str | None = None
    source_name: str | None = None
    source_identifier: str | None = None
    line_items: list[ShopifyLine] = Field(max_length=500)


class TikTokData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    order_id: str = Field(min_length=1, max_length=64)
    order_status: str = ""


class TikTokEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: int
    tts_notification_id: str = Field(min_length=1, max_length=128)
    shop_id: str = ""
    timestamp: int = 0
    data: dict[str, Any]


async def _raw(request: web.Request) -> bytes:
    limit = request.app[SETTINGS].max_body_bytes * 4
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise DomainError("payload_too_large")
    return raw


async def _seen(request: web.Request, channel: str, delivery_id: str) -> bool:
    async with request.app[DB]() as session:
        found = (
            await session.execute(
                select(MirrorWebhook.id).where(
                    MirrorWebhook.channel == channel, MirrorWebhook.delivery_id == delivery_id
                )
            )
        ).first()
    return found is not None


async def _remember(request: web.Request, channel: str, delivery_id: str) -> None:
    try:
        async with request.app[DB]() as session, session.begin():
            session.add(MirrorWebhook(channel=channel, delivery_id=delivery_id))
    except IntegrityError:
        pass  # a concurrent delivery of the same webhook recorded it first


def _report(outcomes: list[LineOutcome], status: str = "processed") -> dict[str, Any]:
    return {"status": status, "lines": [o.__dict__ for o in outcomes]}


@router.post(
    "/api/v1/webhooks/shopify",
    tag="webhooks",
    summary="Shopify orders/create webhook",
    errors=("bad_signature", "invalid_json", "validation_error", "not_found"),
)
async def shopify_webhook(request: web.Request) -> web.Response:
    cfg = request.app[MIRROR].config
    if not cfg.shopify_webhook_secret:
        raise DomainError("not_found", "Shopify webhooks are not configured")
    raw = await _raw(request)
    given = request.headers.get("X-Shopify-Hmac-Sha256", "")
    if not given or not same(given, shopify_webhook_hmac(cfg.shopify_webhook_secret.get_secret_value(), raw)):
        raise DomainError("bad_signature", "X-Shopify-Hmac-Sha256 does not match the body")
    webhook_id = request.headers.get("X-Shopify-Webhook-Id", "").strip()
    topic = request.headers.get("X-Shopify-Topic", "")
    if not webhook_id or len(webhook_id) > 200:
        raise DomainError(
            "validation_error", "X-Shopify-Webhook-Id is required", field="X-Shopify-Webhook-Id"
        )
    if await _seen(request, "shopify", webhook_id):
        return json_response({"status": "replay"})
    if topic != "orders/create":
        return json_response({"status": "ignored", "topic": topic})
    body: ShopifyOrder = parse_model(ShopifyOrder, decode_json(raw))
    if body.source_name == "liveshop" or (body.source_identifier or "").startswith("liveshop:"):
        await _remember(request, "shopify", webhook_id)  # our own sale, recorded on Shopify by the mirror
        return json_response({"status": "ignored", "reason": "liveshop order"})
    lines = []
    for line in body.line_items:
        if line.sku:
            try:
                price = int(Decimal(line.price) * 100)
            except InvalidOperation as exc:
                raise DomainError(
                    "validation_error", "line_items.price: not a decimal", field="line_items.price"
                ) from exc
            lines.append(PlatformLine(line.sku, line.quantity, price, body.currency))
    order = PlatformOrder(
        "shopify", str(body.id), lines, {"name": "Shopify buyer", "email": body.email or ""}
    )
    outcomes = await take_order(request.app[DB], request.app[INVENTORY], order, events=request.app[EVENTS])
    await _remember(request, "shopify", webhook_id)
    return json_response(_report(outcomes))


@router.post(
    "/api/v1/webhooks/tiktok-shop",
    tag="webhooks",
    summary="TikTok Shop order status webhook",
    errors=("bad_signature", "invalid_json", "validation_error", "not_found", "service_unavailable"),
)
async def tiktok_webhook(request: web.Request) -> web.Response:
    mirror = request.app[MIRROR]
    cfg = mirror.config
    if not (cfg.tiktok_app_key and cfg.tiktok_app_secret):
        raise DomainError("not_found", "TikTok Shop webhooks are not configured")
    raw = await _raw(request)
    given = request.headers.get("Authorization", "")
    if not given or not same(
        given.lower(),
        tiktok_webhook_signature(cfg.tiktok_app_key, cfg.tiktok_app_secret.get_secret_value(), raw),
    ):
        raise DomainError("bad_signature", "Authorization does not match app_key + body")
    event: TikTokEvent = parse_model(TikTokEvent, decode_json(raw))
    if await _seen(request, "tiktok", event.tts_notification_id):
        return json_response({"status": "replay"})
    if event.type != 1:  # 1 = order status change; the others do not move stock here
        await _remember(request, "tiktok", event.tts_notification_id)
        return json_response({"status": "ignored", "type": event.type})
    data: TikTokData = parse_model(TikTokData, event.data)
    conn = mirror.connector("tiktok")
    if conn is None:
        raise DomainError("service_unavailable", "TikTok Shop API credentials are not configured")
    try:
        orders = await conn.fetch_orders([data.order_id])  # type: ignore[attr-defined]
    except PlatformError as exc:
        log.warning("tiktok order fetch failed order=%s error=%s", data.order_id, exc)
        err = DomainError("service_unavailable", "Could not fetch the order from TikTok Shop; retry")
        err.headers["Retry-After"] = "5"
        raise err from exc
    outcomes: list[LineOutcome] = []
    for order in orders:
        if not order.cancelled:
            outcomes += await take_order(
                request.app[DB], request.app[INVENTORY], order, events=request.app[EVENTS]
            )
    await _remember(request, "tiktok", event.tts_notification_id)
    return json_response(_report(outcomes))
