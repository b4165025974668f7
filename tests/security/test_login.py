"""Sign-in abuse: limits per account and per address (429 + Retry-After), the same work for unknown
accounts, and a bounded number of Argon2 hashes at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api import passwords
from server.api.auth import create_host
from server.api.context import DB
from tests.api_client import Api, Reply
from tests.conftest import make_settings, start_app
from tests.services import PostgresDatabase, RedisServer


@pytest.fixture(scope="module")
async def guarded(
    pg_database: PostgresDatabase, redis_server: RedisServer
) -> AsyncIterator[tuple[web.Application, Api]]:
    """Tight limits, its own Redis database, and loopback listed as a trusted load generator (which
    must not lift login limits)."""
    settings = make_settings(
        pg_database,
        redis_server,
        redis_url=redis_server.url.rsplit("/", 1)[0] + "/3",
        login_limit_account="3/15 minutes",
        login_limit_address="8/15 minutes",
        trusted_clients="127.0.0.0/8",
    )
    app, server = await start_app(settings, background=False)
    async with aiohttp.ClientSession() as http:
        yield app, Api(http, str(server.make_url("")).rstrip("/"))
    await server.close()


async def _login(api: Api, email: str, password: str) -> Reply:
    return await api.call("POST", "/api/v1/auth/login", json={"email": email, "password": password})


async def test_failures_for_one_account_answer_429_with_retry_after_even_for_the_right_password(
    guarded: tuple[web.Application, Api],
) -> None:
    app, api = guarded
    email = f"host-{uuid.uuid4().hex[:8]}@example.com"
    await create_host(app[DB], email, "right-password-1")
    for _ in range(3):
        assert (await _login(api, email, "wrong")).code == "invalid_credentials"
    refused = await _login(api, email, "right-password-1")
    assert refused.status == 429 and refused.code == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["Content-Type"].startswith("application/problem+json")


async def test_failures_from_one_address_across_accounts_answer_429(
    guarded: tuple[web.Application, Api], redis_server: RedisServer
) -> None:
    _, api = guarded
    statuses = [
        (await _login(api, f"nobody-{uuid.uuid4().hex[:8]}@example.com", "guess")).status for _ in range(10)
    ]
    assert 401 in statuses and statuses[-1] == 429
    assert statuses.index(429) <= 8


async def test_an_unknown_account_costs_the_same_argon2_work_as_a_known_one(
    node: tuple[web.Application, TestServer], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = node
    calls: list[str] = []
    real = passwords._verify

    def counting(hashed: str, password: str) -> bool:
        calls.append(hashed[:9])
        return real(hashed, password)

    monkeypatch.setattr(passwords, "_verify", counting)
    email = f"host-{uuid.uuid4().hex[:8]}@example.com"
    await create_host(app[DB], email, "right-password-1")
    assert (await _login(api, email, "wrong")).status == 401
    assert (await _login(api, f"nobody-{uuid.uuid4().hex[:8]}@example.com", "wrong")).status == 401
    assert calls == ["$argon2id", "$argon2id"]  # one full verification each


async def test_a_flood_of_sign_ins_is_queued_and_bounded_never_a_500(
    node: tuple[web.Application, TestServer], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passwords, "MAX_WAITING", 4)
    replies = await asyncio.gather(
        *(_login(api, f"flood-{i}-{uuid.uuid4().hex[:6]}@example.com", "x") for i in range(24))
    )
    statuses = {r.status for r in replies}
    assert statuses <= {401, 503}, statuses
    busy = [r for r in replies if r.status == 503]
    assert busy and all(r.headers.get("Retry-After") == "1" for r in busy)
