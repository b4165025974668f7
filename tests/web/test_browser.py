"""The console and the watch page in a real browser: Debian's Chromium driven by Playwright (flow.mjs).

A real node (`python -m server serve --demo`, PostgreSQL + Redis) serves the pages; flow.mjs plays a host
and two viewers (one on a phone-size screen) and prints what it checked as JSON. Checks that need the
live room or the video run against the node's real /live namespace and WHIP/WHEP endpoints.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import socketio

from server.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.services import PostgresDatabase, RedisServer, ServerProcess, server_env

ROOT = Path(__file__).resolve().parents[2]
FLOW = ROOT / "tests" / "web" / "flow.mjs"
EXPIRY = ROOT / "tests" / "web" / "expiry.mjs"
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = ROOT / "web" / "node_modules" / "playwright-core"


def missing() -> str | None:
    """What the browser tests need and this machine lacks (scripts/install-test-deps.sh provides it)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not CHROMIUM.exists():
        return "Debian chromium is not installed (apt-get install chromium)"
    if not PLAYWRIGHT.exists():
        return "web/node_modules is missing: run `npm ci` in web/"
    return None


# A missing browser fails the suite rather than hiding it; LIVESHOP_SKIP_BROWSER=1 opts out knowingly.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("LIVESHOP_SKIP_BROWSER") == "1", reason="LIVESHOP_SKIP_BROWSER=1"),
]


async def room_offered(base: str) -> bool:
    """Whether the node serves the socket.io namespace /live (the live room)."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/v1/auth/guest", json={"nickname": "probe"}) as reply:
            token = (await reply.json())["token"]
    client = socketio.AsyncClient()
    try:
        await asyncio.wait_for(
            client.connect(base, namespaces=["/live"], auth={"token": token}, transports=["websocket"]),
            10,
        )
        return True
    except (socketio.exceptions.ConnectionError, TimeoutError):
        return False
    finally:
        await client.disconnect()


async def media_offered(base: str) -> bool:
    """Whether the node has WHEP: its route answers GET with 405 (POST only) instead of 404."""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/whep/bc_probe") as reply:
        return reply.status != 404


def run_flow(base: str, *extra: str, script: Path = FLOW) -> dict:
    proc = subprocess.run(
        ["node", str(script), "--base", base, "--email", DEMO_EMAIL, "--password", DEMO_PASSWORD, *extra],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"{script.name} printed no report (exit {proc.returncode}):\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    report["exit"] = proc.returncode
    return report


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


async def test_host_goes_live_and_viewers_buy_until_sold_out_in_a_real_browser(shop: ServerProcess) -> None:
    assert missing() is None, missing()
    room, media = await room_offered(shop.url), await media_offered(shop.url)
    # this build ships the live room and WHIP/WHEP, so the chat and video checks must run for real
    assert room, "the node does not serve the socket.io namespace /live"
    assert media, "the node does not serve WHEP"
    report = await asyncio.to_thread(run_flow, shop.url)
    checks = by_name(report)
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert not failed, json.dumps(failed, indent=1)
    assert report["exit"] == 0
    expected = [
        "host signs in",
        "host creates a broadcast and opens its studio",
        "camera preview shows the fake camera",
        "host goes live",
        "host pins a product with one click",
        "host launches a flash offer (3 units, limit 2)",
        "viewer sees the live badge, the pinned card and the offer countdown",
        "viewer buys 2: reserve, checkout sheet with the hold countdown, order number",
        "host dashboard shows the sale (units and revenue)",
        "a second viewer (phone) sees the stock drop to 1 left",
        "phone layout: no sideways scroll; video, offer and pinned card visible",
        "viewer A hitting the per-buyer limit gets a clear message",
        "viewer B buys the last unit; every viewer sees the offer sold out",
        "host ends the broadcast and sees the summary; viewers see it ended",
        "no script errors in the pages",
    ]
    for name in expected:
        assert checks.get(name, {}).get("status") == "pass", (name, checks.get(name))
    assert report["info"]["order_a"].startswith("or_") and report["info"]["order_b"].startswith("or_")
    # the room and the video are asserted for real as soon as the server offers them
    for name in (
        "viewer chats under a nickname; the host sees it with text kept as text",
        "host deletes a message; it disappears for the viewer",
        "slow mode: the viewer is told clearly to wait",
    ):
        assert checks[name]["status"] == ("pass" if room else "skip"), checks[name]
    video = checks["viewer's video plays (WHEP)"]
    assert video["status"] == ("pass" if media else "skip"), video


@pytest.fixture(scope="module")
def short_holds(shop_database: PostgresDatabase, redis_server: RedisServer) -> Iterator[ServerProcess]:
    """A node whose holds last 10 s, so a browser can watch one run out."""
    env = server_env(
        shop_database.url, redis_server.url, LIVESHOP_HOLD_SECONDS="10", LIVESHOP_SWEEP_INTERVAL_S="0.5"
    )
    node = ServerProcess(env, args=("--demo",))
    node.start()
    yield node
    node.stop()


async def test_expired_holds_sold_out_and_limits_are_said_in_words_in_a_real_browser(
    short_holds: ServerProcess,
) -> None:
    assert missing() is None, missing()
    report = await asyncio.to_thread(run_flow, short_holds.url, script=EXPIRY)
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=1)
    assert report["exit"] == 0
    assert len(report["checks"]) == 5
