"""Comment-to-buy on one real node (real Redis, PostgreSQL, socket.io clients): a chat message that is a
buy keyword claims the pinned offer for its sender exactly as the reservation API would."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.auth import TOKENS, Principal
from server.db.base import new_id
from server.live.text import buy_quantity, language_buy_keywords
from tests.api_client import Api
from tests.conftest import new_host
from tests.live.conftest import Clients, Room, RoomClient


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("buy", 1),
        ("BUY", 1),
        ("Sold", 1),
        ("kup", 1),
        ("구매", 1),
        ("buy 2", 2),
        ("SOLD x3", 3),
        ("kup 10", 10),
        ("구매 2", 2),
        ("buy 0", 0),  # a keyword: the claim refuses the quantity, as the API would
        ("I will buy it later", None),
        ("buy it", None),
        ("buyer", None),
        ("buy2", None),
        ("buy -1", None),
        ("buy 1234567", None),
        ("sold out?", None),
        ("", None),
    ],
)
def test_only_a_whole_message_that_is_a_keyword_and_a_quantity_is_a_buy(
    text: str, quantity: int | None
) -> None:
    assert buy_quantity(text) == quantity


def test_the_hosts_own_keywords_count_beside_the_built_in_ones() -> None:
    assert buy_quantity("mine", ["mine"]) == 1
    assert buy_quantity("MINE 4", ["mine"]) == 4
    assert buy_quantity("mine") is None
    assert buy_quantity("buy", ["mine"]) == 1


async def pin_offer(
    api: Api, room: Room, quantity: int, per_buyer_limit: int = 1, product: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An active offer of the room's product, and that product pinned."""
    product = product or room.product
    offer = await api.offer(room.host, room.id, product["id"], quantity, per_buyer_limit=per_buyer_limit)
    r = await api.call(
        "PUT", f"/api/v1/broadcasts/{room.id}/pin", token=room.host, json={"product_id": product["id"]}
    )
    assert r.status == 200, r.body
    return offer


async def viewer(clients: Clients, api: Api, url: str, room: Room, nickname: str) -> RoomClient:
    made = await clients(url, await api.guest(nickname))
    await made.join(room.id)
    return made


def outcomes(client: RoomClient) -> list[tuple[str, Any]]:
    return [("reservation", e) for e in client.events["reservation"]] + [
        ("error", e) for e in client.events["error"]
    ]


async def chat(client: RoomClient, text: str, timeout: float = 10, **extra: Any) -> None:  # noqa: ASYNC109
    ack = await client.call("chat", {"text": text, **extra}, timeout=timeout)
    assert ack.get("ok") is True, ack


async def test_a_keyword_claims_for_its_sender_alone_as_the_api_would(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    offer = await pin_offer(api, room, quantity=10, per_buyer_limit=3)
    ada = await viewer(clients, api, node_url, room, "ada")
    bo = await viewer(clients, api, node_url, room, "bo")
    await chat(ada, "BUY 2")
    await ada.wait(lambda: ada.events["reservation"], what="reservation")
    hold = ada.events["reservation"][0]
    assert hold["offer_id"] == offer["id"] and hold["quantity"] == 2 and hold["expires_in_ms"] > 0
    assert set(hold) == {"id", "offer_id", "quantity", "expires_at", "expires_in_ms"}  # the 201 body
    r = await api.call("GET", f"/api/v1/reservations/{hold['id']}", token=ada.token)
    assert r.status == 200 and r.body["quantity"] == 2 and r.body["status"] == "held", r.body
    await bo.wait(lambda: "BUY 2" in bo.chat_texts(), what="the keyword as chat")
    assert outcomes(bo) == []  # the room sees the message, not the hold
    assert "claimed" not in bo.events  # the host did not ask for announcements
    r = await api.call("GET", f"/api/v1/offers/{offer['id']}")
    assert r.body["held"] == 2 and r.body["available"] == 8, r.body
    # the rest of the per-buyer limit, then past it: the API's code and its remaining
    await chat(ada, "kup")
    await ada.wait(lambda: len(ada.events["reservation"]) == 2, what="second hold")
    await chat(ada, "sold 5")
    await ada.wait(lambda: ada.events["error"], what="limit error")
    assert ada.events["error"][0]["code"] == "limit_exceeded"
    await chat(ada, "구매")
    await ada.wait(lambda: len(ada.events["error"]) == 2, what="limit error after three")
    assert ada.events["error"][1]["code"] == "limit_exceeded"
    await chat(bo, "buy 0")
    await bo.wait(lambda: bo.events["error"], what="bad quantity")
    assert bo.events["error"][0]["code"] == "validation_error"
    r = await api.call("GET", f"/api/v1/offers/{offer['id']}")
    assert r.body["held"] == 3, r.body


async def test_sold_out_answers_the_sender_with_the_apis_code(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    await pin_offer(api, room, quantity=1)
    first = await viewer(clients, api, node_url, room, "first")
    late = await viewer(clients, api, node_url, room, "late")
    await chat(first, "sold")
    await first.wait(lambda: first.events["reservation"], what="reservation")
    await chat(late, "sold")
    await late.wait(lambda: late.events["error"], what="sold out")
    assert late.events["error"][0]["code"] == "sold_out" and late.events["error"][0]["remaining"] == 0
    assert late.events["reservation"] == []


async def test_sentences_and_rooms_without_a_pinned_offer_are_plain_chat(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    ada = await viewer(clients, api, node_url, room, "ada")
    await chat(ada, "buy")  # nothing pinned yet
    offer = await pin_offer(api, room, quantity=5)
    for text in ("I will buy it later", "sold out?", "buy it now"):
        await chat(ada, text)
    await ada.wait(lambda: "buy it now" in ada.chat_texts(), what="the sentences as chat")
    r = await api.call("GET", f"/api/v1/offers/{offer['id']}")
    assert r.body["held"] == 0, r.body
    assert outcomes(ada) == []
    # an unpinned offer is not claimed by a keyword either
    r = await api.call("DELETE", f"/api/v1/broadcasts/{room.id}/pin", token=room.host)
    assert r.status == 200
    await chat(ada, "kup")
    await ada.wait(lambda: "kup" in ada.chat_texts(), what="the keyword as chat")
    r = await api.call("GET", f"/api/v1/offers/{offer['id']}")
    assert r.body["held"] == 0 and outcomes(ada) == [], r.body


async def test_a_retried_message_never_claims_twice(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    offer = await pin_offer(api, room, quantity=10, per_buyer_limit=5)
    ada = await viewer(clients, api, node_url, room, "ada")
    await chat(ada, "buy", client_id="m-1")
    await chat(ada, "buy", client_id="m-1")  # the client resent it (its ack was lost)
    await ada.wait(lambda: len(ada.events["reservation"]) == 2, what="both answers")
    first, again = ada.events["reservation"]
    assert first["id"] == again["id"]
    # without a client id: the same text from the same user within the window is the same claim
    bo = await viewer(clients, api, node_url, room, "bo")
    await chat(bo, "Buy 2")
    await chat(bo, "buy  2")  # normalised and case-blind: the same message
    await bo.wait(lambda: len(bo.events["reservation"]) == 2, what="both answers")
    assert bo.events["reservation"][0]["id"] == bo.events["reservation"][1]["id"]
    # a new client id is a new claim
    await chat(ada, "buy", client_id="m-2")
    await ada.wait(lambda: len(ada.events["reservation"]) == 3, what="a new claim")
    assert ada.events["reservation"][2]["id"] != first["id"]
    # one client id with another quantity: the API's code for a reused key
    await chat(ada, "buy 3", client_id="m-2")
    await ada.wait(lambda: ada.events["error"], what="reused key")
    assert ada.events["error"][0]["code"] == "idempotency_key_reused"
    r = await api.call("GET", f"/api/v1/offers/{offer['id']}")
    assert r.body["held"] == 4, r.body
    bad = await ada.call("chat", {"text": "buy", "client_id": 7})
    assert bad["error"]["code"] == "validation_error" and bad["error"]["field"] == "client_id"


async def test_the_hosts_keywords_and_the_rooms_announcement(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    r = await api.call(
        "PUT",
        f"/api/v1/broadcasts/{room.id}/chat-settings",
        token=room.host,
        json={"buy_keywords": ["Mine"], "announce_claims": True},
    )
    assert r.status == 200 and r.body["buy_keywords"] == ["mine"] and r.body["announce_claims"], r.body
    await pin_offer(api, room, quantity=5, per_buyer_limit=2)
    ada = await viewer(clients, api, node_url, room, "Ada")
    bo = await viewer(clients, api, node_url, room, "bo")
    await chat(ada, "MINE 2", client_id="a-1")
    await chat(ada, "MINE 2", client_id="a-1")  # a retry is not announced again
    await bo.wait(lambda: bo.events["claimed"], what="announcement")
    await ada.wait(lambda: len(ada.events["reservation"]) == 2, what="both answers")
    claimed = bo.events["claimed"]
    assert len(claimed) == 1 and claimed[0]["text"] == "Ada claimed 2" and claimed[0]["quantity"] == 2
    assert outcomes(bo) == []
    r = await api.call(
        "PUT",
        f"/api/v1/broadcasts/{room.id}/chat-settings",
        token=room.host,
        json={"buy_keywords": [""] * 21},
    )
    assert r.status == 422 and r.code == "validation_error", r.body


@pytest.mark.parametrize(
    ("language", "text", "quantity"),
    [
        ("pl", "kupuję", 1),
        ("pl", "KUPUJĘ 2", 2),
        ("pl", "biore x3", 3),
        ("pl", "kupuję jutro", None),
        ("ko", "살게요", 1),
        ("ko", "구매할게요 2", 2),
        ("ko", "다음에 살게요", None),
        ("en", "mine 2", 2),
        ("en", "kupuję", None),  # another language's extra is plain chat
        ("ko", "kup", 1),  # the contract's four claim whatever the shop's language
        ("pl", "구매", 1),
    ],
)
def test_a_shop_languages_extra_keywords_count_as_whole_messages_only(
    language: str, text: str, quantity: int | None
) -> None:
    assert buy_quantity(text, language_buy_keywords(language)) == quantity


async def language_room(app: web.Application, api: Api, language: str) -> Room:
    """A live room of a shop that speaks `language` (set before anyone joins, so the room knows it)."""
    host = await new_host(app, api)
    r = await api.call("PATCH", "/api/v1/shop", token=host, json={"language": language})
    assert r.status == 200, r.body
    b = await api.broadcast(host)
    r = await api.call("POST", f"/api/v1/broadcasts/{b['id']}/start", token=host)
    assert r.status == 200, r.body
    return Room(api, host, b, await api.product(host, stock=100))


@pytest.mark.parametrize(
    ("language", "extras", "sentences", "foreign"),
    [
        ("pl", ["kupuję", "Biorę 2"], ["kupuję jutro", "biorę to później"], "살게요"),
        ("ko", ["살게요", "구매할게요 2"], ["내일 살게요", "구매할게요 나중에"], "kupuję"),
    ],
)
async def test_the_shop_languages_extras_claim_in_the_room_and_sentences_do_not(
    node: tuple[web.Application, TestServer],
    api: Api,
    clients: Clients,
    node_url: str,
    language: str,
    extras: list[str],
    sentences: list[str],
    foreign: str,
) -> None:
    room = await language_room(node[0], api, language)
    offer = await pin_offer(api, room, quantity=10, per_buyer_limit=5)
    ada = await viewer(clients, api, node_url, room, "ada")  # chats in sentences
    bo = await viewer(clients, api, node_url, room, "bo")  # buys
    for text in (*sentences, foreign):
        await chat(ada, text)
    await ada.wait(lambda: foreign in ada.chat_texts(), what="the sentences as chat")
    r = await api.call("GET", f"/api/v1/offers/{offer['id']}")
    assert r.body["held"] == 0 and outcomes(ada) == [], (r.body, outcomes(ada))
    for text in extras:
        await chat(bo, text)
    await bo.wait(lambda: len(bo.events["reservation"]) == 2, what="a hold per extra keyword")
    assert sorted(h["quantity"] for h in bo.events["reservation"]) == [1, 2]
    await chat(bo, "kup")  # the contract's keyword claims too
    await bo.wait(lambda: len(bo.events["reservation"]) == 3, what="the contract's keyword")
    r = await api.call("GET", f"/api/v1/offers/{offer['id']}")
    assert r.body["held"] == 4 and bo.events["error"] == [] and outcomes(ada) == [], r.body


# Every viewer is a socket.io client in the test's own event loop, beside the node (clients decode with
# orjson: with json, decoding the room's frames took a third of the process). 1,000 viewers take 11-12 s
# on this 2-core machine at load 3-5; at load 12-28 (eight suites at once) the starved loop missed the
# 10 s ack, so a crowded machine may set LIVESHOP_TEST_FLOOD_VIEWERS lower. CI runs the issue's 1,000.
FLOOD_VIEWERS = int(os.environ.get("LIVESHOP_TEST_FLOOD_VIEWERS", "1000"))
FLOOD_UNITS = FLOOD_VIEWERS * 3 // 5  # fewer units than keyword buyers: some are told sold_out
RETRIERS = FLOOD_VIEWERS // 5  # viewers who resend their keyword with the same client id
SPREAD_S = 5.0  # every viewer speaks within this long: 200+ messages a second into one room


@pytest.mark.slow
async def test_a_chat_flood_of_hundreds_of_viewers_claims_once_per_keyword(
    node: tuple[web.Application, TestServer], room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    """Every viewer is a real socket.io connection; tokens are issued directly (the HTTP guest sign-up is
    not under test). A fifth only chat; the rest send `buy`, the first RETRIERS twice."""
    offer = await pin_offer(api, room, quantity=FLOOD_UNITS)
    tokens = node[0][TOKENS]
    gate = asyncio.Semaphore(100)

    async def one(i: int) -> RoomClient:
        async with gate:
            made = await clients(node_url, tokens.issue(Principal(new_id("us"), "viewer", f"v{i}")))
            await made.join(room.id)
            return made

    viewers = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(FLOOD_VIEWERS))), 45)

    async def speak(i: int, v: RoomClient) -> None:
        await asyncio.sleep(i * SPREAD_S / FLOOD_VIEWERS)  # the flood's shape: everyone within SPREAD_S
        if i % 5 == 4:  # a fifth only chat, mentioning buying in a sentence
            await chat(v, f"will buy later {i}")
            return
        await chat(v, "buy", client_id=f"k-{i}")
        if i < RETRIERS:
            await chat(v, "buy", client_id=f"k-{i}")

    await asyncio.wait_for(asyncio.gather(*(speak(i, v) for i, v in enumerate(viewers))), 40)

    def expected(i: int) -> int:
        return 0 if i % 5 == 4 else 2 if i < RETRIERS else 1

    def answered() -> bool:
        return all(len(outcomes(v)) >= expected(i) for i, v in enumerate(viewers))

    deadline = asyncio.get_running_loop().time() + 20
    while not answered():
        assert asyncio.get_running_loop().time() < deadline, "not every keyword was answered"
        await asyncio.sleep(0.1)
    holds: dict[str, str] = {}
    for i, v in enumerate(viewers):
        got = outcomes(v)
        assert len(got) == expected(i), (i, got)
        if not got:
            continue
        kinds = {kind for kind, _ in got}
        assert len(kinds) == 1, (i, got)  # a retry gets the first answer again
        if kinds == {"reservation"}:
            ids = {hold["id"] for _, hold in got}
            assert len(ids) == 1, (i, got)
            holds[ids.pop()] = v.token
        else:
            assert {e["code"] for _, e in got} == {"sold_out"}, (i, got)
    assert len(holds) == FLOOD_UNITS  # every unit once, each to one viewer, none claimed twice
    r = await api.call("GET", f"/api/v1/offers/{offer['id']}")
    assert r.body["held"] == FLOOD_UNITS and r.body["available"] == 0, r.body
