"""The Python face of the live-coupon scripts: one atomic redemption per checkout, given back by id.

Redis counts the redemptions (`coupon:{<id>}:...`, one cluster slot per coupon); PostgreSQL holds the
coupon and, on each order, the coupon it used. A use is keyed by the hold being checked out, so a
retried checkout never counts twice and a failed one gives back exactly its own. When the counters
are missing or stale (a Redis loss or failover), the book rebuilds them from the loader's answer:
the orders that still stand with this coupon. What a rebuild cannot see is a redemption whose order
was not committed yet at that instant; those few checkouts may pass the cap (never more of them than
were in flight when Redis was lost).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.clock import SYSTEM_CLOCK, Clock, now_ms
from server.errors import DomainError
from server.inventory.engine import UNTRUSTED
from server.inventory.keys import coupon_keys
from server.inventory.scripts import Scripts

log = logging.getLogger("liveshop.inventory")

# loader(coupon_id) -> coupon_load.lua's ARGV from PostgreSQL, or None (no such coupon)
CouponLoader = Callable[[str], Awaitable[list[Any] | None]]

# coupon_redeem's refusals, as the buyer reads them (code, detail)
REFUSED: dict[str, tuple[str, str]] = {
    "ended": ("coupon_expired", "This coupon has ended"),
    "expired": ("coupon_expired", "This coupon has expired"),
    "used_up": ("coupon_used_up", "This coupon has been used up"),
    "buyer_limit": ("coupon_limit_exceeded", "You have used this coupon as often as it allows"),
    "forbidden": ("coupon_not_applicable", "This coupon use belongs to another checkout"),
}


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """What a checkout needs of a coupon to price its order."""

    id: str
    code: str
    percent_off: int | None
    amount_off: int | None

    def discount(self, total: int) -> int:
        """The discount on `total` (minor units): a percentage rounds down (never more than it says),
        an amount is at most the total (an order never goes below zero)."""
        if self.percent_off is not None:
            return total * self.percent_off // 100
        return min(total, self.amount_off or 0)


@dataclass(frozen=True, slots=True)
class Redeemed:
    code: str  # ok | replay | one of REFUSED
    uses_left: int = 0


@dataclass(frozen=True, slots=True)
class CouponCount:
    status: str
    used: int
    max_uses: int

    @property
    def uses_left(self) -> int:
        return max(0, self.max_uses - self.used)


class CouponBook:
    """Atomic redemptions over per-coupon Redis keys, rebuilt from PostgreSQL when lost."""

    def __init__(self, redis: Redis, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.scripts = Scripts(redis)
        self.clock = clock
        self._loader: CouponLoader | None = None
        self.stats = {"redeemed": 0, "returned": 0, "rebuilds": 0}

    def set_loader(self, loader: CouponLoader) -> None:
        self._loader = loader

    async def load(self, coupon_id: str, args: list[Any]) -> bool:
        """Write the counters unless present. True if this call created them."""
        result = await self.scripts.coupon_load(keys=coupon_keys(coupon_id), args=args)
        return _s(result[0]) == "created"

    async def rebuild(self, coupon_id: str) -> None:
        args = await self._loader(coupon_id) if self._loader is not None else None
        if args is None:
            raise DomainError("coupon_unknown", "No such coupon", field="coupon")
        await self.load(coupon_id, args)
        self.stats["rebuilds"] += 1
        log.warning("rebuilt coupon counters from the database coupon=%s", coupon_id)

    async def _run(self, script: Any, coupon_id: str, keys: list[str], args: list[Any]) -> list[Any]:
        result = await script(keys=keys, args=args)
        if _s(result[0]) in UNTRUSTED:
            await self.rebuild(coupon_id)
            result = await script(keys=keys, args=args)
            if _s(result[0]) in UNTRUSTED:  # the primary changed again while rebuilding
                raise RedisConnectionError("Redis primary changed during a coupon rebuild; retry")
        return list(result)

    async def redeem(self, coupon_id: str, use_id: str, buyer: str) -> Redeemed:
        """Count one use for `buyer`'s checkout `use_id`, or say why not (on the node's clock)."""
        keys = coupon_keys(coupon_id)
        r = await self._run(self.scripts.coupon_redeem, coupon_id, keys, [now_ms(self.clock), use_id, buyer])
        code = _s(r[0])
        if code == "ok":
            self.stats["redeemed"] += 1
        return Redeemed(code, int(r[1]) if len(r) > 1 else 0)

    async def give_back(self, coupon_id: str, use_id: str) -> bool:
        """Undo `use_id`'s redemption (a failed checkout, a canceled order); False if it held none."""
        r = await self._run(self.scripts.coupon_return, coupon_id, coupon_keys(coupon_id), [use_id])
        returned = _s(r[0]) == "returned"
        if returned:
            self.stats["returned"] += 1
        return returned

    async def count(self, coupon_id: str, *, end: bool = False) -> CouponCount:
        """The live counters (ending the coupon first with `end`: redemptions are refused after)."""
        keys = coupon_keys(coupon_id)[:1]
        r = await self._run(self.scripts.coupon_view, coupon_id, keys, ["1" if end else "0"])
        return CouponCount(_s(r[1]), int(r[2]), int(r[3]))


def refusal(code: str) -> DomainError:
    """The buyer's error for one of coupon_redeem's refusals."""
    name, detail = REFUSED[code]
    return DomainError(name, detail, field="coupon")  # type: ignore[arg-type]


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
