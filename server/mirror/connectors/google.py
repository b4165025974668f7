"""Google Merchant API v1 (YouTube Shopping's product source): availability only, via productInputs
PATCH with an updateMask. A write happens only when availability flips."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from server.mirror.backoff import Rejected, Throttled
from server.mirror.connectors.base import Connector, StockItem, compact


class GoogleMerchant(Connector):
    name = "google"

    def project(self, quantity: int) -> int:
        return 1 if quantity > 0 else 0

    def product_url(self, sku: str) -> str:
        cfg = self.config
        name = quote(f"{cfg.google_content_language}~{cfg.google_feed_label}~{sku}", safe="~")
        base = cfg.google_base_url.rstrip("/")
        return f"{base}/products/v1/accounts/{cfg.google_merchant_id}/productInputs/{name}"

    async def push_stock(self, items: list[StockItem]) -> dict[str, int | Exception]:
        cfg = self.config
        out: dict[str, int | Exception] = {}
        for item in items:
            value = self.project(item.quantity)
            if item.last_value == value:
                out[item.sku] = value  # availability unchanged: nothing to send
                continue
            params = {
                "updateMask": "productAttributes.availability",
                "dataSource": f"accounts/{cfg.google_merchant_id}/dataSources/{cfg.google_data_source_id}",
            }
            body: dict[str, Any] = {
                "productAttributes": {"availability": "IN_STOCK" if value else "OUT_OF_STOCK"}
            }
            try:
                reply = await self.send(
                    "PATCH",
                    self.product_url(item.sku),
                    params=params,
                    body=compact(body),
                    headers={
                        "Authorization": f"Bearer {cfg.google_access_token.get_secret_value()}",
                        "Content-Type": "application/json",
                    },
                )
            except Throttled as exc:
                for rest in items[items.index(item) :]:
                    out.setdefault(rest.sku, exc)
                break
            except Exception as exc:
                out[item.sku] = exc
                continue
            if reply.status == 200:
                out[item.sku] = value
            else:
                error = (reply.body or {}).get("error", {}) if isinstance(reply.body, dict) else {}
                out[item.sku] = Rejected(
                    f"google: HTTP {reply.status} {error.get('status', '')} {error.get('message', '')}"
                )
        return out
