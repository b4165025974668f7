"""The host's webhook endpoints (secrets shown once), their delivery log, and replay."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import Field, field_validator
from sqlalchemy import delete, func, select

from server.api.auth import require_host
from server.api.context import DB
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body, path_id
from server.db.base import new_id
from server.errors import DomainError, NotFound
from server.mirror.hooks.deliver import replay as replay_delivery
from server.mirror.hooks.events import EVENT_TYPES
from server.mirror.hooks.models import WebhookDelivery, WebhookEndpoint
from server.mirror.hooks.targets import private_target
from server.mirror.state import MIRROR

router = Router()
MAX_ENDPOINTS = 20  # per shop
STATUSES = ("pending", "done", "dead")


class EndpointIn(Body):
    url: str = Field(min_length=8, max_length=2000)
    events: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=len(EVENT_TYPES))
    description: str = Field("", max_length=200)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ValueError("must be an http(s) URL without credentials")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e != "*" and e not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)} or *")
        return sorted(set(value))


def secret_hint(secret: str) -> str:
    return f"whsec_…{secret[-4:]}"


def endpoint_view(ep: WebhookEndpoint, counts: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": ep.id,
        "url": ep.url,
        "description": ep.description,
        "events": ep.events,
        "secret_hint": secret_hint(ep.secret),
        "created_at": ep.created_at.isoformat(),
        "deliveries": {s: (counts or {}).get(s, 0) for s in STATUSES},
    }


def delivery_view(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "endpoint_id": d.endpoint_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "object_id": (d.payload.get("data") or {}).get("object", {}).get("id"),
        "status": d.status,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "next_attempt_at": d.next_attempt_at.isoformat() if d.status == "pending" else None,
        "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
        "created_at": d.created_at.isoformat(),
        "log": d.log or [],
    }


async def _own_endpoint(session: Any, shop_id: str | None, endpoint_id: str) -> WebhookEndpoint:
    """The endpoint, if it is this shop's (another shop's is not found)."""
    ep = await session.get(WebhookEndpoint, endpoint_id)
    if ep is None or ep.shop_id != shop_id:
        raise NotFound("webhook endpoint")
    return ep


@router.post(
    "/api/v1/webhook-endpoints",
    body=EndpointIn,
    status=201,
    auth="host",
    tag="webhooks",
    summary="Add an endpoint for the shop's own systems; the answer shows its signing secret, once",
    errors=("validation_error", "conflict"),
)
async def create_endpoint(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, EndpointIn)
    if private_target(body.url) and not request.app[MIRROR].config.webhook_allow_private:
        raise DomainError(
            "validation_error",
            "url: a loopback or private address (set LIVESHOP_WEBHOOK_ALLOW_PRIVATE=true to allow it)",
            field="url",
        )
    async with request.app[DB]() as session, session.begin():
        count = (
            await session.execute(select(func.count()).where(WebhookEndpoint.shop_id == host.shop_id))
        ).scalar_one()
        if count >= MAX_ENDPOINTS:
            raise DomainError("conflict", f"At most {MAX_ENDPOINTS} webhook endpoints per shop")
        ep = WebhookEndpoint(
            id=new_id("we"),
            shop_id=host.shop_id,
            host_id=host.id,
            url=body.url,
            description=body.description,
            events=body.events,
            secret="whsec_" + secrets.token_urlsafe(24),
        )
        session.add(ep)
        await session.flush()
        view = {**endpoint_view(ep), "secret": ep.secret}
    return json_response(view, status=201)


@router.get(
    "/api/v1/webhook-endpoints",
    auth="host",
    tag="webhooks",
    summary="The shop's webhook endpoints with delivery counts (secrets are never shown again)",
)
async def list_endpoints(request: web.Request) -> web.Response:
    host = require_host(request)
    async with request.app[DB]() as session:
        eps = (
            (
                await session.execute(
                    select(WebhookEndpoint)
                    .where(WebhookEndpoint.shop_id == host.shop_id)
                    .order_by(WebhookEndpoint.created_at)
                )
            )
            .scalars()
            .all()
        )
        counts: dict[str, dict[str, int]] = {}
        if eps:
            rows = await session.execute(
                select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
                .where(WebhookDelivery.endpoint_id.in_([e.id for e in eps]))
                .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)
            )
            for endpoint_id, status, n in rows.all():
                counts.setdefault(endpoint_id, {})[status] = int(n)
    return json_response({"items": [endpoint_view(e, counts.get(e.id)) for e in eps], "events": EVENT_TYPES})


@router.delete(
    "/api/v1/webhook-endpoints/{id}",
    status=204,
    auth="host",
    tag="webhooks",
    summary="Remove an endpoint; its pending deliveries are dropped",
    errors=("not_found",),
)
async def delete_endpoint(request: web.Request) -> web.Response:
    host = require_host(request)
    async with request.app[DB]() as session, session.begin():
        ep = await _own_endpoint(session, host.shop_id, path_id(request))
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id))
        await session.delete(ep)
    return web.Response(status=204)


@router.get(
    "/api/v1/webhook-endpoints/{id}/deliveries",
    auth="host",
    tag="webhooks",
    summary="The endpoint's delivery log, newest first (`?status=pending|done|dead`)",
    errors=("not_found", "validation_error"),
)
async def list_deliveries(request: web.Request) -> web.Response:
    host = require_host(request)
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise DomainError("validation_error", f"status: one of {', '.join(STATUSES)}", field="status")
    async with request.app[DB]() as session:
        ep = await _own_endpoint(session, host.shop_id, path_id(request))
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id)
        if status:
            query = query.where(WebhookDelivery.status == status)
        rows = (await session.execute(query.order_by(WebhookDelivery.id.desc()).limit(200))).scalars().all()
    return json_response({"items": [delivery_view(d) for d in rows]})


@router.post(
    "/api/v1/webhook-deliveries/{id}/replay",
    auth="host",
    tag="webhooks",
    summary="Send a failed (or delivered) event again now, with fresh attempts and the same event id",
    errors=("not_found", "conflict"),
)
async def replay(request: web.Request) -> web.Response:
    host = require_host(request)
    raw = path_id(request)
    if not raw.isdigit() or len(raw) > 12:
        raise NotFound("webhook delivery")
    async with request.app[DB]() as session, session.begin():
        d = await session.get(WebhookDelivery, int(raw), with_for_update=True)
        if d is None:
            raise NotFound("webhook delivery")
        await _own_endpoint(session, host.shop_id, d.endpoint_id)
        if d.status == "pending":
            raise DomainError("conflict", "This delivery is already on its way")
        await replay_delivery(session, d)
        await session.flush()
        view = delivery_view(d)
    return json_response(view)
