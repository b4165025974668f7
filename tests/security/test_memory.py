"""What a client can make a node remember is bounded: policies for unknown broadcasts, joins per socket."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.context import DB
from server.live import policy as policy_module
from server.live.policy import Policies
from tests.api_client import Api
from tests.conftest import new_host
from tests.live.conftest import RoomClient


async def test_lookups_of_unknown_broadcasts_keep_a_bounded_cache_and_evict_nothing_real(
    node: tuple[web.Application, TestServer], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = node
    monkeypatch.setattr(policy_module, "MAX_MISSING", 50)
    policies = Policies(app[DB], max_items=100)
    host = await new_host(app, api)
    real = await api.broadcast(host)
    assert (await policies.get(real["id"])).exists
    for start in range(0, 400, 50):
        found = await asyncio.gather(*(policies.get(f"bc_junk{i}") for i in range(start, start + 50)))
        assert not any(p.exists for p in found)
    assert len(policies) <= 100 + 50
    assert policies.peek(real["id"]) is not None and policies.peek(real["id"]).exists


async def test_a_socket_that_joins_in_a_loop_is_told_to_wait(
    node: tuple[web.Application, TestServer], api: Api
) -> None:
    app, server = node
    host = await new_host(app, api)
    broadcast = await api.broadcast(host)
    viewer = RoomClient(str(server.make_url("")).rstrip("/"), await api.guest("looper"))
    await viewer.connect()
    try:
        answers = [await viewer.call("join", {"broadcast_id": broadcast["id"]}) for _ in range(12)]
    finally:
        await viewer.close()
    limited = [a for a in answers if isinstance(a, dict) and a.get("error", {}).get("code") == "rate_limited"]
    assert len(limited) >= 6 and all(a["error"]["retry_after_ms"] > 0 for a in limited)
    assert "broadcast" in answers[0]
