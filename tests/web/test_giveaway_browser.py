"""A giveaway in a real browser (Debian's Chromium via Playwright, tests/web/giveaway.mjs): the studio
starts, closes and draws; viewers enter from the watch page by button and by chat keyword and see the
frozen list's hash and the winner."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from tests.services import ServerProcess
from tests.web.test_browser import ROOT, missing, run_flow

GIVEAWAY = ROOT / "tests" / "web" / "giveaway.mjs"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("LIVESHOP_SKIP_BROWSER") == "1", reason="LIVESHOP_SKIP_BROWSER=1"),
]


async def test_viewers_enter_from_the_watch_page_and_see_the_hash_and_the_winner(shop: ServerProcess) -> None:
    assert missing() is None, missing()
    report = await asyncio.to_thread(run_flow, shop.url, script=GIVEAWAY)
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=1)
    assert report["exit"] == 0 and len(report["checks"]) == 10
