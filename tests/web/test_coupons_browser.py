"""Three pins and live coupons in a real browser (Debian's Chromium via Playwright, tests/web/coupons.mjs):
the host pins two products and announces a coupon from the studio; a viewer sees both in the watch
page's carousel, buys with the code and sees the discounted total."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from tests.services import PostgresDatabase, RedisServer, ServerProcess, server_env
from tests.web.test_browser import ROOT, missing, run_flow

COUPONS = ROOT / "tests" / "web" / "coupons.mjs"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shop(shop_database: PostgresDatabase, redis_server: RedisServer) -> Iterator[ServerProcess]:
    node = ServerProcess(server_env(shop_database.url, redis_server.url), args=("--demo",))
    node.start()
    yield node
    node.stop()


async def test_two_pins_in_the_carousel_and_a_coupon_at_checkout_in_a_real_browser(
    shop: ServerProcess,
) -> None:
    assert missing() is None, missing()
    report = await asyncio.to_thread(run_flow, shop.url, script=COUPONS)
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=1)
    assert report["exit"] == 0
    assert len(report["checks"]) == 9
