"""Wires commerce into an app: routes, the offer and auction caches, offer events, the sweeper."""

from __future__ import annotations

from aiohttp import web

from server.api.context import CLOCK, DB, REDIS, SETTINGS
from server.commerce import (
    auctions,
    audit,
    broadcasts,
    catalog,
    comment_buy,
    desk,
    giveaways,
    offers,
    orders,
    privacy,
    reservations,
    stats,
)
from server.commerce.sweeper import sweeper_context
from server.inventory.auctions import AuctionBook


def setup(app: web.Application, *, sweeper: bool = True) -> None:
    app[offers.OFFERS] = offers.OfferCache(app[DB])
    offers.wire_offer_events(app)
    comment_buy.setup(app)
    giveaways.setup(app)
    book = AuctionBook(app[REDIS], clock=app[CLOCK])
    book.set_loader(auctions.database_loader(app[DB]))
    app[auctions.AUCTION_BOOK] = book
    app[auctions.AUCTIONS] = auctions.AuctionCache(app[DB])
    # reservations before offers: aiohttp tries the routes under /api/v1/offers in registration
    # order, and the claim route is the one a rush hits.
    for module in (catalog, broadcasts, reservations, offers, orders, auctions, desk, audit, stats, privacy):
        module.router.install(app)
    if sweeper:
        app.cleanup_ctx.append(sweeper_context)
        app.cleanup_ctx.append(privacy.retention_context(app[SETTINGS].retention_order_address_days))
