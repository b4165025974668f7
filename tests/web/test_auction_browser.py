"""Auctions and comment-to-buy from the real pages (auction.mjs in Debian's Chromium via Playwright): the
studio starts, watches and stops an auction; two viewers bid from the watch page, the outbid one is
told, the winner checks out at the high bid; `buy 2` in the chat opens the checkout sheet."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from tests.services import ServerProcess
from tests.web.test_browser import ROOT, missing, run_flow

AUCTION = ROOT / "tests" / "web" / "auction.mjs"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("LIVESHOP_SKIP_BROWSER") == "1", reason="LIVESHOP_SKIP_BROWSER=1"),
]


async def test_bidding_and_comment_to_buy_from_the_watch_page_in_a_real_browser(shop: ServerProcess) -> None:
    assert missing() is None, missing()
    report = await asyncio.to_thread(run_flow, shop.url, script=AUCTION)
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(report["checks"], indent=1)
    assert report["exit"] == 0
    assert len(report["checks"]) == 9, report["checks"]
