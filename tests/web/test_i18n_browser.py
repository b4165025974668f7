"""The console and the watch page in Korean, Polish and English in a real browser (i18n.mjs on Debian's
Chromium): the browser's locale picks the language, <html lang> follows, labels, money, plurals and
problem codes are in that language, and the switch changes it in place and for the next visit."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from tests.services import ServerProcess
from tests.web.test_browser import missing, run_flow

I18N = Path(__file__).resolve().parent / "i18n.mjs"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("LIVESHOP_SKIP_BROWSER") == "1", reason="LIVESHOP_SKIP_BROWSER=1"),
]


async def test_the_pages_speak_korean_polish_and_english_in_a_real_browser(shop: ServerProcess) -> None:
    assert missing() is None, missing()
    # LIVESHOP_SCREENSHOTS=1 refreshes docs/screenshots/{watch,console}-{ko,pl,en}.png
    extra = ("--screenshots", str(SCREENSHOTS)) if os.environ.get("LIVESHOP_SCREENSHOTS") == "1" else ()
    report = await asyncio.to_thread(run_flow, shop.url, *extra, script=I18N)
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=1)
    assert report["exit"] == 0
    names = {c["name"] for c in report["checks"]}
    for language in ("ko", "pl", "en"):
        assert any(n.startswith(f"console {language}:") for n in names), language
    assert "console: the switch re-renders the page in Polish, and the choice outlives a reload" in names
    assert "watch pl: the auction panel speaks pl (labels, starting bid, 0 bids)" in names
    assert "watch: the switch re-labels the auction panel in place (Polish to Korean)" in names
