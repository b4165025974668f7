"""Live video: WHIP ingest and WHEP playback, encoded once and fanned out to every viewer."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Registers the WHIP/WHEP routes (built in the media issue)."""
