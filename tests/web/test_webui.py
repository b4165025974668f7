"""The pages and modules are served as the browser needs them, and the dashboard's stats add up."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.api_client import Api
from tests.conftest import new_host


async def test_console_watch_page_modules_and_socketio_client_are_served(api: Api) -> None:
    for path in ("/console", "/console/broadcasts/bc_any", "/watch/bc_any"):
        r = await api.call("GET", path)
        assert r.status == 200 and "text/html" in r.headers["Content-Type"], path
        assert '<script type="module"' in r.body
    r = await api.call("GET", "/app/js/watch.js")
    assert r.status == 200 and "javascript" in r.headers["Content-Type"]
    r = await api.call("GET", "/app/vendor/socket.io.esm.min.js")
    assert r.status == 200 and "export" in r.body  # the ESM build from npm's socket.io-client
    r = await api.call("GET", "/app/vendor/../../server/config.py")
    assert r.status == 404
    r = await api.call("GET", "/app/vendor/evil.js")
    assert r.status == 404 and r.code == "not_found"


async def test_root_redirects_to_the_console(node: tuple[web.Application, TestServer], api: Api) -> None:
    async with api.http.get(api.base + "/", allow_redirects=False) as reply:
        assert reply.status == 302 and reply.headers["Location"] == "/console"


async def test_broadcast_stats_count_orders_buyers_units_and_revenue_for_its_host_only(
    node: tuple[web.Application, TestServer], api: Api, host: str
) -> None:
    product = await api.product(host, stock=50, price=2500)
    b = await api.broadcast(host)
    offer = await api.offer(host, b["id"], product["id"], 10, per_buyer_limit=3, price=1500)
    empty = await api.call("GET", f"/api/v1/broadcasts/{b['id']}/stats", token=host)
    assert empty.status == 200
    assert (empty.body["orders"], empty.body["buyers"], empty.body["units_sold"], empty.body["revenue"]) == (
        0,
        0,
        0,
        0,
    )
    ada, bob = await api.guest("ada"), await api.guest("bob")
    for token, quantity in ((ada, 2), (ada, 1), (bob, 1)):
        hold = await api.reserve(token, offer["id"], quantity)
        assert hold.status == 201, hold.body
        order = await api.checkout(token, hold.body["id"])
        assert order.status == 201, order.body
    await api.reserve(bob, offer["id"], 1)  # held, not sold: not counted
    stats = await api.call("GET", f"/api/v1/broadcasts/{b['id']}/stats", token=host)
    assert stats.status == 200
    body = stats.body
    assert (body["orders"], body["buyers"], body["units_sold"], body["revenue"]) == (3, 2, 4, 4 * 1500)
    assert body["currency"] == "USD" and len(body["latest_orders"]) == 3
    assert body["latest_orders"][0]["title"] == product["title"]

    assert (await api.call("GET", f"/api/v1/broadcasts/{b['id']}/stats")).status == 401
    assert (await api.call("GET", f"/api/v1/broadcasts/{b['id']}/stats", token=ada)).status == 403
    other = await new_host(node[0], api)
    # another shop's broadcast is not found, as if it did not exist
    assert (await api.call("GET", f"/api/v1/broadcasts/{b['id']}/stats", token=other)).code == "not_found"
    assert (await api.call("GET", "/api/v1/broadcasts/bc_missing/stats", token=host)).status == 404


async def test_the_web_app_manifest_opens_the_console_or_the_watch_page_it_was_added_from(api: Api) -> None:
    r = await api.call("GET", "/manifest.webmanifest")
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/manifest+json")
    body = r.body
    assert (body["start_url"], body["display"], body["scope"]) == ("/console", "standalone", "/")
    purposes = {(i["sizes"], i["purpose"]) for i in body["icons"]}
    assert {
        ("192x192", "any"),
        ("512x512", "any"),
        ("192x192", "maskable"),
        ("512x512", "maskable"),
    } <= purposes
    for icon in body["icons"]:
        png = await api.call("GET", icon["src"])
        assert png.status == 200 and png.headers["Content-Type"] == "image/png", icon
    watch = await api.call("GET", "/manifest.webmanifest?start=/watch/bc_abc123")
    watch_body = watch.body
    assert watch_body["start_url"] == watch_body["id"] == "/watch/bc_abc123"
    # anything else is not a start page of ours
    for start in ("https://evil.example/", "/watch/../console", "/api/v1/products", "//evil.example"):
        other = await api.call("GET", f"/manifest.webmanifest?start={quote(start, safe='')}")
        other_body = other.body
        assert other_body["start_url"] == "/console", start


async def test_the_service_worker_keeps_the_page_shell_and_never_the_api_or_media(api: Api) -> None:
    r = await api.call("GET", "/sw.js")
    assert r.status == 200 and "javascript" in r.headers["Content-Type"]
    assert r.headers["Cache-Control"] == "no-cache"
    text = str(r.body)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", text).group(1))  # type: ignore[union-attr]
    assert re.search(r'const VERSION = "[0-9a-f]{16}";', text)
    assert {"/app/watch.html", "/app/console.html", "/app/js/watch.js", "/app/css/app.css"} <= set(shell)
    assert {"/app/js/i18n.js", "/app/i18n/en.json", "/app/i18n/ko.json", "/app/i18n/pl.json"} <= set(shell)
    assert "/app/vendor/socket.io.esm.min.js" in shell and "/app/vendor/hls.min.mjs" in shell
    assert any(path.startswith("/app/i18n/") for path in shell)  # the page texts, offline too
    assert all(path.startswith("/app/") for path in shell)
    for path in shell:  # every file it keeps is there to keep
        assert (await api.call("GET", path)).status == 200, path
