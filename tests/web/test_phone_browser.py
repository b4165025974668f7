"""The watch page on a phone in a real browser (tests/web/phone.mjs: Debian's Chromium at 390x844 with
touch): full-screen video, Buy and chat over it in view, the checkout sheet, landscape, the installable
app (manifest, icons, offline shell) and axe-core on the watch page and the console.

PHONE_SCREENSHOTS=<dir> keeps the pictures (scripts/screenshots.sh puts them in docs/screenshots).
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from tests.services import ServerProcess
from tests.web.test_browser import ROOT, missing, run_flow

PHONE = ROOT / "tests" / "web" / "phone.mjs"
pytestmark = pytest.mark.browser

EXPECTED = (
    "console: the sign-in page has no serious accessibility problem (axe-core)",
    "console: the broadcast list has no serious accessibility problem (axe-core)",
    "the host puts the camera on air",
    "console: the studio has no serious accessibility problem (axe-core)",
    "phone: the video plays and fills the screen (≥ 80 % of it, no scrolling)",
    "phone: both Buy buttons are in view over the video without scrolling",
    "phone: chat lines over the video are readable (size, shadow, contrast over a white frame)",
    "phone: the chat, the offers, the pinned card and the message box do not cover each other",
    "phone: the video starts muted; the unmute button and a tap on the picture turn sound on",
    "phone: the watch page has no serious accessibility problem (axe-core)",
    "phone: the checkout is a bottom sheet; the video stays in view above it",
    "phone: the checkout sheet has no serious accessibility problem (axe-core)",
    "phone: the order goes through from the sheet",
    "phone: the message box at the bottom sends a chat line",
    "landscape 844x390: the video fills the screen; Buy buttons and chat in view, apart",
    "landscape: no serious accessibility problem (axe-core)",
    "reduced motion: the live badge stops pulsing and the sheet does not slide",
    "the web app manifest is valid: name, standalone, this show as start, icons 192/512 and maskable",
    "the service worker registers and serves the shell offline, with an offline notice",
    "desktop: the video with the chat column beside it",
    "keyboard: every control is reached in reading order with a visible focus ring",
    "desktop: the watch page has no serious accessibility problem (axe-core)",
    "no script errors in the pages",
)


async def test_the_watch_page_on_a_phone_fills_the_screen_keeps_buy_in_reach_and_installs(
    shop: ServerProcess,
) -> None:
    assert missing() is None, missing()
    shots = os.environ.get("PHONE_SCREENSHOTS")
    extra = ("--screenshots", shots) if shots else ()
    report = await asyncio.to_thread(run_flow, shop.url, *extra, script=PHONE)
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=1)
    assert report["exit"] == 0
    assert [c["name"] for c in report["checks"]] == list(EXPECTED)
    assert report["info"]["order"].startswith("or_")
