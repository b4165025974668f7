"""Three pins and live coupons in a real browser (Debian's Chromium via Playwright, tests/web/coupons.mjs):
the host pins two products and announces a coupon from the studio; a viewer sees both in the watch
page's carousel, buys with the code and sees the discounted total."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.services import ServerProcess
from tests.web.test_browser import ROOT, missing, run_flow

COUPONS = ROOT / "tests" / "web" / "coupons.mjs"
pytestmark = pytest.mark.browser


async def test_two_pins_in_the_carousel_and_a_coupon_at_checkout_in_a_real_browser(
    shop: ServerProcess,
) -> None:
    assert missing() is None, missing()
    report = await asyncio.to_thread(run_flow, shop.url, script=COUPONS)
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=1)
    assert report["exit"] == 0
    assert len(report["checks"]) == 9
