"""Broadcast status moves (server/broadcasts.py): scheduled -> live -> ended, ended is final, only its
host may move it, and the room hears each real change once."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.context import DB, EVENTS
from server.broadcasts import broadcast_public, set_status
from server.errors import DomainError
from server.events import BROADCAST_STATUS, Event
from tests.api_client import Api


@pytest.fixture
def heard(node: tuple[web.Application, TestServer]) -> list[dict]:
    seen: list[dict] = []

    def on_status(event: Event) -> None:
        seen.append(event.data["broadcast"])

    node[0][EVENTS].subscribe(BROADCAST_STATUS, on_status)
    return seen


async def test_a_broadcast_goes_live_once_then_ends_for_good(
    api: Api, host: str, node: tuple[web.Application, TestServer], heard: list[dict]
) -> None:
    app = node[0]
    b = await api.broadcast(host)
    live = await set_status(app[DB], app[EVENTS], b["id"], "live")
    started = live.started_at
    assert live.status == "live" and started is not None
    again = await set_status(app[DB], app[EVENTS], b["id"], "live")
    assert again.started_at == started  # going live twice keeps the first start
    ended = await set_status(app[DB], app[EVENTS], b["id"], "ended")
    assert ended.ended_at is not None and ended.ended_at >= started
    with pytest.raises(DomainError) as caught:
        await set_status(app[DB], app[EVENTS], b["id"], "live")
    assert caught.value.code == "broadcast_ended"
    mine = [s["status"] for s in heard if s["id"] == b["id"]]
    assert mine == ["live", "ended"]  # no event for a move that changed nothing


async def test_only_its_shop_moves_a_broadcast_and_an_unknown_one_is_not_found(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    b = await api.broadcast(host)
    with pytest.raises(DomainError) as caught:  # another shop's broadcast is as if it did not exist
        await set_status(app[DB], app[EVENTS], b["id"], "live", shop_id="sh_someone_else")
    assert caught.value.code == "not_found"
    with pytest.raises(DomainError) as caught:
        await set_status(app[DB], app[EVENTS], "br_nope", "live")
    assert caught.value.code == "not_found"


async def test_the_public_view_never_shows_the_stream_key(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    b = await api.broadcast(host)
    row = await set_status(app[DB], app[EVENTS], b["id"], "ended")
    view = broadcast_public(row, "https://shop.test")
    assert "stream_key" not in view and row.stream_key not in str(view)
    assert view["watch_url"] == f"https://shop.test/watch/{b['id']}"
    assert view["started_at"] is None and view["ended_at"] is not None
