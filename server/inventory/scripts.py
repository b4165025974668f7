"""Loads the Lua scripts beside this module, each prefixed with the shared helpers."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

LUA = Path(__file__).parent / "lua"
NAMES = (
    "reserve",
    "release",
    "begin_checkout",
    "settle_checkout",
    "sweep",
    "finish",
    "window",
    "load",
    "check",
    "pay",
    "unsell",
    "bid",
    "auction_load",
    "auction_close",
    "auction_view",
    "giveaway_enter",
    "giveaway_load",
    "coupon_redeem",
    "coupon_return",
    "coupon_load",
    "coupon_view",
)


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
        self.window: AsyncScript = redis.register_script(source("window"))
        self.load: AsyncScript = redis.register_script(source("load"))
        self.pay: AsyncScript = redis.register_script(source("pay"))
        self.unsell: AsyncScript = redis.register_script(source("unsell"))
        self.check: AsyncScript = redis.register_script(source("check"))
        self.bid: AsyncScript = redis.register_script(source("bid"))
        self.auction_load: AsyncScript = redis.register_script(source("auction_load"))
        self.auction_close: AsyncScript = redis.register_script(source("auction_close"))
        self.auction_view: AsyncScript = redis.register_script(source("auction_view"))
        self.giveaway_enter: AsyncScript = redis.register_script(source("giveaway_enter"))
        self.giveaway_load: AsyncScript = redis.register_script(source("giveaway_load"))
        self.coupon_redeem: AsyncScript = redis.register_script(source("coupon_redeem"))
        self.coupon_return: AsyncScript = redis.register_script(source("coupon_return"))
        self.coupon_load: AsyncScript = redis.register_script(source("coupon_load"))
        self.coupon_view: AsyncScript = redis.register_script(source("coupon_view"))
