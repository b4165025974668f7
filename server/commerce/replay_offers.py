"""Replay offers: the host keeps a product on sale from the replay after the show.

Every sale goes through an offer (units carved out of the shelf, claimed atomically in Redis, held,
checked out), so a replay sells the same way: the host opens a replay offer on the ended broadcast,
at the shelf price unless it names another (the show's offer price, to keep the deal open). The
replay page lists the broadcast's active offers (GET /api/v1/broadcasts/{id}) and buys through
`POST /api/v1/offers/{id}/reservations` and `POST /api/v1/orders`, as the watch page does; ending
it (`POST /api/v1/offers/{id}/end`, or its end time) returns the unsold units to the shelf.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from server.api.auth import require_host
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body, path_id
from server.commerce.offers import launch_offer
from server.commerce.schemas import MAX_PRICE, MAX_UNITS

router = Router()

WEEK_S = 7 * 24 * 3600


class ReplayOfferIn(Body):
    product_id: str = Field(min_length=1, max_length=60)
    quantity: int = Field(ge=1, le=MAX_UNITS, description="units taken off the shelf for the replay")
    per_buyer_limit: int = Field(1, ge=1, le=1000)
    price: int | None = Field(
        None, ge=0, le=MAX_PRICE, description="minor units; left out: the product's shelf price"
    )
    duration_s: int = Field(WEEK_S, ge=60, le=30 * 24 * 3600, description="how long it sells (a week)")
    verified_only: bool = Field(False, description="only buyers who verified an email address may claim")


@router.post(
    "/api/v1/broadcasts/{id}/replay-offers",
    body=ReplayOfferIn,
    status=201,
    auth="host",
    tag="offers",
    summary="Keep a product on sale from the replay of an ended broadcast (shelf price by default)",
    errors=("not_found", "insufficient_stock", "conflict", "validation_error"),
)
async def create_replay_offer(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, ReplayOfferIn)
    view = await launch_offer(
        request.app,
        host,
        path_id(request),
        product_id=body.product_id,
        price=body.price,
        quantity=body.quantity,
        per_buyer_limit=body.per_buyer_limit,
        verified_only=body.verified_only,
        duration_s=body.duration_s,
        after_end=True,
    )
    return json_response(view, status=201)
