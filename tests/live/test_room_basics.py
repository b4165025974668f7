"""One node: join snapshot, chat delivery as batches, host badge, limits with clear error acks."""

from __future__ import annotations

from server.clock import ShiftedClock
from tests.api_client import Api
from tests.live.conftest import Clients, Room


async def test_join_gives_a_snapshot_and_chat_reaches_the_room_as_batches(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    viewer = await clients(node_url, await api.guest("ana"))
    other = await clients(node_url, await api.guest("bo"))
    snap = await viewer.join(room.id)
    assert snap["broadcast"]["id"] == room.id and snap["broadcast"]["status"] == "live"
    assert snap["recent_chat"] == [] and snap["pinned"] is None and snap["offers"] == []
    await other.join(room.id)
    ack = await viewer.call("chat", {"text": "  hello\u0007 world  "})
    assert ack["ok"] is True, ack
    await other.wait(lambda: "hello world" in other.chat_texts(), what="chat")
    batch = other.events["chat"][0]
    assert isinstance(batch, list)
    assert batch[0]["user"]["nickname"] == "ana" and "badge" not in batch[0]
    host = await clients(node_url, room.host)
    await host.join(room.id)
    assert (await host.call("chat", {"text": "welcome!"}))["ok"]
    await other.wait(lambda: "welcome!" in other.chat_texts())
    msg = next(m for b in other.events["chat"] for m in b if m["text"] == "welcome!")
    assert msg["badge"] == "host" and msg["user"]["role"] == "host"
    late = await clients(node_url, await api.guest("cy"))
    snap = await late.join(room.id)
    assert [m["text"] for m in snap["recent_chat"]] == ["hello world", "welcome!"]
    await other.wait(lambda: any(v["viewers"] >= 3 for v in other.events["viewers"]), what="viewers")


async def test_limits_answer_with_clear_errors_and_the_connection_stays_usable(
    room: Room, api: Api, clients: Clients, node_url: str, clock: ShiftedClock
) -> None:
    viewer = await clients(node_url, await api.guest("spam"))
    await viewer.join(room.id)
    assert (await viewer.call("chat", {"text": "   "}))["error"]["code"] == "message_empty"
    assert (await viewer.call("chat", {"text": "x" * 501}))["error"]["code"] == "message_too_long"
    assert (await viewer.call("chat", {"text": 5}))["error"]["code"] == "validation_error"
    codes = [(await viewer.call("chat", {"text": f"m{i}"})) for i in range(8)]
    limited = [c for c in codes if "error" in c]
    assert limited and limited[0]["error"]["code"] == "rate_limited"
    assert limited[0]["error"]["retry_after_ms"] > 0
    r = await api.call(
        "PUT",
        f"/api/v1/broadcasts/{room.id}/chat-settings",
        token=room.host,
        json={"slow_mode_s": 30, "blocked_words": ["Darn"]},
    )
    assert r.status == 200 and r.body == {
        "slow_mode_s": 30,
        "blocked_words": ["darn"],
        "buy_keywords": [],
        "announce_claims": False,
    }, r.body
    clock.advance(2.1)  # the bucket refills (1 message per second)
    assert (await viewer.call("chat", {"text": "oh DARN it"}))["error"]["code"] == "blocked_word"
    assert (await viewer.call("chat", {"text": "darning socks is fine"}))["ok"]
    slow = await viewer.call("chat", {"text": "again"})
    assert slow["error"]["code"] == "slow_mode" and 0 < slow["error"]["retry_after_ms"] <= 30_000
    r = await api.call(
        "PUT", f"/api/v1/broadcasts/{room.id}/chat-settings", token=room.host, json={"slow_mode_s": 0}
    )
    assert r.status == 200
    clock.advance(1.1)
    assert (await viewer.call("chat", {"text": "still here"}))["ok"]
