"""Shops: a host acts only on its own shop's objects; another shop's are 404; staff share a shop."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer
from alembic import command

from server.api.auth import create_host
from server.api.context import DB
from server.api.models import Membership
from server.db.migrate import alembic_config
from tests.api_client import Api


async def _host_of(app: web.Application, api: Api, shop_id: str | None = None) -> tuple[str, str]:
    email = f"host-{uuid.uuid4().hex[:10]}@example.com"
    user = await create_host(app[DB], email, "host-password-1", shop_id=shop_id)
    async with app[DB]() as session:
        membership = await session.get(Membership, user.id)
    assert membership is not None
    return await api.login(email, "host-password-1"), membership.shop_id


async def test_another_shops_products_broadcasts_offers_and_orders_are_404(
    node: tuple[web.Application, TestServer], api: Api
) -> None:
    app, _ = node
    a, _shop_a = await _host_of(app, api)
    b, _shop_b = await _host_of(app, api)
    product = await api.product(a, stock=10)
    broadcast = await api.broadcast(a)
    offer = await api.offer(a, broadcast["id"], product["id"], quantity=2)
    viewer = await api.guest("buyer")
    hold = await api.reserve(viewer, offer["id"], key="t-1")
    order = (await api.checkout(viewer, hold.body["id"], key="t-o-1")).body
    own_broadcast = await api.broadcast(b)

    attempts = [
        ("PATCH", f"/api/v1/products/{product['id']}", {"title": "mine now"}),
        ("POST", f"/api/v1/broadcasts/{broadcast['id']}/start", None),
        ("POST", f"/api/v1/broadcasts/{broadcast['id']}/end", None),
        ("PUT", f"/api/v1/broadcasts/{broadcast['id']}/pin", {"product_id": product["id"]}),
        ("PUT", f"/api/v1/broadcasts/{own_broadcast['id']}/pin", {"product_id": product["id"]}),
        ("POST", f"/api/v1/broadcasts/{broadcast['id']}/offers", _offer_body(product["id"])),
        ("POST", f"/api/v1/broadcasts/{own_broadcast['id']}/offers", _offer_body(product["id"])),
        ("POST", f"/api/v1/offers/{offer['id']}/end", None),
        ("GET", f"/api/v1/orders/{order['id']}", None),
        ("GET", f"/api/v1/broadcasts/{broadcast['id']}/stats", None),
    ]
    for method, path, body in attempts:
        reply = await api.call(method, path, token=b, json=body)
        assert reply.status == 404, (method, path, reply.status, reply.body)
    mine = (await api.call("GET", "/api/v1/broadcasts", token=b)).body["items"]
    assert [x["id"] for x in mine] == [own_broadcast["id"]]
    audit = await api.call("GET", f"/api/v1/audit?offer_id={offer['id']}", token=b)
    assert audit.status == 404
    seen = await api.call("GET", f"/api/v1/broadcasts/{broadcast['id']}", token=b)
    assert "stream_key" not in seen.body
    # nothing changed for the owner
    assert (await api.call("GET", f"/api/v1/products/{product['id']}")).body["title"] == product["title"]
    assert (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body["status"] == "active"
    assert (await api.call("GET", f"/api/v1/orders/{order['id']}", token=a)).status == 200


async def test_staff_of_one_shop_share_its_catalog_and_orders(
    node: tuple[web.Application, TestServer], api: Api
) -> None:
    app, _ = node
    owner, shop = await _host_of(app, api)
    staff, same = await _host_of(app, api, shop_id=shop)
    assert same == shop
    product = await api.product(owner, stock=5)
    reply = await api.call("PATCH", f"/api/v1/products/{product['id']}", token=staff, json={"stock": 7})
    assert reply.status == 200 and reply.body["stock"] == 7
    broadcast = await api.broadcast(owner)
    offer = await api.offer(staff, broadcast["id"], product["id"], quantity=1)
    assert (await api.call("POST", f"/api/v1/offers/{offer['id']}/end", token=owner)).status == 200


def _offer_body(product_id: str) -> dict[str, int | str]:
    return {"product_id": product_id, "price": 100, "quantity": 1, "per_buyer_limit": 1, "duration_s": 60}


def test_migration_puts_existing_data_into_a_default_shop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    cfg = alembic_config(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    command.upgrade(cfg, "0001_core")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, role, email, nickname, created_at) VALUES "
                "('us_1', 'host', 'a@x.io', 'a', '2026-01-01'),"
                " ('us_2', 'host', 'b@x.io', 'b', '2026-01-02'),"
                "('us_3', 'viewer', NULL, 'v', '2026-01-03')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO products (id, sku, title, description, price, currency, stock, created_at,"
                " updated_at) VALUES ('pr_1', 'S1', 't', '', 1, 'USD', 1, '2026-01-01', '2026-01-01')"
            )
        )
    command.upgrade(cfg, "heads")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT shop_id FROM products")).scalar_one() == "sh_default"
        roles = dict(conn.execute(sa.text("SELECT user_id, role FROM memberships")).all())
        assert roles == {"us_1": "owner", "us_2": "host"}
    engine.dispose()
