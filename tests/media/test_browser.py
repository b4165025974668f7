"""Headless Debian Chromium publishes a fake camera over WHIP and a second page plays it over WHEP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.web.test_browser import missing

pytestmark = [pytest.mark.media, pytest.mark.browser]

HERE = Path(__file__).parent
RUNNER = HERE / "browser" / "run.mjs"


@pytest.fixture
async def pages() -> Any:
    """The test pages on their own origin, so the WHIP/WHEP calls are cross-origin (CORS)."""
    app = web.Application()
    app.router.add_static("/", HERE / "pages")
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_chromium_publishes_over_whip_and_another_page_plays_advancing_frames_over_whep(
    node: tuple[web.Application, TestServer], base: str, broadcast: dict[str, Any], pages: str
) -> None:
    reason = missing()
    if reason:
        pytest.skip(reason)
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(RUNNER),
        pages,
        base,
        broadcast["id"],
        broadcast["stream_key"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=HERE / "browser",
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()[-2000:]
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert "error" not in result, result
    assert result["publisher"] == "connected"
    first, second = result["player"]["first"], result["player"]["second"]
    assert second["state"] == "connected"
    assert (second["width"], second["height"]) == (640, 360)
    assert second["frames"] - first["frames"] >= 20  # ~1.5 s of video kept advancing
    assert second["t"] > first["t"]
