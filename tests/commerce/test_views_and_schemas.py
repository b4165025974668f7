"""How commerce objects look on the wire (server/commerce/views.py) and what its bodies accept
(server/commerce/schemas.py): bounded, strict, unknown fields refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from server.commerce.schemas import MAX_UNITS, OfferIn, OrderIn, ProductIn, ProductPatch
from server.commerce.views import offer_view, order_view, product_view
from server.inventory.engine import Counters
from server.inventory.models import Offer, Order, Product

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _offer(**overrides: Any) -> Offer:
    values: dict[str, Any] = {
        "id": "of_1",
        "broadcast_id": "br_1",
        "product_id": "pr_1",
        "price": 500,
        "currency": "USD",
        "quantity": 10,
        "per_buyer_limit": 2,
        "status": "active",
        "starts_at": NOW,
        "ends_at": NOW,
        "ended_at": None,
        "returned": None,
    }
    values.update(overrides)
    return Offer(**values)


def test_a_product_is_available_from_its_shelf_plus_its_live_offers() -> None:
    product = Product(id="pr_1", sku="S", title="T", description="", image_url=None, price=1, currency="USD")
    product.stock = 3
    view = product_view(product, in_offers_available=4)
    assert (view["stock"], view["available"]) == (3, 7)


def test_a_live_offer_shows_the_counters_it_is_given() -> None:
    view = offer_view(_offer(), Counters(6, 1, 3))
    assert (view["available"], view["held"], view["sold"]) == (6, 1, 3)
    assert view["ends_at"] == NOW.isoformat() and view["ended_at"] is None


def test_an_offer_without_counters_shows_its_whole_quantity_available() -> None:
    view = offer_view(_offer(), None)
    assert (view["available"], view["held"], view["sold"]) == (10, 0, 0)


def test_an_ended_offer_shows_what_it_sold_whatever_counters_say() -> None:
    ended = _offer(status="ended", returned=4, ended_at=NOW)
    for counters in (None, Counters(9, 9, 9)):
        view = offer_view(ended, counters)
        assert (view["available"], view["held"], view["sold"], view["status"]) == (0, 0, 6, "ended")


def test_an_order_lists_its_line_with_the_products_sku_and_title() -> None:
    order = Order(
        id="or_1",
        channel="liveshop",
        offer_id="of_1",
        reservation_id="of_1.ab",
        product_id="pr_1",
        buyer={"name": "Ada"},
        quantity=2,
        unit_price=500,
        total=1000,
        currency="USD",
        status="confirmed",
        created_at=NOW,
    )
    product = Product(id="pr_1", sku="SKU-1", title="Mug", price=500, currency="USD", stock=0)
    view = order_view(order, product)
    assert view["items"] == [
        {"product_id": "pr_1", "sku": "SKU-1", "title": "Mug", "quantity": 2, "unit_price": 500}
    ]
    assert order_view(order)["items"][0]["sku"] is None  # a product deleted since
    assert view["created_at"] == NOW.isoformat()


GOOD_PRODUCT = {"sku": "MUG-1", "title": "Mug", "price": 900, "currency": "USD", "stock": 5}


@pytest.mark.parametrize(
    "change",
    [
        {"sku": "-starts-with-dash"},
        {"sku": "has space"},
        {"currency": "usd"},
        {"price": -1},
        {"stock": MAX_UNITS + 1},
        {"price": "900"},  # strict: a string is not a number
        {"image_url": "javascript:alert(1)"},
        {"colour": "red"},  # unknown field
    ],
)
def test_a_product_body_out_of_bounds_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ProductIn.model_validate({**GOOD_PRODUCT, **change})


def test_a_product_body_accepts_a_local_or_http_image_and_strips_whitespace() -> None:
    assert ProductIn.model_validate({**GOOD_PRODUCT, "image_url": "/static/products/mug.png"}).image_url
    assert ProductIn.model_validate({**GOOD_PRODUCT, "image_url": "https://cdn.shop.test/m.png"}).image_url
    assert ProductIn.model_validate({**GOOD_PRODUCT, "title": "  Mug  "}).title == "Mug"
    with pytest.raises(ValidationError):
        ProductPatch.model_validate({"image_url": "ftp//nope"})


@pytest.mark.parametrize(
    "change", [{"quantity": 0}, {"duration_s": 4}, {"duration_s": 24 * 3600 + 1}, {"per_buyer_limit": 0}]
)
def test_an_offer_body_out_of_bounds_is_refused(change: dict[str, Any]) -> None:
    good = {"product_id": "pr_1", "price": 500, "quantity": 5, "duration_s": 60}
    assert OfferIn.model_validate(good).per_buyer_limit == 1
    with pytest.raises(ValidationError):
        OfferIn.model_validate({**good, **change})


def test_an_order_body_needs_a_deliverable_buyer() -> None:
    buyer = {"name": "Ada", "email": "ada@example.com", "address": "12 St"}
    assert OrderIn.model_validate({"reservation_id": "of_1.a", "buyer": buyer}).buyer.name == "Ada"
    for bad in ({**buyer, "email": "not-an-email"}, {**buyer, "address": ""}, {"name": "Ada"}):
        with pytest.raises(ValidationError):
            OrderIn.model_validate({"reservation_id": "of_1.a", "buyer": bad})
