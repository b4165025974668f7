"""Up to three pinned products (server/commerce/pins.py): pin, repin, a fourth refused, unpin one or all;
the broadcast view keeps v1's `pinned` (the most recent) beside `pins`; the replay marks each new pin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.media.hls import ORIGIN
from tests.api_client import Api, Reply
from tests.commerce.coupons import viewer
from tests.conftest import new_host


async def _pin(api: Api, host: str, bid: str, product_id: str) -> Reply:
    return await api.call("PUT", f"/api/v1/broadcasts/{bid}/pin", token=host, json={"product_id": product_id})


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [p["id"] for p in items]


@dataclass
class _Marks:
    """Stands in for a live HLS stream: records the moments the replay's timeline would get."""

    ended: bool = False
    got: list[tuple[str, str]] = field(default_factory=list)

    def mark(self, kind: str, item_id: str) -> None:
        self.got.append((kind, item_id))


async def test_three_pins_a_fourth_unpins_the_oldest_repin_a_no_op_and_unpins(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    b = await api.broadcast(host)
    bid = b["id"]
    marks = app[ORIGIN].streams[bid] = _Marks()  # type: ignore[assignment]
    try:
        p1, p2, p3, p4 = [await api.product(host) for _ in range(4)]
        for p in (p1, p2, p3):
            r = await _pin(api, host, bid, p["id"])
            assert r.status == 200 and r.body["pinned"]["id"] == p["id"], r.body
        assert _ids(r.body["pins"]) == [p3["id"], p2["id"], p1["id"]]
        again = await _pin(api, host, bid, p2["id"])
        assert again.status == 200 and _ids(again.body["pins"]) == [p3["id"], p2["id"], p1["id"]]
        # a fourth pin succeeds, as a v1 client pinning one product after another expects: the oldest goes
        fourth = await _pin(api, host, bid, p4["id"])
        assert fourth.status == 200 and fourth.body["pinned"]["id"] == p4["id"], fourth.body
        assert _ids(fourth.body["pins"]) == [p4["id"], p3["id"], p2["id"]]
        view = (await api.call("GET", f"/api/v1/broadcasts/{bid}")).body
        assert view["pinned"]["id"] == p4["id"] and _ids(view["pins"]) == [p4["id"], p3["id"], p2["id"]]
        back = await api.call("DELETE", f"/api/v1/broadcasts/{bid}/pins/{p4['id']}", token=host)
        assert back.status == 200 and _ids(back.body["pins"]) == [p3["id"], p2["id"]]
        assert (await _pin(api, host, bid, p1["id"])).status == 200  # p1 back as the newest
        view = (await api.call("GET", f"/api/v1/broadcasts/{bid}")).body
        assert _ids(view["pins"]) == [p1["id"], p3["id"], p2["id"]]

        one = await api.call("DELETE", f"/api/v1/broadcasts/{bid}/pins/{p3['id']}", token=host)
        assert (
            one.status == 200
            and one.body["pinned"]["id"] == p1["id"]
            and _ids(one.body["pins"]) == [p1["id"], p2["id"]]
        )
        absent = await api.call("DELETE", f"/api/v1/broadcasts/{bid}/pins/{p4['id']}", token=host)
        assert absent.status == 200 and _ids(absent.body["pins"]) == [p1["id"], p2["id"]]
        everything = await api.call("DELETE", f"/api/v1/broadcasts/{bid}/pin", token=host)
        assert everything.status == 200 and everything.body == {
            "broadcast_id": bid,
            "pinned": None,
            "pins": [],
        }
        view = (await api.call("GET", f"/api/v1/broadcasts/{bid}")).body
        assert (view["pinned"], view["pins"]) == (None, [])
        # every new pin is a moment of the replay; a repin or an unpin is none
        assert marks.got == [("pin", p["id"]) for p in (p1, p2, p3, p4, p1)]
    finally:
        app[ORIGIN].streams.pop(bid, None)


async def test_pins_are_the_hosts_own_and_bad_input_is_refused(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    b = await api.broadcast(host)
    mine = await api.product(host)
    stranger = await new_host(node[0], api)
    theirs = await api.product(stranger)
    assert (await _pin(api, host, b["id"], theirs["id"])).code == "not_found"
    assert (await _pin(api, stranger, b["id"], mine["id"])).status == 404
    assert (
        await api.call("DELETE", f"/api/v1/broadcasts/{b['id']}/pins/{mine['id']}", token=stranger)
    ).status == 404
    assert (
        await api.call("DELETE", f"/api/v1/broadcasts/{b['id']}/pin", token=viewer(node[0]))
    ).status == 403
    for bad in (
        {},
        {"product_id": ""},
        {"product_id": 5},
        {"product_id": "x" * 61},
        {"product_id": "p", "more": 1},
    ):
        r = await api.call("PUT", f"/api/v1/broadcasts/{b['id']}/pin", token=host, json=bad)
        assert (r.status, r.code) == (422, "validation_error"), bad
    assert (await api.call("POST", f"/api/v1/broadcasts/{b['id']}/end", token=host)).status == 200
    assert (await _pin(api, host, b["id"], mine["id"])).code == "broadcast_ended"
