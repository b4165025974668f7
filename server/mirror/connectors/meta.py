"""Meta catalog (items_batch with quantity_to_sell_on_facebook) and commerce orders (polled, then
acknowledged). Every call carries access_token and appsecret_proof."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from server.mirror.backoff import Rejected, Throttled, Transient
from server.mirror.connectors.base import Connector, PlatformLine, PlatformOrder, Reply, StockItem
from server.mirror.signing import meta_appsecret_proof

THROTTLE_CODES = {4, 17, 32, 613, 80014}
ORDER_FIELDS = (
    "id,order_status,created,last_updated,items{id,retailer_id,quantity,price_per_unit},buyer_details"
)


class MetaCatalog(Connector):
    name = "meta"
    polls_orders = True

    def url(self, node: str) -> str:
        return f"{self.config.meta_base_url.rstrip('/')}/{self.config.meta_api_version}/{node}"

    def auth(self) -> dict[str, str]:
        params = {"access_token": self.config.meta_access_token.get_secret_value()}
        if self.config.meta_app_secret:
            params["appsecret_proof"] = meta_appsecret_proof(
                self.config.meta_app_secret.get_secret_value(),
                self.config.meta_access_token.get_secret_value(),
            )
        return params

    def _check(self, reply: Reply) -> dict[str, Any]:
        body = reply.body if isinstance(reply.body, dict) else {}
        error = body.get("error")
        usage = _usage_wait(reply.headers.get("x-business-use-case-usage"))
        if usage:
            self.gate.pause(usage)
        if not error and reply.status < 400:
            return body
        error = error or {}
        code = error.get("code")
        message = f"meta: HTTP {reply.status} code {code} {error.get('message', '')}".strip()
        if code in THROTTLE_CODES:
            self.gate.pause(usage or 1.0)
            raise Throttled(message, usage or None)
        if error.get("is_transient"):
            raise Transient(message)
        raise Rejected(message)

    async def push_stock(self, items: list[StockItem]) -> dict[str, int | Exception]:
        """One items_batch for the whole claim: Meta limits calls per catalog, not items per call."""
        requests = [
            {"method": "UPDATE", "data": {"id": i.sku, "quantity_to_sell_on_facebook": i.quantity}}
            for i in items
        ]
        form = {**self.auth(), "item_type": "PRODUCT_ITEM", "requests": orjson.dumps(requests).decode()}
        body = self._check(
            await self.send("POST", self.url(f"{self.config.meta_catalog_id}/items_batch"), form=form)
        )
        failed = {
            str(v.get("retailer_id")): v["errors"][0].get("message", "invalid")
            for v in body.get("validation_status", [])
            if v.get("errors")
        }
        return {i.sku: Rejected(f"meta: {failed[i.sku]}") if i.sku in failed else i.quantity for i in items}

    async def poll_orders(self, since: int) -> list[PlatformOrder]:
        if not self.config.meta_cms_id:
            return []
        params = {**self.auth(), "state": "CREATED", "fields": ORDER_FIELDS}
        url = self.url(f"{self.config.meta_cms_id}/commerce_orders")
        found: list[PlatformOrder] = []
        for _ in range(20):
            body = self._check(await self.send("GET", url, params=params))
            found += [self.order(o) for o in body.get("data", [])]
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (body.get("paging") or {}).get("next"):
                break
            params["after"] = after
        return found

    async def acknowledge(self, order: PlatformOrder, reference: str) -> None:
        form = {
            **self.auth(),
            "merchant_order_reference": reference,
            "idempotency_key": f"ack-{order.external_id}",
        }
        self._check(await self.send("POST", self.url(f"{order.external_id}/acknowledge_order"), form=form))

    def order(self, raw: dict[str, Any]) -> PlatformOrder:
        lines = []
        for item in (raw.get("items") or {}).get("data", []):
            price = item.get("price_per_unit") or {}
            lines.append(
                PlatformLine(
                    str(item.get("retailer_id")),
                    int(item.get("quantity", 1)),
                    int(Decimal(str(price.get("amount", "0"))) * 100),
                    str(price.get("currency", "USD")),
                )
            )
        buyer = raw.get("buyer_details") or {}
        return PlatformOrder(
            "meta", str(raw["id"]), lines, {"name": buyer.get("name", ""), "email": buyer.get("email", "")}
        )


def _usage_wait(header: str | None) -> float:
    """X-Business-Use-Case-Usage: wait estimated_time_to_regain_access (minutes); slow down near 100%."""
    if not header:
        return 0.0
    try:
        usage = orjson.loads(header)
    except orjson.JSONDecodeError:
        return 0.0
    wait = 0.0
    for entries in usage.values() if isinstance(usage, dict) else []:
        for entry in entries if isinstance(entries, list) else []:
            minutes = float(entry.get("estimated_time_to_regain_access") or 0)
            busiest = max(float(entry.get(k) or 0) for k in ("call_count", "total_cputime", "total_time"))
            wait = max(wait, minutes * 60, 1.0 if busiest >= 95 else 0.0)
    return wait
