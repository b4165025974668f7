"""Personal data: the shop's owner exports and erases a buyer; retention prunes addresses and chat;
neither buyers' details nor tokens reach the logs."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from server.api.auth import create_host
from server.api.context import DB
from server.api.models import Membership, User
from server.commerce.privacy import prune_order_addresses
from server.inventory.models import Order
from server.live.models import ChatMessage
from server.live.privacy import prune_chat
from server.live.room import LIVE_ROOM
from tests.api_client import Api
from tests.live.conftest import RoomClient


async def _owner_and_staff(app: web.Application, api: Api) -> tuple[str, str]:
    owner_email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    owner = await create_host(app[DB], owner_email, "host-password-1")
    async with app[DB]() as session:
        shop = (await session.get(Membership, owner.id)).shop_id  # type: ignore[union-attr]
    staff_email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    await create_host(app[DB], staff_email, "host-password-1", shop_id=shop)
    return await api.login(owner_email, "host-password-1"), await api.login(staff_email, "host-password-1")


async def _buy(api: Api, owner: str, viewer: str, email: str) -> dict:
    product = await api.product(owner, stock=5)
    broadcast = await api.broadcast(owner)
    offer = await api.offer(owner, broadcast["id"], product["id"], quantity=2)
    hold = await api.reserve(viewer, offer["id"], key=uuid.uuid4().hex)
    reply = await api.call(
        "POST",
        "/api/v1/orders",
        token=viewer,
        json={
            "reservation_id": hold.body["id"],
            "buyer": {"name": "Ada Kowalska", "email": email, "address": "ul. Prosta 1, Kraków"},
        },
    )
    assert reply.status == 201, reply.body
    return {"order": reply.body, "broadcast": broadcast}


async def test_the_owner_exports_then_erases_a_buyer_and_the_books_still_add_up(
    node: tuple[web.Application, TestServer], api: Api
) -> None:
    app, server = node
    owner, staff = await _owner_and_staff(app, api)
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    viewer = await api.guest("ada")
    sale = await _buy(api, owner, viewer, email)
    order = sale["order"]
    assert (
        await api.call("POST", f"/api/v1/broadcasts/{sale['broadcast']['id']}/start", token=owner)
    ).status == 200
    chatter = RoomClient(str(server.make_url("")).rstrip("/"), viewer)
    await chatter.connect()
    try:
        await chatter.join(sale["broadcast"]["id"])
        assert (await chatter.call("chat", {"text": "my phone is 555-0100"}))["ok"]
    finally:
        await chatter.close()
    await app[LIVE_ROOM].chat.flush_archive()

    assert (
        await api.call("POST", "/api/v1/privacy/export", token=staff, json={"email": email})
    ).status == 403
    exported = await api.call("POST", "/api/v1/privacy/export", token=owner, json={"email": email.upper()})
    assert exported.status == 200
    assert [o["order_id"] for o in exported.body["orders"]] == [order["id"]]
    assert exported.body["orders"][0]["buyer"]["address"] == "ul. Prosta 1, Kraków"
    assert len(exported.body["accounts"]) == 1

    erased = await api.call("POST", "/api/v1/privacy/erase", token=owner, json={"email": email})
    assert erased.status == 200 and erased.body == {"orders": 1, "accounts": 1}
    after = (await api.call("GET", f"/api/v1/orders/{order['id']}", token=owner)).body
    assert after["buyer"] == {"erased": True}
    assert (after["total"], after["items"][0]["quantity"]) == (order["total"], order["items"][0]["quantity"])
    again = await api.call("POST", "/api/v1/privacy/export", token=owner, json={"email": email})
    assert again.body["orders"] == [] and again.body["accounts"] == []
    user_id = exported.body["accounts"][0]["id"]
    async with app[DB]() as session:
        user = await session.get(User, user_id)
        texts = (await session.execute(select(ChatMessage.text).where(ChatMessage.user_id == user_id))).all()
    assert user is not None and user.nickname == "erased" and user.origin_network is None
    assert texts and all(t == ("",) for t in texts)


async def test_another_shops_owner_finds_nothing_to_export(
    node: tuple[web.Application, TestServer], api: Api
) -> None:
    app, _ = node
    owner, _ = await _owner_and_staff(app, api)
    stranger, _ = await _owner_and_staff(app, api)
    email = f"bo-{uuid.uuid4().hex[:6]}@example.com"
    await _buy(api, owner, await api.guest("bo"), email)
    seen = await api.call("POST", "/api/v1/privacy/export", token=stranger, json={"email": email})
    assert seen.status == 200 and seen.body["orders"] == []
    assert (await api.call("POST", "/api/v1/privacy/erase", token=stranger, json={"email": email})).body == {
        "orders": 0,
        "accounts": 0,
    }
    kept = await api.call("POST", "/api/v1/privacy/export", token=owner, json={"email": email})
    assert kept.body["orders"][0]["buyer"]["email"] == email


async def test_retention_prunes_old_addresses_and_chat(
    node: tuple[web.Application, TestServer], api: Api
) -> None:
    app, _ = node
    owner, _ = await _owner_and_staff(app, api)
    email = f"cy-{uuid.uuid4().hex[:6]}@example.com"
    old = (await _buy(api, owner, await api.guest("cy"), email))["order"]
    recent = (await _buy(api, owner, await api.guest("cy2"), email))["order"]
    long_ago = datetime.now(UTC) - timedelta(days=400)
    async with app[DB]() as session, session.begin():
        await session.execute(update(Order).where(Order.id == old["id"]).values(created_at=long_ago))
        session.add_all(
            [
                ChatMessage(
                    id=f"cm_old{uuid.uuid4().hex[:8]}",
                    broadcast_id="bc_x",
                    user_id="us_x",
                    nickname="x",
                    role="viewer",
                    text="old",
                    ts=int(long_ago.timestamp() * 1000),
                ),
                ChatMessage(
                    id=f"cm_new{uuid.uuid4().hex[:8]}",
                    broadcast_id="bc_x",
                    user_id="us_x",
                    nickname="x",
                    role="viewer",
                    text="new",
                    ts=int(datetime.now(UTC).timestamp() * 1000),
                ),
            ]
        )
    cutoff = datetime.now(UTC) - timedelta(days=365)
    assert await prune_order_addresses(app[DB], cutoff) >= 1
    pruned = (await api.call("GET", f"/api/v1/orders/{old['id']}", token=owner)).body["buyer"]
    assert pruned["address"] is None and pruned["email"] == email
    kept = (await api.call("GET", f"/api/v1/orders/{recent['id']}", token=owner)).body["buyer"]
    assert kept["address"] == "ul. Prosta 1, Kraków"
    await prune_chat(app[DB], cutoff)
    async with app[DB]() as session:
        left = (
            await session.execute(select(ChatMessage.text).where(ChatMessage.broadcast_id == "bc_x"))
        ).all()
    assert left == [("new",)]


async def test_no_buyer_details_or_tokens_in_the_logs(
    node: tuple[web.Application, TestServer], api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = node
    owner, _ = await _owner_and_staff(app, api)
    viewer = await api.guest("dee")
    email = f"dee-{uuid.uuid4().hex[:6]}@example.com"
    with caplog.at_level(logging.DEBUG):
        await _buy(api, owner, viewer, email)
        await api.call("GET", "/api/v1/auth/me", token=viewer + "x")
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (email, "Prosta", "Ada Kowalska", viewer, owner):
        assert secret not in text
