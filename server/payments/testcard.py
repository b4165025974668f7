"""The test-card form's side on the node: on a payment sandbox, the buyer's page sends a test card here
and the node hands it to the sandbox's stand-in for Stripe.js / Toss's widget (same origin, so the
page needs no cross-origin call and a strict CSP holds). Never mounted against a real provider.

Also `GET /api/v1/payments/config`: what the buyer's page needs to pick its payment form.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import Field

from server.api.auth import require_user
from server.api.context import DB
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body, path_id
from server.errors import DomainError, NotFound
from server.inventory.models import Order
from server.payments.config import STRIPE_API, TOSS_API, PaymentSettings
from server.payments.state import PAYMENTS_STATE

log = logging.getLogger("liveshop.payments")
router = Router()
TIMEOUT_S = 10.0


def on_sandbox(config: PaymentSettings) -> bool:
    """A sandbox: the provider's URL is not the real API and its key is a test key."""
    if config.provider == "stripe":
        return config.stripe_base_url.rstrip(
            "/"
        ) != STRIPE_API and config.stripe_secret_key.get_secret_value().startswith("sk_test_")
    if config.provider == "toss":
        return config.toss_base_url.rstrip(
            "/"
        ) != TOSS_API and config.toss_secret_key.get_secret_value().startswith("test_")
    return False


def client_config(config: PaymentSettings) -> dict[str, Any]:
    return {
        "provider": config.provider,
        "test_mode": on_sandbox(config),
        "publishable_key": config.stripe_publishable_key or None if config.provider == "stripe" else None,
        "client_key": config.toss_client_key or None if config.provider == "toss" else None,
    }


class CardIn(Body):
    card_number: str = Field(min_length=12, max_length=23, pattern=r"^[0-9 ]+$")
    expiry: str = Field("", max_length=7)
    cvc: str = Field("", max_length=4, pattern=r"^[0-9]*$")


class ChallengeIn(Body):
    outcome: str = Field(pattern=r"^(approve|fail)$")


def _sandbox(request: web.Request) -> PaymentSettings:
    config = request.app[PAYMENTS_STATE].config
    if not on_sandbox(config):
        raise DomainError("not_found", "Test cards are taken only on a payment sandbox")
    return config


async def _buyers_order(request: web.Request) -> Order:
    who = require_user(request)
    async with request.app[DB]() as session:
        order = await session.get(Order, path_id(request))
    if order is None or order.buyer_id != who.id:
        raise NotFound("order")
    if order.status != "pending_payment" or not order.payment:
        raise DomainError("conflict", f"This order is {order.status}: nothing to pay")
    return order


async def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http,
            http.post(url, json=body) as reply,
        ):
            data = await reply.json(content_type=None)
            return reply.status, data if isinstance(data, dict) else {}
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("payment sandbox unreachable url=%s error=%r", url, exc)
        err = DomainError("payment_unavailable", "The payment sandbox did not answer; try again")
        err.headers["Retry-After"] = "2"
        raise err from exc


def _stripe_outcome(status: int, data: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's PaymentIntent (or card_error) as the page's states."""
    if status >= 500:
        raise DomainError("payment_unavailable", "The payment sandbox failed; try again")
    error = data.get("error")
    if error:
        pi = error.get("payment_intent") or {}
        return {
            "status": "declined",
            "code": error.get("decline_code") or error.get("code") or "card_declined",
            "message": error.get("message") or "Your card was declined.",
            "payment_intent": pi.get("id"),
        }
    pi_status = data.get("status")
    if pi_status == "requires_payment_method":
        last = data.get("last_payment_error") or {}
        return {"status": "declined", "code": last.get("code"), "message": last.get("message")}
    return {"status": pi_status, "payment_intent": data.get("id")}


@router.get(
    "/api/v1/payments/config", tag="payments", summary="How this shop takes money, for the buyer's page"
)
async def payments_config(request: web.Request) -> web.Response:
    return json_response(client_config(request.app[PAYMENTS_STATE].config))


@router.post(
    "/api/v1/orders/{id}/test-payment",
    body=CardIn,
    auth="user",
    tag="payments",
    summary="Sandbox only: pay the order with a test card (the test-card form's stand-in for the provider)",
    errors=("not_found", "conflict", "payment_unavailable"),
)
async def test_payment(request: web.Request) -> web.Response:
    config = _sandbox(request)
    body = await parse_body(request, CardIn)
    order = await _buyers_order(request)
    card = body.card_number.replace(" ", "")
    payment = order.payment or {}
    if config.provider == "stripe":
        status, data = await _post(
            config.stripe_base_url.rstrip("/") + "/_sandbox/pay",
            {"client_secret": payment.get("client_secret"), "card": card},
        )
        return json_response(_stripe_outcome(status, data))
    # Toss: the widget's stand-in issues a paymentKey; the page confirms it as after Toss's redirect
    status, data = await _post(
        config.toss_base_url.rstrip("/") + "/_sandbox/pay",
        {
            "orderId": order.id,
            "amount": order.total,
            "card": card,
            "orderName": payment.get("order_name", ""),
        },
    )
    if status >= 400 or not data.get("paymentKey"):
        raise DomainError("payment_unavailable", "The payment sandbox failed; try again")
    return json_response({"status": "authorized", "payment_key": data["paymentKey"]})


@router.post(
    "/api/v1/orders/{id}/test-payment/challenge",
    body=ChallengeIn,
    auth="user",
    tag="payments",
    summary="Sandbox only: pass or fail the 3-D Secure challenge of the order's payment",
    errors=("not_found", "conflict", "payment_unavailable"),
)
async def test_challenge(request: web.Request) -> web.Response:
    config = _sandbox(request)
    body = await parse_body(request, ChallengeIn)
    order = await _buyers_order(request)
    if config.provider != "stripe":
        raise DomainError("conflict", "Only card payments through Stripe have a 3-D Secure step here")
    pi = str((order.payment or {}).get("id") or "")
    status, data = await _post(
        config.stripe_base_url.rstrip("/") + f"/_sandbox/3ds/{pi}",
        {"result": "succeed" if body.outcome == "approve" else "fail"},
    )
    if status == 400 and not data.get("status"):
        raise DomainError("conflict", "No 3-D Secure step is pending for this payment")
    return json_response(_stripe_outcome(status, data))
