"""Serves the host console and the watch page from web/."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Registers the web pages (built in the web console issue)."""
