"""Shopify Admin GraphQL: inventorySetQuantities with compare-and-swap, orderCreate for liveshop sales,
and the calculated-cost throttle (THROTTLED + extensions.cost)."""

from __future__ import annotations

from typing import Any

from server.mirror.backoff import Rejected, Throttled
from server.mirror.connectors.base import Connector, StockItem, compact

LOOKUP = """query Lookup($q: String!, $loc: ID!) {
  productVariants(first: 100, query: $q) {
    nodes { id sku inventoryItem { id inventoryLevel(locationId: $loc) {
      quantities(names: ["available"]) { name quantity } } } }
  }
}"""

SET_QUANTITIES = """mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}"""

ORDER_CREATE = """mutation Record($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput)
  @idempotent(key: "%s") {
  orderCreate(order: $order, options: $options) {
    order { id name }
    userErrors { field message }
  }
}"""

STALE = {"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"}


class Shopify(Connector):
    name = "shopify"
    records_orders = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # sku -> (variant id, inventory item id, available quantity as last seen)
        self._items: dict[str, tuple[str, str, int | None]] = {}

    @property
    def location(self) -> str:
        loc = self.config.shopify_location_id
        return loc if loc.startswith("gid://") else f"gid://shopify/Location/{loc}"

    @property
    def has_change_from(self) -> bool:
        """changeFromQuantity exists from 2026-01 (and is required from 2026-04)."""
        return self.config.shopify_api_version >= "2026-01"

    async def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        reply = await self.send(
            "POST",
            self.config.shopify_graphql_url,
            body=compact({"query": query, "variables": variables}),
            headers={
                "X-Shopify-Access-Token": self.config.shopify_token.get_secret_value(),
                "Content-Type": "application/json",
            },
        )
        body = reply.body if isinstance(reply.body, dict) else {}
        cost = (body.get("extensions") or {}).get("cost") or {}
        errors = body.get("errors") or []
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors if isinstance(e, dict)):
            wait = _bucket_wait(cost)
            self.gate.pause(wait)
            raise Throttled("shopify: THROTTLED", wait)
        if reply.status != 200 or errors:
            raise Rejected(f"shopify: HTTP {reply.status} {str(errors or body)[:300]}")
        status = cost.get("throttleStatus") or {}
        if status and status.get("currentlyAvailable", 1e9) < cost.get("requestedQueryCost", 0) * 2:
            self.gate.pause(_bucket_wait(cost))  # slow down before the bucket runs dry
        return dict(body.get("data") or {})

    async def _lookup(self, skus: list[str], *, refresh: bool = False) -> None:
        missing = skus if refresh else [s for s in skus if s not in self._items]
        for start in range(0, len(missing), 50):
            chunk = missing[start : start + 50]
            q = " OR ".join(f'sku:"{s}"' for s in chunk)
            data = await self.graphql(LOOKUP, {"q": q, "loc": self.location})
            for node in (data.get("productVariants") or {}).get("nodes", []):
                item = node.get("inventoryItem") or {}
                level = item.get("inventoryLevel") or {}
                avail = next(
                    (x["quantity"] for x in level.get("quantities", []) if x["name"] == "available"), None
                )
                self._items[str(node["sku"])] = (str(node["id"]), str(item.get("id")), avail)

    def _quantities(self, items: list[StockItem]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            _, inventory_item, current = self._items[item.sku]
            entry: dict[str, Any] = {
                "inventoryItemId": inventory_item,
                "locationId": self.location,
                "quantity": item.quantity,
            }
            if self.has_change_from:
                entry["changeFromQuantity"] = current  # None (explicit null) when Shopify has no level
            else:
                entry["compareQuantity"] = current if current is not None else 0
            out.append(entry)
        return out

    async def push_stock(self, items: list[StockItem]) -> dict[str, int | Exception]:
        await self._lookup([i.sku for i in items])
        out: dict[str, int | Exception] = {}
        listed = []
        for item in items:
            if item.sku in self._items:
                listed.append(item)
            else:
                out[item.sku] = Rejected(f"shopify: no variant with sku {item.sku}")
        for attempt in range(2):
            if not listed:
                break
            input_: dict[str, Any] = {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": "liveshop://mirror/stock",
                "quantities": self._quantities(listed),
            }
            if not self.has_change_from and any(self._items[i.sku][2] is None for i in listed):
                input_["ignoreCompareQuantity"] = True
            data = await self.graphql(SET_QUANTITIES, {"input": input_})
            errors = (data.get("inventorySetQuantities") or {}).get("userErrors") or []
            if not errors:
                for item in listed:
                    variant, inv, _ = self._items[item.sku]
                    self._items[item.sku] = (variant, inv, item.quantity)
                    out[item.sku] = item.quantity
                break
            if attempt == 0 and any(e.get("code") in STALE for e in errors):
                # Someone changed Shopify's count since we last saw it (a Shopify sale): read it, set ours.
                await self._lookup([i.sku for i in listed], refresh=True)
                continue
            for item in listed:
                out[item.sku] = Rejected(f"shopify: {errors[0].get('code')} {errors[0].get('message')}")
            break
        return out

    async def record_order(self, order: dict[str, Any]) -> str:
        """The sale as a paid Shopify order so fulfilment runs there. Inventory is bypassed (the mirror
        sets Shopify's count absolutely); @idempotent makes a redelivery return the first order."""
        items = order.get("items") or []
        await self._lookup([str(i["sku"]) for i in items if i.get("sku")])
        lines = []
        for item in items:
            found = self._items.get(str(item.get("sku")))
            line: dict[str, Any] = {
                "quantity": int(item["quantity"]),
                "priceSet": {
                    "shopMoney": {"amount": _money(item["unit_price"]), "currencyCode": order["currency"]}
                },
            }
            if found:
                line["variantId"] = found[0]
            else:
                line["title"] = item.get("title") or item.get("sku")
            lines.append(line)
        buyer = order.get("buyer") or {}
        variables = {
            "order": {
                "lineItems": lines,
                "email": buyer.get("email"),
                "financialStatus": "PAID",
                "sourceName": "liveshop",
                "sourceIdentifier": f"liveshop:{order['id']}",
                "tags": ["liveshop"],
                "note": f"liveshop order {order['id']}",
            },
            "options": {"inventoryBehaviour": "BYPASS", "sendReceipt": False},
        }
        key = f"liveshop-order-{order['id']}"
        data = await self.graphql(ORDER_CREATE % key, variables)
        result = data.get("orderCreate") or {}
        if result.get("userErrors"):
            raise Rejected(f"shopify: orderCreate {result['userErrors'][0]}")
        return str((result.get("order") or {}).get("id"))


def _bucket_wait(cost: dict[str, Any]) -> float:
    """Seconds until the bucket holds this request's cost again."""
    status = cost.get("throttleStatus") or {}
    need = float(cost.get("requestedQueryCost") or 10)
    have = float(status.get("currentlyAvailable") or 0)
    rate = float(status.get("restoreRate") or 50) or 50.0
    return max((need - have) / rate, 0.05)


def _money(minor: int) -> str:
    return f"{int(minor) / 100:.2f}"
