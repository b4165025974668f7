"""The shop's defaults (server/commerce/shop.py): its language and currency, read by its hosts and set by
its owner; new products take the shop's currency, and the public broadcast view carries its language."""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.auth import create_host
from server.api.context import DB
from tests.api_client import Api


async def test_a_new_shop_speaks_english_and_sells_in_dollars_until_its_owner_changes_it(
    host: str, api: Api
) -> None:
    r = await api.call("GET", "/api/v1/shop", token=host)
    assert r.status == 200, r.body
    assert r.body["language"] == "en" and r.body["currency"] == "USD" and r.body["id"].startswith("sh")
    r = await api.call("PATCH", "/api/v1/shop", token=host, json={"language": "pl", "currency": "PLN"})
    assert r.status == 200 and r.body["language"] == "pl" and r.body["currency"] == "PLN", r.body
    r = await api.call("GET", "/api/v1/shop", token=host)
    assert (r.body["language"], r.body["currency"]) == ("pl", "PLN")


async def test_bad_shop_settings_are_refused_with_the_field_named(host: str, api: Api) -> None:
    for body, name in (
        ({"language": "de"}, "language"),
        ({"currency": "zloty"}, "currency"),
        ({"currency": None}, "currency"),
        ({"language": "ko", "colour": "red"}, "colour"),
    ):
        r = await api.call("PATCH", "/api/v1/shop", token=host, json=body)
        assert r.status == 422 and r.body["code"] == "validation_error", (body, r.body)
        assert name in r.body.get("field", "") + r.body.get("detail", ""), (body, r.body)
    r = await api.call("GET", "/api/v1/shop", token=host)
    assert (r.body["language"], r.body["currency"]) == ("en", "USD")


async def test_only_the_owner_changes_the_shop_and_viewers_see_none_of_it(
    node: tuple[web.Application, TestServer], host: str, api: Api
) -> None:
    shop = (await api.call("GET", "/api/v1/shop", token=host)).body
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    await create_host(node[0][DB], email, "staff-password-1", shop_id=shop["id"])
    staff = await api.login(email, "staff-password-1")
    r = await api.call("GET", "/api/v1/shop", token=staff)
    assert r.status == 200 and r.body["id"] == shop["id"], r.body
    r = await api.call("PATCH", "/api/v1/shop", token=staff, json={"language": "ko"})
    assert r.status == 403 and r.body["code"] == "forbidden", r.body
    viewer = await api.guest("nosy")
    r = await api.call("GET", "/api/v1/shop", token=viewer)
    assert r.status == 403, r.body
    r = await api.call("PATCH", "/api/v1/shop", json={"language": "ko"})
    assert r.status == 401, r.body


async def test_a_new_product_takes_the_shops_currency_unless_it_names_one(host: str, api: Api) -> None:
    r = await api.call("PATCH", "/api/v1/shop", token=host, json={"currency": "KRW"})
    assert r.status == 200, r.body
    sku = "SKU-" + uuid.uuid4().hex[:10].upper()
    r = await api.call(
        "POST", "/api/v1/products", token=host, json={"sku": sku, "title": "Tea", "price": 12000, "stock": 3}
    )
    assert r.status == 201 and r.body["currency"] == "KRW", r.body
    r = await api.call(
        "POST",
        "/api/v1/products",
        token=host,
        json={"sku": sku + "-2", "title": "Tea", "price": 1200, "currency": "EUR", "stock": 3},
    )
    assert r.status == 201 and r.body["currency"] == "EUR", r.body


async def test_the_public_broadcast_view_carries_the_shops_language(host: str, api: Api) -> None:
    b = await api.broadcast(host)
    r = await api.call("GET", f"/api/v1/broadcasts/{b['id']}")
    assert r.body["shop"] == {"language": "en", "currency": "USD"}, r.body
    await api.call("PATCH", "/api/v1/shop", token=host, json={"language": "ko", "currency": "KRW"})
    r = await api.call("GET", f"/api/v1/broadcasts/{b['id']}")
    assert r.body["shop"] == {"language": "ko", "currency": "KRW"}, r.body
