"""Loads the Lua scripts beside this module, each prefixed with the shared helpers."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

LUA = Path(__file__).parent / "lua"
NAMES = ("reserve", "release", "begin_checkout", "settle_checkout", "sweep", "finish", "load", "check")


def source(name: str) -> str:
    return (LUA / "common.lua").read_text() + "\n" + (LUA / f"{name}.lua").read_text()


class Scripts:
    """One registered script per operation; redis-py sends EVALSHA and reloads after NOSCRIPT."""

    def __init__(self, redis: Redis) -> None:
        self.reserve: AsyncScript = redis.register_script(source("reserve"))
        self.release: AsyncScript = redis.register_script(source("release"))
        self.begin_checkout: AsyncScript = redis.register_script(source("begin_checkout"))
        self.settle_checkout: AsyncScript = redis.register_script(source("settle_checkout"))
        self.sweep: AsyncScript = redis.register_script(source("sweep"))
        self.finish: AsyncScript = redis.register_script(source("finish"))
        self.load: AsyncScript = redis.register_script(source("load"))
        self.check: AsyncScript = redis.register_script(source("check"))
