"""Order actions that move money: the Toss confirm, and the host's refund and cancel."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from server.api.auth import Principal, require_host, require_user
from server.api.context import DB
from server.api.openapi import Router
from server.api.order_view import order_view
from server.api.validation import Body, json_response, parse_body, parse_model, path_id, read_json
from server.broadcasts import Broadcast
from server.errors import DomainError, NotFound
from server.inventory.models import SOLD_STATUSES, Offer, Order, Product
from server.payments.models import Payment
from server.payments.providers.base import ProviderRefused, ProviderUnavailable
from server.payments.state import PAYMENTS_STATE

router = Router()


class PaymentIn(Body):
    payment_key: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")


class ReasonIn(Body):
    reason: str = Field("", max_length=300)


def unavailable(exc: Exception) -> DomainError:
    err = DomainError("payment_unavailable", f"The payment provider did not answer; nothing changed ({exc})")
    err.headers["Retry-After"] = "2"
    return err


async def render(request: web.Request, order_id: str, *, secret: bool) -> web.Response:
    async with request.app[DB]() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        product = await session.get(Product, order.product_id)
    return json_response(order_view(order, product, secret=secret))


async def owned_order(request: web.Request, host: Principal) -> Order:
    """The order, if it sold in one of this host's broadcasts (another host's is not found)."""
    async with request.app[DB]() as session:
        row = (
            await session.execute(
                select(Order)
                .join(Offer, Offer.id == Order.offer_id)
                .join(Broadcast, Broadcast.id == Offer.broadcast_id)
                .where(Order.id == path_id(request), Broadcast.host_id == host.id)
            )
        ).scalar_one_or_none()
    if row is None:
        raise NotFound("order")
    return row


async def reason_of(request: web.Request) -> str:
    if not request.can_read_body:
        return ""
    return parse_model(ReasonIn, await read_json(request)).reason


@router.post(
    "/api/v1/orders/{id}/payment",
    body=PaymentIn,
    auth="user",
    tag="payments",
    summary="Toss Payments: confirm the paymentKey the buyer's widget returned",
    errors=("not_found", "not_payable", "payments_off", "payment_declined", "payment_unavailable"),
)
async def confirm_payment(request: web.Request) -> web.Response:
    buyer = require_user(request)
    body = await parse_body(request, PaymentIn)
    state = request.app[PAYMENTS_STATE]
    async with request.app[DB]() as session:
        order = await session.get(Order, path_id(request))
        if order is None or order.buyer_id != buyer.id:
            raise NotFound("order")
        known = (
            await session.execute(
                select(Payment.status).where(
                    Payment.provider == "toss", Payment.provider_ref == body.payment_key
                )
            )
        ).scalar_one_or_none()
    provider = state.provider
    if provider is None or provider.name != "toss":
        raise DomainError("payments_off", "This shop does not take Toss Payments")
    if known is None and order.status not in ("pending_payment", "canceled"):
        raise DomainError("not_payable", f"The order is {order.status}")
    if known is None:
        try:
            intent = await provider.confirm(body.payment_key, order.id, order.total)
        except ProviderUnavailable as exc:
            raise unavailable(exc) from exc
        except ProviderRefused as exc:
            raise DomainError("payment_declined", exc.message, provider_code=exc.code) from exc
        if intent.status != "succeeded":
            raise DomainError("payment_declined", f"The payment is {intent.status}")
        await state.ledger.succeeded("toss", intent, f"toss:{intent.ref}:done")
    return await render(request, order.id, secret=True)


@router.post(
    "/api/v1/orders/{id}/refund",
    auth="host",
    tag="payments",
    summary="Refund a whole order: the money back through the provider, the units back on the shelf",
    errors=("not_found", "not_refundable", "payment_unavailable", "validation_error"),
)
async def refund_order(request: web.Request) -> web.Response:
    host = require_host(request)
    order = await owned_order(request, host)
    reason = await reason_of(request)
    try:
        out = await request.app[PAYMENTS_STATE].ledger.refund_order(order.id, reason)
    except (ProviderUnavailable, ProviderRefused) as exc:
        raise unavailable(exc) from exc
    if out.outcome == "not_refundable":
        raise DomainError("not_refundable", f"The order is {order.status}; only paid orders are refunded")
    return await render(request, order.id, secret=False)


@router.post(
    "/api/v1/orders/{id}/cancel",
    auth="host",
    tag="payments",
    summary="Cancel an order: an unpaid one releases its units; a paid one is refunded",
    errors=("not_found", "not_refundable", "payment_unavailable", "validation_error"),
)
async def cancel_order(request: web.Request) -> web.Response:
    host = require_host(request)
    order = await owned_order(request, host)
    reason = await reason_of(request)
    state = request.app[PAYMENTS_STATE]
    if order.status in SOLD_STATUSES:
        final = "canceled" if order.status == "confirmed" else "refunded"
        try:
            await state.ledger.refund_order(order.id, reason or "canceled by the shop", final)
        except (ProviderUnavailable, ProviderRefused) as exc:
            raise unavailable(exc) from exc
    elif order.status == "pending_payment":
        try:
            await state.reconciler.cancel(order.id, reason or "Canceled by the shop.")
        except ProviderUnavailable as exc:
            raise unavailable(exc) from exc
    elif order.status not in ("canceled", "refunded"):
        raise DomainError("not_refundable", f"The order is {order.status}")
    return await render(request, order.id, secret=False)
