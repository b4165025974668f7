"""Typed seams: app.py wires every one, and a node built without one refuses to start."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from server.api import seams
from server.app import build_app
from server.config import Settings


def test_the_app_wires_every_seam(settings: Settings) -> None:
    app = build_app(settings, run_migrations=False, background=False)
    assert seams.missing(app) == []


@pytest.mark.parametrize("name", sorted(seams.SEAMS))
async def test_a_node_without_a_seam_fails_at_start_and_names_it(settings: Settings, name: str) -> None:
    app = build_app(settings, run_migrations=False, background=False)
    del app[seams.SEAMS[name]]
    server = TestServer(app, host="127.0.0.1")
    with pytest.raises(seams.MissingSeam, match=f"missing seams {name}"):
        await server.start_server()
    await server.close()
