"""Giveaways: a host gives one unit of a product to one viewer, drawn fairly and checkably."""

from __future__ import annotations

import functools

from aiohttp import web

from server.api.context import DB, EVENTS, REDIS
from server.commerce.giveaways import keyword, privacy, routes, service
from server.commerce.giveaways.writer import EntryWriter
from server.events import PERSON_ERASED, on_person_erased
from server.inventory.giveaways import EntryBook


def setup(app: web.Application) -> None:
    book = EntryBook(app[REDIS])
    book.set_loader(service.database_loader(app[DB]))
    app[service.ENTRY_BOOK] = book
    app[service.GIVEAWAYS] = service.GiveawayCache(app[DB])
    app[service.ENTRY_WRITER] = EntryWriter(app[DB], service.STATE_REFUSALS["closed"])
    app[service.COUNTS] = service.CountAnnouncer(app)
    keyword.setup(app)
    app[EVENTS].subscribe(PERSON_ERASED, on_person_erased(functools.partial(privacy.scrub_people, app[DB])))
    routes.router.install(app)
