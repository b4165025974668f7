"""Wires commerce into an app: routes, the offer cache, offer events, the sweeper."""

from __future__ import annotations

from aiohttp import web

from server.api.context import DB
from server.commerce import audit, broadcasts, catalog, comment_buy, offers, orders, reservations, stats
from server.commerce.sweeper import sweeper_context


def setup(app: web.Application, *, sweeper: bool = True) -> None:
    app[offers.OFFERS] = offers.OfferCache(app[DB])
    offers.wire_offer_events(app)
    comment_buy.setup(app)
    # reservations before offers: aiohttp tries the routes under /api/v1/offers in registration
    # order, and the claim route is the one a rush hits.
    for module in (catalog, broadcasts, reservations, offers, orders, audit, stats):
        module.router.install(app)
    if sweeper:
        app.cleanup_ctx.append(sweeper_context)
