"""The Lua scripts (server/inventory/scripts.py): each ships with the shared helpers and documents the
KEYS and ARGV it takes, and each runs on a real Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from server.inventory.scripts import LUA, NAMES, Scripts, source
from tests.services import RedisServer


@pytest.mark.parametrize("name", NAMES)
def test_a_script_is_the_shared_helpers_then_its_own_documented_body(name: str) -> None:
    text = source(name)
    common = (LUA / "common.lua").read_text()
    assert text.startswith(common)
    own = text[len(common) :]
    lines = own.lstrip().splitlines()
    header = lines[: next(i for i, line in enumerate(lines) if not line.startswith("--"))]  # leading comments
    assert any(line.startswith("-- KEYS:") for line in header), header
    assert any(line.startswith("-- ARGV:") for line in header), header


def test_every_script_file_is_loaded() -> None:
    assert {p.stem for p in LUA.glob("*.lua")} - {"common"} == set(NAMES)


async def test_every_script_compiles_on_redis(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    try:
        scripts = Scripts(redis)
        for name in NAMES:
            sha = await redis.script_load(source(name))
            assert getattr(scripts, name).sha == sha
    finally:
        await redis.aclose()
