"""The product catalog: public reads, host writes; stock edits are mirrored through the outbox."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.api.auth import require_host
from server.api.context import DB, INVENTORY
from server.api.models import DEFAULT_CURRENCY, Shop
from server.api.openapi import Router
from server.api.validation import json_response, parse_body, path_id
from server.commerce.schemas import ProductIn, ProductPatch
from server.commerce.views import product_view
from server.db.base import new_id
from server.errors import DomainError, NotFound
from server.events import STOCK_CHANGED, EventBus
from server.inventory.models import Product
from server.inventory.stock import offers_available

router = Router()


@router.post(
    "/api/v1/products",
    body=ProductIn,
    status=201,
    auth="host",
    tag="catalog",
    summary="Add a product",
    errors=("sku_exists",),
)
async def create_product(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, ProductIn)
    fields = body.model_dump()
    try:
        async with request.app[DB]() as session, session.begin():
            if fields["currency"] is None:  # the shop's default currency
                shop = await session.get(Shop, host.shop_id)
                fields["currency"] = shop.currency if shop is not None else DEFAULT_CURRENCY
            product = Product(id=new_id("pr"), shop_id=host.shop_id, **fields)
            session.add(product)
            await session.flush()
            EventBus.record(
                session, STOCK_CHANGED, product.sku, {"product_id": product.id, "sku": product.sku}
            )
    except IntegrityError as exc:
        raise DomainError("sku_exists", f"SKU {body.sku} already exists", field="sku") from exc
    return json_response(product_view(product), status=201)


@router.get("/api/v1/products", tag="catalog", summary="The catalog")
async def list_products(request: web.Request) -> web.Response:
    async with request.app[DB]() as session:
        products = (
            (await session.execute(select(Product).order_by(Product.created_at, Product.id))).scalars().all()
        )
        in_offers = await offers_available(session, request.app[INVENTORY])
    return json_response({"items": [product_view(p, in_offers.get(p.id, 0)) for p in products]})


@router.get(
    "/api/v1/products/{id}",
    tag="catalog",
    summary="One product with its sellable stock",
    errors=("not_found",),
)
async def get_product(request: web.Request) -> web.Response:
    async with request.app[DB]() as session:
        product = await session.get(Product, path_id(request))
        if product is None:
            raise NotFound("product")
        in_offers = await offers_available(session, request.app[INVENTORY], [product.id])
    return json_response(product_view(product, in_offers.get(product.id, 0)))


@router.patch(
    "/api/v1/products/{id}",
    body=ProductPatch,
    auth="host",
    tag="catalog",
    summary="Edit a product (not its SKU)",
    errors=("not_found",),
)
async def patch_product(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, ProductPatch)
    changes = body.model_dump(exclude_unset=True)
    for name in ("title", "price", "currency", "stock"):
        if name in changes and changes[name] is None:
            raise DomainError("validation_error", f"{name}: may not be null", field=name)
    async with request.app[DB]() as session, session.begin():
        product = await session.get(Product, path_id(request), with_for_update=True)
        if product is None or product.shop_id != host.shop_id:
            raise NotFound("product")
        for name, value in changes.items():
            setattr(product, name, value)
        if "stock" in changes:
            EventBus.record(
                session, STOCK_CHANGED, product.sku, {"product_id": product.id, "sku": product.sku}
            )
    async with request.app[DB]() as session:
        in_offers = await offers_available(session, request.app[INVENTORY], [product.id])
    return json_response(product_view(product, in_offers.get(product.id, 0)))
