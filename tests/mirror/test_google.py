"""Google Merchant (server/mirror/connectors/google.py) against its sandbox: it only knows in or out
of stock, writes only when that flips, and a refused token is a clear per-SKU rejection."""

from __future__ import annotations

import aiohttp

from server.mirror.backoff import Rejected
from server.mirror.connectors.base import StockItem
from server.mirror.connectors.google import GoogleMerchant
from server.mirror.sandbox.common import STATE
from server.mirror.sandbox.run import Sandboxes
from tests.mirror.conftest import config_for, sku


async def test_availability_flips_are_written_and_unchanged_ones_are_not(
    calm: Sandboxes, http: aiohttp.ClientSession
) -> None:
    conn = GoogleMerchant(config_for(calm), http)
    box = calm.apps["google"][STATE]
    name = sku()
    assert conn.project(7) == 1 and conn.project(0) == 0 and conn.project(-2) == 0
    assert await conn.push_stock([StockItem(name, 7, None)]) == {name: 1}
    assert box.stock[name] == "IN_STOCK"
    calls = conn.calls
    assert await conn.push_stock([StockItem(name, 3, 1)]) == {name: 1}  # still in stock: nothing sent
    assert conn.calls == calls
    assert await conn.push_stock([StockItem(name, 0, 1)]) == {name: 0}
    assert box.stock[name] == "OUT_OF_STOCK" and conn.calls == calls + 1


async def test_a_sku_is_addressed_by_language_feed_label_and_sku(
    calm: Sandboxes, http: aiohttp.ClientSession
) -> None:
    conn = GoogleMerchant(config_for(calm), http)
    url = conn.product_url("MUG/1 2")
    cfg = conn.config
    name = f"{cfg.google_content_language}~{cfg.google_feed_label}~MUG%2F1%202"
    assert url.endswith(f"/accounts/{cfg.google_merchant_id}/productInputs/{name}")


async def test_an_expired_token_is_a_rejection_for_every_sku_and_changes_nothing(
    calm: Sandboxes, http: aiohttp.ClientSession
) -> None:
    conn = GoogleMerchant(config_for(calm, google_access_token="expired-token"), http)
    names = [sku(), sku()]
    out = await conn.push_stock([StockItem(n, 1, None) for n in names])
    assert all(isinstance(out[n], Rejected) and "UNAUTHENTICATED" in str(out[n]) for n in names)
    assert not any(n in calm.apps["google"][STATE].stock for n in names)
