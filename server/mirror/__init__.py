"""Mirroring to the social platforms' commerce APIs: outbox delivery, connectors, inbound orders."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application, *, worker: bool = True) -> None:
    """Registers webhooks and the delivery worker (built in the mirror issue)."""
