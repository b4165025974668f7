"""The shop's own settings: its default language (the pages', and the chat's extra buy words) and the
default currency of new products. Any host of the shop reads them; its owner changes them."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.api.auth import require_host
from server.api.context import DB
from server.api.models import DEFAULT_CURRENCY, DEFAULT_LANGUAGE, Shop
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body
from server.commerce.schemas import CURRENCY_PATTERN
from server.errors import DomainError, NotFound

router = Router()


class ShopPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    language: Literal["en", "ko", "pl"] | None = Field(None, description="the pages' default language")
    currency: str | None = Field(None, pattern=CURRENCY_PATTERN, description="ISO 4217, for new products")


def shop_view(shop: Shop) -> dict[str, Any]:
    return {
        "id": shop.id,
        "name": shop.name,
        "language": shop.language or DEFAULT_LANGUAGE,
        "currency": shop.currency or DEFAULT_CURRENCY,
    }


def shop_locale(shop: Shop | None) -> dict[str, str]:
    """What a page needs to speak the shop's language: embedded in the public broadcast view."""
    if shop is None:
        return {"language": DEFAULT_LANGUAGE, "currency": DEFAULT_CURRENCY}
    view = shop_view(shop)
    return {"language": view["language"], "currency": view["currency"]}


@router.get("/api/v1/shop", auth="host", tag="shop", summary="The host's shop and its defaults")
async def get_shop(request: web.Request) -> web.Response:
    host = require_host(request)
    async with request.app[DB]() as session:
        shop = await session.get(Shop, host.shop_id)
        if shop is None:
            raise NotFound("shop")
        return json_response(shop_view(shop))


@router.patch(
    "/api/v1/shop",
    body=ShopPatch,
    auth="host",
    tag="shop",
    summary="Change the shop's name, default language or default currency (its owner)",
    errors=("forbidden",),
)
async def patch_shop(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, ShopPatch)
    if host.shop_role != "owner":
        raise DomainError("forbidden", "Only the shop's owner changes its settings")
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise DomainError("validation_error", f"{name}: may not be null", field=name)
    async with request.app[DB]() as session, session.begin():
        shop = await session.get(Shop, host.shop_id, with_for_update=True)
        if shop is None:
            raise NotFound("shop")
        for name, value in changes.items():
            setattr(shop, name, value)
        view = shop_view(shop)
    return json_response(view)
