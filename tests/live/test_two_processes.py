"""Two server processes sharing Redis and PostgreSQL: a viewer on one sees what happens through the other."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.api_client import Api
from tests.live.conftest import Clients, eventually, make_room
from tests.services import ServerProcess


async def test_viewer_on_one_process_sees_chat_pins_offers_stock_and_sell_out_made_through_the_other(
    node: tuple[web.Application, TestServer],
    two_nodes: tuple[ServerProcess, ServerProcess],
    two_apis: tuple[Api, Api],
    clients: Clients,
) -> None:
    a, b = two_nodes
    api_a, api_b = two_apis
    room = await make_room(node[0], api_b)
    watcher = await clients(a.url, await api_a.guest("watcher-a"))
    talker = await clients(b.url, await api_b.guest("talker-b"))
    extra = [await clients(b.url, await api_b.guest(f"v{i}")) for i in range(3)]
    snap = await watcher.join(room.id)
    assert snap["broadcast"]["status"] == "live"
    await talker.join(room.id)
    for c in extra:
        await c.join(room.id)
    # viewer counts add up across both processes (1 on a, 4 on b)
    await watcher.wait(
        lambda: watcher.events["viewers"] and watcher.events["viewers"][-1]["viewers"] == 5,
        what="5 viewers on a",
    )
    await talker.wait(
        lambda: talker.events["viewers"] and talker.events["viewers"][-1]["viewers"] == 5,
        what="5 viewers on b",
    )
    r = await api_b.call("GET", f"/api/v1/broadcasts/{room.id}")
    assert r.body["viewers"] == 5

    assert (await talker.call("chat", {"text": "hi from b"}))["ok"]
    await watcher.wait(lambda: "hi from b" in watcher.chat_texts(), what="chat across processes")

    r = await api_b.call(
        "PUT", f"/api/v1/broadcasts/{room.id}/pin", token=room.host, json={"product_id": room.product["id"]}
    )
    assert r.status == 200, r.body
    await watcher.wait(
        lambda: any(
            p["product"] and p["product"]["id"] == room.product["id"] for p in watcher.events["pinned"]
        ),
        what="pinned",
    )

    offer = await api_b.offer(room.host, room.id, room.product["id"], quantity=3, per_buyer_limit=1)
    await watcher.wait(
        lambda: any(o["id"] == offer["id"] and o["status"] == "active" for o in watcher.events["offer"]),
        what="offer start",
    )
    buyers = [await api_b.guest(f"buyer{i}") for i in range(4)]
    # claims on both processes; the last unit sells on a while the offer started on b
    results = await asyncio.gather(
        *[
            (api_a if i % 2 else api_b).reserve(t, offer["id"], 1, key=uuid.uuid4().hex)
            for i, t in enumerate(buyers)
        ]
    )
    assert sorted(r.status for r in results) == [201, 201, 201, 409]

    def last_offer() -> dict | None:
        mine = [o for o in watcher.events["offer"] if o["id"] == offer["id"]]
        return mine[-1] if mine else None

    await watcher.wait(
        lambda: (o := last_offer()) and o["available"] == 0 and o["held"] == 3,
        what="sold out reaches the viewer on a",
    )
    await talker.wait(
        lambda: any(o["id"] == offer["id"] and o["available"] == 0 for o in talker.events["offer"]),
        what="sold out on b",
    )
    # coalesced: fewer stock frames than claims would need, yet the last one is exact
    stock_frames = [o for o in watcher.events["offer"] if o["id"] == offer["id"]]
    assert len(stock_frames) <= 1 + 4 + 2

    held = next(r for r in results if r.status == 201)
    assert (
        await api_a.call(
            "DELETE",
            f"/api/v1/reservations/{held.body['id']}",
            token=buyers[next(i for i, r in enumerate(results) if r is held)],
        )
    ).status == 204
    await watcher.wait(lambda: (o := last_offer()) and o["available"] == 1, what="release back in stock")

    r = await api_a.call("POST", f"/api/v1/offers/{offer['id']}/end", token=room.host)
    assert r.status == 200
    await watcher.wait(lambda: (o := last_offer()) and o["status"] == "ended", what="offer end")
    await talker.wait(
        lambda: any(o["id"] == offer["id"] and o["status"] == "ended" for o in talker.events["offer"]),
        what="offer end on b",
    )

    for c in extra:
        await c.close()
    await watcher.wait(lambda: watcher.events["viewers"][-1]["viewers"] == 2, what="viewers drop to 2")

    r = await api_a.call("POST", f"/api/v1/broadcasts/{room.id}/end", token=room.host)
    assert r.status == 200
    await talker.wait(
        lambda: any(e["status"] == "ended" for e in talker.events["broadcast"]), what="broadcast ended on b"
    )
    ended = await watcher.call("join", {"broadcast_id": room.id})
    assert ended["ended"] is True and ended["broadcast"]["status"] == "ended"

    # b learns of the end through the event relay, a channel apart from the room's: until it has, a
    # message is still delivered (never lost); from then on it is refused in words
    async def refused_on_b() -> dict[str, Any] | None:
        reply = await talker.call("chat", {"text": "anyone?"})
        return reply if "error" in reply else None

    refused = await eventually(refused_on_b, what="chat refused on b after the end")
    assert refused["error"]["code"] == "broadcast_ended"


async def test_moderation_takes_effect_for_viewers_on_both_processes(
    node: tuple[web.Application, TestServer],
    two_nodes: tuple[ServerProcess, ServerProcess],
    two_apis: tuple[Api, Api],
    clients: Clients,
) -> None:
    a, b = two_nodes
    api_a, api_b = two_apis
    room = await make_room(node[0], api_a)
    host = await clients(a.url, room.host)
    await host.join(room.id)
    troll_token = await api_b.guest("troll")
    troll = await clients(b.url, troll_token)
    troll_id = (await troll.join(room.id))["me"]["id"]
    watcher_b = await clients(b.url, await api_b.guest("wb"))
    watcher_a = await clients(a.url, await api_a.guest("wa"))
    await watcher_b.join(room.id)
    await watcher_a.join(room.id)

    sent = await troll.call("chat", {"text": "buy my stuff elsewhere"})
    assert sent["ok"]
    for w in (watcher_a, watcher_b):
        await w.wait(lambda w=w: "buy my stuff elsewhere" in w.chat_texts())
    # only the host may moderate
    denied = await watcher_a.call("moderate", {"action": "delete", "message_id": sent["id"]})
    assert denied["error"]["code"] == "forbidden"
    assert (await host.call("moderate", {"action": "delete", "message_id": sent["id"]}))["ok"]
    for w in (watcher_a, watcher_b):
        await w.wait(lambda w=w: any(d["id"] == sent["id"] for d in w.events["chat_deleted"]))
    late = await clients(b.url, await api_b.guest("late"))
    assert sent["id"] not in [m["id"] for m in (await late.join(room.id))["recent_chat"]]

    assert (await host.call("moderate", {"action": "timeout", "user_id": troll_id, "seconds": 2}))["ok"]
    timed = await eventually(lambda: _chat_error(troll, "still here"), what="timeout on b")
    assert timed["code"] == "timed_out" and 0 < timed["retry_after_ms"] <= 2000
    # another process's clock: poll until the timeout lifts there (it refuses until then, sends nothing)
    sorry = await eventually(lambda: _chat_ok(troll, "sorry"), what="the timeout lifted on b")
    assert sorry["ok"]

    offer = await api_a.offer(room.host, room.id, room.product["id"], quantity=5)
    assert (await host.call("moderate", {"action": "ban", "user_id": troll_id}))["ok"]
    banned = await eventually(lambda: _chat_error(troll, "let me in"), what="ban on b")
    assert banned["code"] == "banned"
    for api in (api_a, api_b):
        r = await api.reserve(troll_token, offer["id"], 1, key=uuid.uuid4().hex)
        assert r.status == 403 and r.code == "banned", r.body
    ok = await api_b.reserve(await api_b.guest("fine"), offer["id"], 1, key=uuid.uuid4().hex)
    assert ok.status == 201
    log = await api_b.call("GET", f"/api/v1/broadcasts/{room.id}/moderation", token=room.host)
    assert [e["action"] for e in log.body["items"]] == ["ban", "timeout", "delete"]


async def _chat_error(client, text: str):  # type: ignore[no-untyped-def]
    ack = await client.call("chat", {"text": text})
    return ack.get("error")


async def _chat_ok(client, text: str):  # type: ignore[no-untyped-def]
    ack = await client.call("chat", {"text": text})
    if ack.get("error"):
        assert ack["error"]["code"] == "timed_out", ack
        return None
    return ack
