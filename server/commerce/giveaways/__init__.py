"""Giveaways: a host gives one unit of a product to one viewer, drawn fairly and checkably."""

from __future__ import annotations

from aiohttp import web

from server.api.context import DB, REDIS
from server.commerce.giveaways import keyword, routes, service
from server.inventory.giveaways import EntryBook


def setup(app: web.Application) -> None:
    book = EntryBook(app[REDIS])
    book.set_loader(service.database_loader(app[DB]))
    app[service.ENTRY_BOOK] = book
    app[service.COUNTS] = service.CountAnnouncer(app)
    keyword.setup(app)
    routes.router.install(app)
