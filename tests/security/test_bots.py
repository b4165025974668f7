"""Bots at a flash sale: a script minting guests from one network holds at most its share, while a crowd
from many networks each gets its unit; a ban holds the person, not one token."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import aiohttp
import pytest
from aiohttp import web

from server.api.proof import solve
from tests.api_client import Api, Reply
from tests.conftest import make_settings, new_host, start_app
from tests.live.conftest import RoomClient
from tests.services import PostgresDatabase, RedisServer

SCRIPT_SECONDS = 20.0
SCRIPT_GUESTS = 300


@pytest.fixture(scope="module")
async def open_node(
    pg_database: PostgresDatabase, redis_server: RedisServer
) -> AsyncIterator[tuple[web.Application, str]]:
    """A node with no trusted clients at all, on its own Redis database."""
    settings = make_settings(
        pg_database,
        redis_server,
        redis_url=redis_server.url.rsplit("/", 1)[0] + "/4",
        trusted_clients="",
        guest_pow_bits=12,
    )
    app, server = await start_app(settings, background=False)
    yield app, str(server.make_url("")).rstrip("/")
    await server.close()


def _from(address: str) -> aiohttp.ClientSession:
    """A client whose sockets leave from `address` (any 127.x.y.z is this machine's loopback)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))


async def _guest(api: Api, nickname: str) -> Reply:
    """A guest session as a script would get one: solving the proof-of-work whenever it is asked."""
    reply = await api.call("POST", "/api/v1/auth/guest", json={"nickname": nickname})
    if reply.code == "proof_required":
        nonce = solve(reply.body["challenge"], reply.body["bits"])
        proof = {"challenge": reply.body["challenge"], "nonce": nonce}
        reply = await api.call("POST", "/api/v1/auth/guest", json={"nickname": nickname, "proof": proof})
    return reply


async def _sale(app: web.Application, base: str, quantity: int, per_buyer_limit: int) -> tuple[str, dict]:
    async with _from("127.0.0.1") as http:
        api = Api(http, base)
        host = await new_host(app, api)
        product = await api.product(host, stock=quantity)
        broadcast = await api.broadcast(host)
        offer = await api.offer(
            host, broadcast["id"], product["id"], quantity, per_buyer_limit=per_buyer_limit
        )
    return host, offer


async def test_a_script_minting_guests_from_one_address_holds_at_most_a_tenth_of_the_offer(
    open_node: tuple[web.Application, str],
) -> None:
    app, base = open_node
    _, offer = await _sale(app, base, quantity=100, per_buyer_limit=2)
    held = 0
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + SCRIPT_SECONDS
    async with _from("127.0.0.2") as http:
        api = Api(http, base)
        for i in range(SCRIPT_GUESTS):
            if time.monotonic() > deadline:
                break
            guest = await _guest(api, f"bot{i}")
            statuses[guest.status] = statuses.get(guest.status, 0) + 1
            if guest.status != 201:
                continue  # throttled: a script keeps trying
            claim = await api.reserve(guest.body["token"], offer["id"], quantity=2, key=f"bot-{i}")
            if claim.status == 201:
                held += claim.body["quantity"]
        state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert held <= 10, (held, statuses)
    assert state["held"] + state["sold"] == held
    assert statuses.get(201, 0) >= 5  # the script did get guests; they just do not add up


async def test_two_hundred_buyers_from_fifty_addresses_each_get_their_unit(
    open_node: tuple[web.Application, str],
) -> None:
    app, base = open_node
    _, offer = await _sale(app, base, quantity=200, per_buyer_limit=1)
    addresses = [f"127.0.1.{n}" for n in range(1, 51)]

    async def buyer(api: Api, n: int) -> int:
        guest = await _guest(api, f"buyer{n}")
        assert guest.status == 201, guest.body
        claim = await api.reserve(guest.body["token"], offer["id"], key=f"crowd-{uuid.uuid4().hex}")
        return claim.status

    async with AsyncExitStack() as stack:
        apis = [Api(await stack.enter_async_context(_from(a)), base) for a in addresses]
        statuses = await asyncio.gather(*(buyer(apis[n % 50], n) for n in range(200)))
    assert statuses.count(201) == 200, statuses


async def test_a_script_typing_buy_from_one_address_holds_no_more_than_its_share_either(
    open_node: tuple[web.Application, str],
) -> None:
    """Comment-to-buy claims as the API does: the per-network share holds for chat claims too."""
    app, base = open_node
    host, offer = await _sale(app, base, quantity=100, per_buyer_limit=5)
    async with _from("127.0.0.1") as http:
        pinned = await Api(http, base).call(
            "PUT",
            f"/api/v1/broadcasts/{offer['broadcast_id']}/pin",
            token=host,
            json={"product_id": offer["product_id"]},
        )
        assert pinned.status == 200, pinned.body
    bots: list[RoomClient] = []
    deadline = time.monotonic() + SCRIPT_SECONDS
    async with _from("127.0.0.3") as http:
        api = Api(http, base)
        try:
            for i in range(8):
                if time.monotonic() > deadline:
                    break
                guest = await _guest(api, f"chatbot{i}")
                if guest.status != 201:
                    continue
                bot = RoomClient(base, guest.body["token"], http_session=http)
                bots.append(await bot.connect())
                await bot.join(offer["broadcast_id"])
                ack = await bot.call("chat", {"text": "buy 5"})
                assert ack.get("ok") is True, ack
                await bot.wait(lambda b=bot: b.events["reservation"] or b.events["error"], what="an answer")
            state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
        finally:
            await asyncio.wait(
                [asyncio.ensure_future(b.close()) for b in bots] or [asyncio.sleep(0)], timeout=5
            )
    held = sum(r["quantity"] for b in bots for r in b.events["reservation"])
    refused = [e["code"] for b in bots for e in b.events["error"]]
    assert len(bots) >= 3, "the script got at least three guests"
    assert held <= 10 and state["held"] + state["sold"] == held, (held, state)
    assert refused and set(refused) == {"limit_exceeded"}, refused


async def test_a_ban_holds_the_person_through_a_new_guest_token(
    open_node: tuple[web.Application, str],
) -> None:
    app, base = open_node
    host, offer = await _sale(app, base, quantity=50, per_buyer_limit=1)
    async with _from("127.0.0.9") as troll_http, _from("127.0.0.10") as other_http:
        troll_api, other_api = Api(troll_http, base), Api(other_http, base)
        troll = (await _guest(troll_api, "troll")).body
        moderator = RoomClient(base, host)
        await moderator.connect()
        try:
            await moderator.join(offer["broadcast_id"])
            banned = await moderator.call("moderate", {"action": "ban", "user_id": troll["user"]["id"]})
            assert banned.get("ok"), banned
        finally:
            await moderator.close()
        fresh = (await _guest(troll_api, "not-a-troll")).body["token"]
        claim = await troll_api.reserve(fresh, offer["id"], key="after-ban")
        assert claim.status == 403 and claim.code == "banned"
        bystander = (await _guest(other_api, "bystander")).body["token"]
        assert (await other_api.reserve(bystander, offer["id"], key="ok")).status == 201
