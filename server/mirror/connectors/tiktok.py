"""TikTok Shop Open API (202309): signed requests, inventory update, order detail and order search."""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from typing import Any

from server.mirror.backoff import Rejected, Throttled, Transient
from server.mirror.connectors.base import Connector, PlatformLine, PlatformOrder, Reply, StockItem, compact
from server.mirror.signing import tiktok_sign

# Paths that are not shop-scoped: no shop_cipher (as EcomPHP does).
_NO_CIPHER = ("/authorization/", "/seller/")
_CANCELLED = {"CANCELLED", "CANCEL"}


class TikTokShop(Connector):
    name = "tiktok"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._ids: dict[str, tuple[str, str]] = {}  # seller_sku -> (product_id, sku_id)

    def signed_request(
        self, method: str, path: str, query: dict[str, str] | None = None, body: Any = None
    ) -> tuple[str, dict[str, str], bytes, dict[str, str]]:
        """(url, query with sign, body bytes, headers): exactly what goes on the wire."""
        cfg = self.config
        params = {"app_key": cfg.tiktok_app_key, "timestamp": str(int(time.time()))}
        if cfg.tiktok_shop_cipher and not path.startswith(_NO_CIPHER):
            params["shop_cipher"] = cfg.tiktok_shop_cipher
        params.update({k: v for k, v in (query or {}).items() if v != ""})
        raw = compact(body) if body is not None else b""
        params["sign"] = tiktok_sign(
            cfg.tiktok_app_secret.get_secret_value(), path, params, raw, method=method
        )
        headers = {
            "x-tts-access-token": cfg.tiktok_access_token.get_secret_value(),
            "Content-Type": "application/json",
        }
        return cfg.tiktok_base_url.rstrip("/") + path, params, raw, headers

    async def call(
        self, method: str, path: str, query: dict[str, str] | None = None, body: Any = None
    ) -> Any:
        url, params, raw, headers = self.signed_request(method, path, query, body)
        reply = await self.send(method, url, params=params, body=raw or None, headers=headers)
        return self._data(reply)

    def _data(self, reply: Reply) -> Any:
        body = reply.body if isinstance(reply.body, dict) else {}
        code = body.get("code")
        if reply.status == 200 and code == 0:
            return body.get("data") or {}
        message = f"tiktok: HTTP {reply.status} code {code} {body.get('message', '')}".strip()
        if code is not None and str(code).startswith(("105", "360")):
            raise Rejected(message + " (token)")
        if code == 36009003 or "rate limit" in str(body.get("message", "")).lower():
            self.gate.pause(1.0)
            raise Throttled(message, 1.0)
        raise Rejected(message)

    async def _lookup(self, skus: list[str]) -> None:
        missing = [s for s in skus if s not in self._ids]
        if not missing:
            return
        data = await self.call(
            "POST", "/product/202312/products/search", {"page_size": "100"}, {"seller_skus": missing}
        )
        for product in data.get("products", []):
            for sku in product.get("skus", []):
                self._ids[str(sku.get("seller_sku"))] = (str(product["id"]), str(sku["id"]))

    async def push_stock(self, items: list[StockItem]) -> dict[str, int | Exception]:
        await self._lookup([i.sku for i in items])
        out: dict[str, int | Exception] = {}
        for item in items:
            ids = self._ids.get(item.sku)
            if ids is None:
                out[item.sku] = Rejected(f"tiktok: seller_sku {item.sku} is not listed on this shop")
                continue
            product_id, sku_id = ids
            inventory: dict[str, Any] = {"quantity": item.quantity}
            if self.config.tiktok_warehouse_id:
                inventory = {"warehouse_id": self.config.tiktok_warehouse_id, **inventory}
            body = {"skus": [{"id": sku_id, "inventory": [inventory]}]}
            try:
                data = await self.call(
                    "POST", f"/product/202309/products/{product_id}/inventory/update", body=body
                )
            except (Throttled, Transient, Rejected) as exc:
                out[item.sku] = exc
                if isinstance(exc, Throttled):  # the rest of this batch waits for the next turn
                    for rest in items[items.index(item) + 1 :]:
                        out.setdefault(rest.sku, exc)
                    break
                continue
            errors = data.get("errors") or []
            out[item.sku] = Transient(f"tiktok: partial failure {errors[0]}") if errors else item.quantity
        return out

    async def fetch_orders(self, order_ids: list[str]) -> list[PlatformOrder]:
        data = await self.call("GET", "/order/202309/orders", {"ids": ",".join(order_ids)})
        return [self.order(o) for o in data.get("orders", [])]

    async def poll_orders(self, since: int) -> list[PlatformOrder]:
        """Reconciliation: orders updated since `since`, in case a webhook was lost."""
        found: list[PlatformOrder] = []
        token = ""
        for _ in range(20):
            query = {"page_size": "50", "sort_field": "update_time", "sort_order": "ASC", "page_token": token}
            data = await self.call("POST", "/order/202309/orders/search", query, {"update_time_ge": since})
            found += [self.order(o) for o in data.get("orders", [])]
            token = data.get("next_page_token") or ""
            if not token:
                break
        return found

    def order(self, raw: dict[str, Any]) -> PlatformOrder:
        """Line items carry no quantity: each is one unit (grouped here by seller_sku)."""
        units: Counter[str] = Counter()
        prices: dict[str, tuple[int, str]] = {}
        for line in raw.get("line_items", []):
            sku = str(line.get("seller_sku") or "")
            units[sku] += int(line.get("quantity", 1))
            prices[sku] = (_minor(line.get("sale_price", "0")), str(line.get("currency", "USD")))
        lines = [PlatformLine(sku, q, *prices[sku]) for sku, q in units.items() if sku]
        return PlatformOrder(
            "tiktok",
            str(raw["id"]),
            lines,
            {
                "name": "TikTok Shop buyer",
                "email": raw.get("buyer_email", ""),
                "tiktok_user": raw.get("user_id"),
            },
            cancelled=str(raw.get("status", "")).upper() in _CANCELLED,
        )


def _minor(amount: Any) -> int:
    try:
        return int(Decimal(str(amount)) * 100)
    except ArithmeticError:
        return 0
