"""Bearer tokens: revoked when the host is deleted, demoted or logs out; junk costs no memory."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import delete, update

from server.api.auth import DIRECTORY, TOKENS, create_host
from server.api.context import DB
from server.api.directory import HostDirectory
from server.api.models import Membership, User
from server.api.tokens import MAX_TOKEN_CHARS, Principal
from server.config import Settings
from tests.api_client import Api

STALENESS_S = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
async def clocked(settings: Settings) -> AsyncIterator[tuple[web.Application, Api, Clock]]:
    """A node whose host directory runs on a clock the test moves."""
    clock = Clock()
    app = await _app_with_clock(settings, clock)
    async with aiohttp.ClientSession() as http:
        yield app[0], Api(http, str(app[1].make_url("")).rstrip("/")), clock
    await app[1].close()


async def _app_with_clock(settings: Settings, clock: Clock) -> tuple[web.Application, TestServer]:
    from server.app import build_app

    app = build_app(settings, background=False)
    app[DIRECTORY] = HostDirectory(app[DB], staleness_s=STALENESS_S, clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return app, server


async def _host(app: web.Application, api: Api) -> tuple[str, str]:
    email = f"host-{uuid.uuid4().hex[:10]}@example.com"
    user = await create_host(app[DB], email, "host-password-1")
    return user.id, await api.login(email, "host-password-1")


async def _can_write(api: Api, token: str) -> int:
    sku = "SKU-" + uuid.uuid4().hex[:10]
    body = {"sku": sku, "title": "t", "price": 1, "currency": "USD", "stock": 1}
    return (await api.call("POST", "/api/v1/products", token=token, json=body)).status


async def test_a_signed_token_for_a_user_that_does_not_exist_is_refused(
    clocked: tuple[web.Application, Api, Clock],
) -> None:
    app, api, _ = clocked
    forged = app[TOKENS].issue(Principal("us_nobody", "host", "attacker"))
    assert await _can_write(api, forged) == 401


async def test_logout_revokes_at_once_and_a_new_login_works(
    clocked: tuple[web.Application, Api, Clock],
) -> None:
    app, api, _ = clocked
    _, token = await _host(app, api)
    assert await _can_write(api, token) == 201
    assert (await api.call("POST", "/api/v1/auth/logout", token=token)).status == 204
    assert await _can_write(api, token) == 401


@pytest.mark.parametrize("change", ["deleted", "demoted"])
async def test_a_deleted_or_demoted_host_loses_its_token_within_the_staleness_bound(
    clocked: tuple[web.Application, Api, Clock], change: str
) -> None:
    app, api, clock = clocked
    user_id, token = await _host(app, api)
    assert await _can_write(api, token) == 201
    async with app[DB]() as session, session.begin():
        if change == "deleted":
            await session.execute(delete(Membership).where(Membership.user_id == user_id))
            await session.execute(delete(User).where(User.id == user_id))
        else:
            await session.execute(update(User).where(User.id == user_id).values(role="viewer"))
    clock.now += STALENESS_S + 0.1
    assert await _can_write(api, token) == 401


async def test_a_host_is_read_once_per_staleness_window_not_once_per_request(
    clocked: tuple[web.Application, Api, Clock],
) -> None:
    app, api, clock = clocked
    _, token = await _host(app, api)
    clock.now += STALENESS_S + 0.1
    before = app[DIRECTORY].reads
    replies = await asyncio.gather(*(api.call("GET", "/api/v1/auth/me", token=token) for _ in range(50)))
    assert {r.status for r in replies} == {200}
    assert app[DIRECTORY].reads - before == 1


async def test_twenty_thousand_junk_bearers_leave_the_token_cache_as_it_was(
    node: tuple[web.Application, TestServer], api: Api
) -> None:
    app, _ = node
    tokens = app[TOKENS]
    before = tokens.cached()
    long_junk = "x" * 7900
    sem = asyncio.Semaphore(64)

    async def one(i: int) -> int:
        junk = f"{i}.{uuid.uuid4().hex}" if i % 2 else f"{i}{long_junk}"
        async with sem:
            return (await api.call("GET", "/api/v1/auth/me", token=junk)).status

    statuses = await asyncio.gather(*(one(i) for i in range(20_000)))
    assert set(statuses) == {401}
    assert tokens.cached() == before
    assert MAX_TOKEN_CHARS < len(long_junk)
