"""The claim path: reserve units of a flash offer (hot), look at a hold, give it back."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from server.api import attribution
from server.api.auth import require_user
from server.api.clients import client_network, is_trusted_client
from server.api.context import CLOCK, INVENTORY, SETTINGS
from server.api.errors import problem, problem_response
from server.api.openapi import Router
from server.api.seams import BUYER_GUARD
from server.api.validation import idempotency_key, json_response, parse_model, path_id, read_json
from server.clock import now_ms
from server.commerce.measure import SALE_MEASURE
from server.commerce.offers import OFFERS
from server.commerce.schemas import ReservationIn
from server.errors import Code, DomainError, LimitExceeded, NotFound
from server.inventory.engine import Claim
from server.inventory.keys import hold_offer_id
from server.inventory.models import Offer

router = Router()

_QUANTITY = ReservationIn.model_fields["quantity"].metadata
QUANTITY_MIN = next(m.ge for m in _QUANTITY if getattr(m, "ge", None) is not None)
QUANTITY_MAX = next(m.le for m in _QUANTITY if getattr(m, "le", None) is not None)

CLAIM_ERRORS = {
    "sold_out": "Sold out",
    "limit_exceeded": "You reached the per-buyer limit for this offer",
    "offer_ended": "This offer has ended",
    "idempotency_key_reused": "This Idempotency-Key was used with another request body",
}


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def hold_view(
    hold_id: str, offer_id: str, quantity: int, expires_ms: int, now: int, **extra: Any
) -> dict[str, Any]:
    return {
        "id": hold_id,
        "offer_id": offer_id,
        "quantity": quantity,
        "expires_at": _iso_ms(expires_ms),
        "expires_in_ms": max(expires_ms - now, 0),
        **extra,
    }


@router.post(
    "/api/v1/offers/{id}/reservations",
    body=ReservationIn,
    status=201,
    auth="user",
    idempotent=True,
    tag="buying",
    summary="Reserve units of a flash offer",
    errors=("not_found", "sold_out", "limit_exceeded", "offer_ended", "idempotency_key_reused", "banned"),
)
async def reserve(request: web.Request) -> web.Response:
    app = request.app
    buyer = require_user(request)
    quantity = await _quantity(request)
    key = idempotency_key(request)
    meta = await app[OFFERS].get(path_id(request))
    offer = meta.offer
    # Trusted load generators skip the network checks (and the digest that names their network).
    network = None if is_trusted_client(request) else client_network(request)
    # no header counts as direct, as the order would (comment-to-buy claims carry the join's source)
    came_from = attribution.from_header(request.headers.get(attribution.HEADER)).source
    claim = await claim_units(
        app,
        offer,
        buyer.id,
        quantity,
        key or "",
        network=network,
        verified=bool(buyer.verified),
        source=came_from,
    )
    if claim is None:  # fresh guest sessions from one network do not add up to more than its share
        detail = "Your network has claimed its share of this offer"
        return problem_response(DomainError("limit_exceeded", detail, remaining=0), request.path)
    if claim.code == "sold_out" and claim.remaining == 0:
        return _sold_out(request.path)
    if claim.code in ("ok", "replay"):
        headers = {"Idempotent-Replayed": "true"} if claim.code == "replay" else None
        return json_response(claim_view(app, offer, claim), status=201, headers=headers)
    # Returned rather than raised (the same problem+json the middleware would render): after a
    # sell-out nearly every claim ends here, and unwinding an exception through the middlewares
    # costs more than the answer itself.
    return problem_response(claim_error(claim), request.path)


async def claim_units(
    app: web.Application,
    offer: Offer,
    buyer_id: str,
    quantity: int,
    key: str,
    *,
    network: str | None = None,
    verified: bool = False,
    source: str | None = None,
) -> Claim | None:
    """The claim as every buying path makes it (the API, comment-to-buy): the ban check (the person and
    their network), verified-buyers-only offers, the per-buyer limit, the per-network share, one
    inventory call (and the report's count of the new hold, under `source` when the buyer said where
    they came from). Raises for the checks; None when the network's share is used up; else the
    inventory's answer as a Claim."""
    await app[BUYER_GUARD](offer.broadcast_id, buyer_id, network)
    if offer.verified_only and not verified:
        raise DomainError("verification_required", "Verify your email (POST /api/v1/auth/verify) to buy this")
    # With a key, Redis judges first whether the key was used for another body (the contract's order).
    if quantity > offer.per_buyer_limit and not key:
        raise LimitExceeded(
            f"At most {offer.per_buyer_limit} per buyer",
            field="quantity",
            remaining=offer.per_buyer_limit,
        )
    inventory = app[INVENTORY]
    shared = network if network is not None and not inventory.known_sold_out(offer.id) else None
    if shared is not None:
        cap = address_cap(offer, app[SETTINGS].claim_share_per_address)
        if not await inventory.take_share(offer.id, shared, quantity, cap):
            return None
    claim = await inventory.reserve(offer.id, buyer_id, quantity, key, str(quantity))
    if shared is not None and claim.code != "ok":
        await inventory.return_share(offer.id, shared, quantity)
    if claim.code == "ok":  # a new hold (a replay is not): the report's "viewers who reserved"
        await app[SALE_MEASURE].reserved(offer.broadcast_id, buyer_id, source)
    return claim


def claim_view(app: web.Application, offer: Offer, claim: Claim) -> dict[str, Any]:
    """An accepted claim's hold, as the 201 body shows it."""
    return hold_view(claim.hold_id, offer.id, claim.quantity, claim.expires_ms, now_ms(app[CLOCK]))


def claim_error(claim: Claim) -> DomainError:
    """A refused claim as the domain error every path reports."""
    error = DomainError(Code(claim.code), CLAIM_ERRORS[claim.code])
    if claim.code in ("sold_out", "limit_exceeded"):
        error.extra["remaining"] = claim.remaining
    return error


def address_cap(offer: Offer, share: float) -> int:
    """Units one network may claim of an offer: its share of the quantity, never below the per-buyer limit."""
    return max(offer.per_buyer_limit, math.floor(offer.quantity * share))


_SOLD_OUT_BODIES: dict[str, bytes] = {}


def _sold_out(path: str) -> web.Response:
    """After a sell-out nearly every claim gets this answer, the same bytes for every buyer of the
    offer: render them once per offer."""
    body = _SOLD_OUT_BODIES.get(path)
    if body is None:
        if len(_SOLD_OUT_BODIES) >= 4096:
            _SOLD_OUT_BODIES.clear()
        error = DomainError("sold_out", CLAIM_ERRORS["sold_out"], remaining=0)
        body = _SOLD_OUT_BODIES[path] = orjson.dumps(problem(error, path))
    return web.Response(body=body, status=409, content_type="application/problem+json")


async def _quantity(request: web.Request) -> int:
    """The body's quantity. The usual body, {"quantity": n} with a plain int in range, is checked by
    hand (the hot path); anything else goes through the pydantic model for its exact errors."""
    data = await read_json(request)
    if type(data) is dict and len(data) == 1:
        quantity = data.get("quantity")
        if type(quantity) is int and QUANTITY_MIN <= quantity <= QUANTITY_MAX:
            return quantity
    return parse_model(ReservationIn, data).quantity


def _hold_offer(hold_id: str) -> str:
    offer_id = hold_offer_id(hold_id)
    if offer_id is None:
        raise NotFound("reservation")
    return offer_id


@router.get(
    "/api/v1/reservations/{id}",
    auth="user",
    tag="buying",
    summary="One of my holds",
    errors=("not_found", "reservation_expired"),
)
async def get_reservation(request: web.Request) -> web.Response:
    buyer = require_user(request)
    hold_id = path_id(request)
    offer_id = _hold_offer(hold_id)
    hold = await request.app[INVENTORY].hold(hold_id)
    if hold is None:
        raise DomainError("reservation_expired", "This reservation expired, was released or checked out")
    owner, qty, exp, state = hold
    if owner != buyer.id:
        raise NotFound("reservation")
    return json_response(
        hold_view(
            hold_id,
            offer_id,
            qty,
            exp,
            now_ms(request.app[CLOCK]),
            status="checking_out" if state == "c" else "held",
        )
    )


@router.delete(
    "/api/v1/reservations/{id}",
    auth="user",
    status=204,
    tag="buying",
    summary="Give a hold back; its units return at once",
    errors=("not_found", "checkout_in_progress"),
)
async def release(request: web.Request) -> web.Response:
    buyer = require_user(request)
    hold_id = path_id(request)
    offer_id = _hold_offer(hold_id)
    code = await request.app[INVENTORY].release(hold_id, buyer.id)
    if code == "ok":
        meta = request.app[OFFERS].peek(offer_id) or await request.app[OFFERS].get(offer_id)
        await request.app[SALE_MEASURE].released(meta.offer.broadcast_id)
        return web.Response(status=204)
    if code == "checkout_in_progress":
        raise DomainError("checkout_in_progress")
    raise NotFound("reservation")
