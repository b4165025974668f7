"""Attribution in a real browser: a viewer from a TikTok link buys; the host's report page (and its CSV),
the studio's live dashboard and its after-show report show the order under TikTok (report.mjs, Debian's
Chromium driven by Playwright)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from tests.services import ServerProcess
from tests.web.test_browser import missing, run_flow

REPORT = Path(__file__).resolve().parent / "report.mjs"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("LIVESHOP_SKIP_BROWSER") == "1", reason="LIVESHOP_SKIP_BROWSER=1"),
]


async def test_a_viewer_from_a_tiktok_link_shows_up_under_tiktok_in_the_hosts_report(
    shop: ServerProcess,
) -> None:
    assert missing() is None, missing()
    report = await asyncio.to_thread(run_flow, shop.url, script=REPORT)
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(report, indent=1)
    assert report["exit"] == 0
    assert [c["name"] for c in report["checks"]] == [
        "a viewer from a TikTok link buys on the watch page",
        "the report's API counts the order, its revenue and its viewer under tiktok",
        "the host's report page shows the sale under TikTok, with a chart",
        "the CSV download carries the same tiktok row",
        "the studio's live dashboard shows the funnel and the tiktok sale",
        "after the end the studio shows the final report with the tiktok row",
        "no script errors in the pages",
    ]
