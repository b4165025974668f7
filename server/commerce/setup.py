"""Wires commerce into an app: routes, the offer and auction caches, offer events, the sweeper."""

from __future__ import annotations

import functools

from aiohttp import web

from server.api.context import CLOCK, DB, EVENTS, REDIS, SETTINGS
from server.commerce import (
    auctions,
    audit,
    broadcasts,
    catalog,
    comment_buy,
    coupons,
    desk,
    giveaways,
    offers,
    orders,
    pins,
    privacy,
    replay_offers,
    report,
    reservations,
    shop,
    stats,
)
from server.commerce.measure import SALE_MEASURE, SaleMeasure
from server.commerce.sweeper import sweeper_context
from server.inventory.auctions import AuctionBook
from server.tasks import HOURLY_S, repeating


def setup(app: web.Application, *, sweeper: bool = True) -> None:
    app[offers.OFFERS] = offers.OfferCache(app[DB])
    offers.wire_offer_events(app)
    comment_buy.setup(app)
    giveaways.setup(app)
    coupons.setup(app)
    book = AuctionBook(app[REDIS], clock=app[CLOCK])
    book.set_loader(auctions.database_loader(app[DB]))
    app[auctions.AUCTION_BOOK] = book
    app[auctions.AUCTIONS] = auctions.AuctionCache(app[DB])
    auctions.wire_auction_events(app)
    app[SALE_MEASURE] = SaleMeasure(app[REDIS], app[CLOCK])
    app[SALE_MEASURE].watch(app[EVENTS])
    # reservations before offers: aiohttp tries the routes under /api/v1/offers in registration
    # order, and the claim route is the one a rush hits.
    for module in (
        catalog,
        broadcasts,
        pins,
        reservations,
        offers,
        replay_offers,
        orders,
        auctions,
        desk,
        audit,
        stats,
        report,
        privacy,
        shop,
    ):
        module.router.install(app)
    if sweeper:
        app.cleanup_ctx.append(sweeper_context)
        if (days := app[SETTINGS].retention_order_address_days) > 0:  # 0 keeps addresses
            step = functools.partial(privacy.prune_addresses_now, days=days)
            app.cleanup_ctx.append(repeating(step, HOURLY_S, what="address retention"))
