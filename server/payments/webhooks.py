"""`POST /api/v1/webhooks/stripe`: Stripe's signed PaymentIntent events move orders, exactly once."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from server.api.errors import with_status
from server.api.openapi import Router
from server.api.validation import decode_json, json_response
from server.errors import DomainError
from server.payments.ledger import Outcome
from server.payments.providers.stripe import intent_of
from server.payments.signing import stripe_verified
from server.payments.state import PAYMENTS_STATE

log = logging.getLogger("liveshop.payments")
router = Router()

PROGRESS = {
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.processing",
    "payment_intent.created",
}


class StripeEvent(BaseModel):
    """The part of a Stripe event liveshop reads (the rest is ignored)."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    data: dict


def bad_signature() -> DomainError:
    err = DomainError(
        "bad_signature", "Stripe-Signature does not sign this body (or is older than 5 minutes)"
    )
    return with_status(err, 400)  # the v1.1 contract answers a bad Stripe signature with 400


@router.post(
    "/api/v1/webhooks/stripe",
    tag="payments",
    summary="Stripe events (Stripe-Signature verified, 5 minutes tolerance): paid, declined, canceled",
    errors=("bad_signature", "invalid_json", "validation_error", "payment_mismatch"),
)
async def stripe_webhook(request: web.Request) -> web.Response:
    state = request.app[PAYMENTS_STATE]
    raw = await request.read()
    secret = state.config.stripe_webhook_secret.get_secret_value()
    if not stripe_verified(secret, raw, request.headers.get("Stripe-Signature")):
        log.warning("stripe webhook refused: bad signature")
        raise bad_signature()
    data = decode_json(raw)
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise DomainError("validation_error", "not a Stripe event", field="data")
    event = StripeEvent.model_validate(data)
    obj = event.data.get("object")
    if not event.type.startswith("payment_intent.") or not isinstance(obj, dict):
        return json_response({"received": True, "outcome": "ignored"})
    intent = intent_of(obj)
    event_id = f"stripe:{event.id}"
    ledger = state.ledger
    out: Outcome
    if event.type == "payment_intent.succeeded":
        out = await ledger.succeeded("stripe", intent, event_id)
    elif event.type == "payment_intent.canceled":
        out = await ledger.canceled("stripe", intent, intent.order_id or "", event_id)
    elif event.type in PROGRESS:
        out = await ledger.progressed("stripe", intent, event_id)
    else:
        return json_response({"received": True, "outcome": "ignored"})
    if out.outcome == "mismatch":
        raise DomainError("payment_mismatch", "The event's amount or currency does not match the order")
    return json_response({"received": True, "outcome": out.outcome})
