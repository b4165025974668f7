"""Every host account `liveshop create-host` makes can log in: one email rule at both ends."""

from __future__ import annotations

import asyncio
import sys
import uuid

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.auth import create_host
from server.api.context import DB
from server.errors import DomainError
from tests.api_client import Api
from tests.services import ROOT, PostgresDatabase, RedisServer, server_env

LOGIN = "/api/v1/auth/login"


async def _create_host(env: dict[str, str], email: str, password: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "create-host",
        "--email",
        email,
        "--password",
        password,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


@pytest.mark.parametrize("domain", ["Shop.test", "localhost"])
async def test_an_account_the_cli_creates_logs_in_with_its_address_in_any_case(
    api: Api, pg_database: PostgresDatabase, redis_server: RedisServer, domain: str
) -> None:
    email = f"Ops-{uuid.uuid4().hex[:8]}@{domain}"
    code, said = await _create_host(server_env(pg_database.url, redis_server.url), email, "ops-password-1")
    assert code == 0, said
    for spelling in (email, email.lower(), f"  {email.upper()} "):
        r = await api.call("POST", LOGIN, json={"email": spelling, "password": "ops-password-1"})
        assert r.status == 200, (spelling, r.body)
        assert r.body["user"]["email"] == email.lower() and r.body["user"]["role"] == "host"
    wrong = await api.call("POST", LOGIN, json={"email": email, "password": "not-it-at-all"})
    assert (wrong.status, wrong.code) == (401, "invalid_credentials")


BAD = ["no-at-sign", "two@@signs", "a b@shop.test", "@shop.test", "ops@", "a\x00@b"]


@pytest.mark.parametrize("email", BAD)
async def test_an_address_login_would_refuse_is_refused_at_creation_too(
    api: Api, node: tuple[web.Application, TestServer], email: str
) -> None:
    with pytest.raises(DomainError) as refused:  # what `liveshop create-host` calls
        await create_host(node[0][DB], email, "ops-password-1")
    assert (refused.value.code, refused.value.field) == ("validation_error", "email")
    r = await api.call("POST", LOGIN, json={"email": email, "password": "ops-password-1"})
    assert (r.status, r.code) == (422, "validation_error")
