"""The Python face of the reservation engine: claims (batched per offer), release, checkout, sweep, end.

Redis holds the live counters; PostgreSQL holds the truth. Whenever a script finds an offer's counters
missing (Redis restarted or was flushed) or stale (written by another Redis process: a failover promoted
a replica that may miss acknowledged writes), the engine rebuilds them from PostgreSQL and tries again:
an empty or stale Redis is never read as "no stock" or "full stock".
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.clock import SYSTEM_CLOCK, Clock, now_ms
from server.errors import NotFound
from server.inventory.keys import ACTIVE_OFFERS, hold_offer_id, offer_keys, order_marks_key, share_key
from server.inventory.scripts import Scripts

log = logging.getLogger("liveshop.inventory")

# How long a node trusts its own "this offer is sold out" flag before asking Redis again. Restock
# events clear it at once; the bound only matters if such an event is lost.
SOLD_OUT_TRUST_S = 2.0
CHECKOUT_DEADLINE_MS = 30_000


class OfferMissing(NotFound):
    """The offer's counters are not in Redis and PostgreSQL has no such offer either."""

    def __init__(self, offer_id: str) -> None:
        super().__init__("offer")
        self.offer_id = offer_id


@dataclass(frozen=True, slots=True)
class Counters:
    available: int
    held: int
    sold: int


@dataclass(frozen=True, slots=True)
class Claim:
    """One reservation attempt's outcome. `code` is ok, replay, sold_out, limit_exceeded, offer_ended or
    idempotency_key_reused."""

    code: str
    hold_id: str = ""
    quantity: int = 0
    expires_ms: int = 0
    remaining: int = 0


@dataclass(frozen=True, slots=True)
class PayOutcome:
    """What pay.lua did: sold (the awaiting hold), late (units taken again after the hold lapsed),
    none (no unit left), back (the order's units were already given back) or missing; `first` is
    False when an earlier call already decided."""

    outcome: str
    first: bool
    offer_id: str = ""
    counters: Counters | None = None  # set when the counters moved: announce() them after commit
    restock: bool = False


@dataclass
class _Pending:
    buyer: str
    quantity: int
    idem_key: str
    body_hash: str
    future: asyncio.Future[Claim]


@dataclass
class _SoldOut:
    """A node-local memory of a sold-out offer, with its successful claims for exact replays.

    `replays` is the idem hash as Redis sent it (b"buyer|key" -> b"hash|hold|qty|exp"): an entry is
    parsed only when a retry asks for it, since a big offer has thousands and few are ever asked for.
    """

    until: float
    replays: dict[bytes, bytes] = field(default_factory=dict)


SOLD_OUT = Claim("sold_out", remaining=0)
UNTRUSTED = ("missing", "stale")  # script answers meaning "rebuild this offer from PostgreSQL first"

Loader = Callable[[str], Awaitable[list[Any] | None]]
ChangeListener = Callable[[str, Counters, bool], Awaitable[None] | None]


def new_hold_id(offer_id: str) -> str:
    return f"{offer_id}.{secrets.token_hex(10)}"


class Inventory:
    """Atomic stock operations for flash offers over one Redis (or Redis Cluster-ready keys)."""

    def __init__(
        self, redis: Redis, *, hold_seconds: int, batch_max: int = 64, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.redis = redis
        self.clock = clock  # every `now` the scripts get comes from it (expiry, offer windows)
        self.scripts = Scripts(redis)
        self.hold_ms = hold_seconds * 1000
        self.batch_max = batch_max
        self._loader: Loader | None = None
        self._listeners: list[ChangeListener] = []
        self._queues: dict[str, list[_Pending]] = {}
        self._sold_out: dict[str, _SoldOut] = {}
        self._ended: set[str] = set()
        self._flushing: set[asyncio.Future[None]] = set()
        self.stats = {
            "claims": 0,
            "redis_batches": 0,
            "local_answers": 0,
            "rebuilds": 0,
            "holds_kept": 0,
            "holds_dropped": 0,
        }

    # wiring -------------------------------------------------------------------------------------
    def set_loader(self, loader: Loader) -> None:
        """`loader(offer_id)` returns load.lua's ARGV from PostgreSQL (or None: no such offer)."""
        self._loader = loader

    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    async def _changed(self, offer_id: str, counters: Counters, restock: bool = False) -> None:
        """Tell listeners; `restock` means units came back, so every node must drop its sold-out flag."""
        if counters.available > 0:
            self.forget_sold_out(offer_id)
        for listener in self._listeners:
            try:
                result = listener(offer_id, counters, restock)
                if result is not None:
                    await result
            except Exception:
                log.exception("inventory change listener failed offer=%s", offer_id)

    def forget_sold_out(self, offer_id: str) -> None:
        self._sold_out.pop(offer_id, None)

    def mark_ended(self, offer_id: str) -> None:
        """Ended offers never reopen: answer their claims without Redis from now on."""
        self._ended.add(offer_id)
        self._sold_out.pop(offer_id, None)

    # loading ------------------------------------------------------------------------------------
    async def load(self, offer_id: str, args: list[Any]) -> bool:
        """Write counters (load_args' list) unless this Redis process already did. True if created."""
        result = await self.scripts.load(keys=offer_keys(offer_id), args=[now_ms(self.clock), *args])
        if args[3] == "active":
            await self.redis.sadd(ACTIVE_OFFERS, offer_id)
        created = _s(result[0]) == "created"
        if created and (int(result[1]) or int(result[3])):
            log.warning(
                "offer counters rewritten from the database offer=%s holds_kept=%s holds_dropped=%s",
                offer_id,
                int(result[1]),
                int(result[3]),
            )
        if created:
            self.stats["holds_kept"] += int(result[1])
            self.stats["holds_dropped"] += int(result[3])
        return created

    async def hold_ids(self, offer_id: str) -> list[str]:
        return [_s(h) for h in await self.redis.hkeys(offer_keys(offer_id)[1])]

    async def rebuild(self, offer_id: str) -> None:
        """Counters lost or stale: take them from PostgreSQL's truth (the loader locks the offer row)."""
        if self._loader is None:
            raise OfferMissing(offer_id)
        args = await self._loader(offer_id)
        if args is None:
            raise OfferMissing(offer_id)
        self.stats["rebuilds"] += 1
        self._sold_out.pop(offer_id, None)
        log.warning("rebuilt offer counters from the database offer=%s", offer_id)
        state = await self.state(offer_id)
        if state is not None:  # units may have come back (lost holds): every node drops its flag
            counters = Counters(int(state["available"]), int(state["held"]), int(state["sold"]))
            await self._changed(offer_id, counters, True)

    async def _run(
        self, script: Any, offer_id: str, keys: list[str], args: list[Any], *, rebuild: bool = True
    ) -> list[Any]:
        """Run a script; if the counters are gone or stale, rebuild them and run it again (unless the
        caller holds the offer's row lock, which the rebuild would wait for: then it gets the code)."""
        result = await script(keys=keys, args=args)
        if _s(result[0]) in UNTRUSTED and rebuild:
            await self.rebuild(offer_id)
            result = await script(keys=keys, args=args)
            code = _s(result[0])
            if code == "missing":
                raise OfferMissing(offer_id)
            if code == "stale":  # the primary changed again while rebuilding
                raise RedisConnectionError("Redis primary changed during a rebuild; retry")
        return list(result)

    # claims -------------------------------------------------------------------------------------
    async def reserve(
        self, offer_id: str, buyer: str, quantity: int, idem_key: str = "", body_hash: str = ""
    ) -> Claim:
        """Claim units for a buyer. Concurrent claims on one offer share one Redis round trip."""
        self.stats["claims"] += 1
        if offer_id in self._ended and not idem_key:  # a keyed retry may be owed its first answer
            self.stats["local_answers"] += 1
            return Claim("offer_ended")
        known = self._sold_out.get(offer_id)
        if known is not None:
            if self.clock.monotonic() < known.until:
                self.stats["local_answers"] += 1
                return self._answer_sold_out(known, buyer, idem_key, body_hash)
            self._sold_out.pop(offer_id, None)
        future: asyncio.Future[Claim] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(offer_id)
        if queue is None:
            queue = self._queues[offer_id] = []
            asyncio.get_running_loop().call_soon(self._start_flush, offer_id)
        queue.append(_Pending(buyer, quantity, idem_key, body_hash, future))
        return await future

    def known_sold_out(self, offer_id: str) -> bool:
        """This node knows the offer is sold out or ended (no Redis needed to say no)."""
        known = self._sold_out.get(offer_id)
        return offer_id in self._ended or (known is not None and self.clock.monotonic() < known.until)

    async def take_share(self, offer_id: str, who: str, quantity: int, cap: int, ttl_s: int = 86400) -> bool:
        """Counts `quantity` more units against `who`'s cap on this offer; False (and nothing counted)
        when that would pass the cap. Released or expired holds are not given back: churning holds
        cannot stretch a network's share."""
        key = share_key(offer_id, who)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, quantity)
            pipe.expire(key, ttl_s)
            total, _ = await pipe.execute()
        if int(total) > cap:
            await self.redis.decrby(key, quantity)
            return False
        return True

    async def return_share(self, offer_id: str, who: str, quantity: int) -> None:
        """A claim that did not hold anything gives its count back."""
        await self.redis.decrby(share_key(offer_id, who), quantity)

    @staticmethod
    def _answer_sold_out(known: _SoldOut, buyer: str, idem_key: str, body_hash: str) -> Claim:
        if idem_key:
            prev = known.replays.get(f"{buyer}|{idem_key}".encode())
            if prev is not None:
                phash, hid, qty, exp = prev.decode().rsplit("|", 3)
                if phash != body_hash:
                    return Claim("idempotency_key_reused")
                return Claim("replay", hid, int(qty), int(exp))
        return SOLD_OUT

    def _start_flush(self, offer_id: str) -> None:
        queue = self._queues.pop(offer_id, [])
        while queue:
            batch, queue = queue[: self.batch_max], queue[self.batch_max :]
            task = asyncio.ensure_future(self._flush(offer_id, batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush(self, offer_id: str, batch: list[_Pending]) -> None:
        try:
            args: list[Any] = [now_ms(self.clock), self.hold_ms, len(batch)]
            for p in batch:
                args += [p.buyer, p.quantity, new_hold_id(offer_id), p.idem_key, p.body_hash]
            self.stats["redis_batches"] += 1
            result = await self._run(self.scripts.reserve, offer_id, offer_keys(offer_id), args)
        except BaseException as exc:
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            if not isinstance(exc, Exception):
                raise
            return
        counters = Counters(int(result[1]), int(result[2]), int(result[3]))
        claims = [_claim(raw) for raw in result[4:]]
        for p, claim in zip(batch, claims, strict=True):
            if not p.future.done():
                p.future.set_result(claim)
        if any(c.code == "offer_ended" for c in claims):
            self.mark_ended(offer_id)
        elif counters.available == 0 and offer_id not in self._sold_out and offer_id not in self._ended:
            await self._remember_sold_out(offer_id)
        if any(c.code == "ok" for c in claims):
            await self._changed(offer_id, counters)

    async def _remember_sold_out(self, offer_id: str) -> None:
        """Once sold out, no new claim can succeed until units return, so the offer's successful
        claims are complete: keep them to answer exact replays without Redis."""
        raw = await self.redis.hgetall(offer_keys(offer_id)[4])
        replays = {_b(k): _b(v) for k, v in raw.items()}
        self._sold_out[offer_id] = _SoldOut(self.clock.monotonic() + SOLD_OUT_TRUST_S, replays)

    # holds ----------------------------------------------------------------------------------------
    async def release(self, hold_id: str, buyer: str) -> str:
        """ok, not_found, forbidden or checkout_in_progress."""
        offer_id = _offer_of(hold_id)
        keys = offer_keys(offer_id)[:4]
        result = await self._run(self.scripts.release, offer_id, keys, [hold_id, buyer])
        code = _s(result[0])
        if code == "ok":
            await self._changed(offer_id, Counters(int(result[1]), int(result[2]), int(result[3])), True)
        return code

    async def ensure_trusted(self, offer_id: str) -> None:
        """Rebuild the offer now if its counters are missing or stale, before a caller takes the
        offer's row lock (under which it could not rebuild): a hold that survived a failover can
        then be checked out instead of being told it expired."""
        await self._run(self.scripts.check, offer_id, offer_keys(offer_id)[:1], [])

    async def begin_checkout(self, hold_id: str, buyer: str) -> tuple[str, int]:
        """(ok, quantity) or (reservation_expired | forbidden | checkout_in_progress, 0).

        Called under the offer's share lock, so it never rebuilds: counters missing or stale here
        (a failover since ensure_trusted) mean the hold cannot be trusted: "reservation expired"."""
        offer_id = _offer_of(hold_id)
        now = now_ms(self.clock)
        result = await self._run(
            self.scripts.begin_checkout,
            offer_id,
            offer_keys(offer_id)[:4],
            [hold_id, buyer, now, now + CHECKOUT_DEADLINE_MS],
            rebuild=False,
        )
        code = _s(result[0])
        if code in UNTRUSTED:  # every hold went with the lost or stale counters: expired, never charged
            return "reservation_expired", 0
        return code, int(result[1]) if code == "ok" else 0

    async def settle_checkout(self, hold_id: str, outcome: str, deadline_ms: int = 0) -> str:
        """`sold` once the order committed, `abort` if it did not, `return` to give units back now,
        `await` to keep the units held for the order's payment until `deadline_ms`."""
        offer_id = _offer_of(hold_id)
        keys = offer_keys(offer_id)[:4]
        result = await self.scripts.settle_checkout(keys=keys, args=[hold_id, outcome, deadline_ms])
        code = _s(result[0])
        if code == "ok" and outcome != "abort":
            counters = Counters(int(result[1]), int(result[2]), int(result[3]))
            await self._changed(offer_id, counters, outcome == "return")
        return code

    # payments -----------------------------------------------------------------------------------
    async def pay(self, hold_id: str, order_id: str, buyer: str, quantity: int) -> PayOutcome:
        """A paid order's units become sold, once: its awaiting hold, or (the hold lapsed) units still
        available. `outcome` none means no unit is left: the money goes back. Never rebuilds (the
        caller may hold the offer's row lock): `missing` tells it to rebuild and retry."""
        offer_id = _offer_of(hold_id)
        keys = [*offer_keys(offer_id)[:4], order_marks_key(offer_id)]
        result = await self.scripts.pay(keys=keys, args=[hold_id, order_id, buyer, quantity])
        outcome = _s(result[0])
        if outcome in UNTRUSTED:  # the caller rebuilds (outside its lock) and tries again
            return PayOutcome("missing", False, offer_id)
        first = int(result[4]) == 1
        counters = Counters(int(result[1]), int(result[2]), int(result[3]))
        return PayOutcome(
            outcome, first, offer_id, counters if first and outcome in ("sold", "late") else None
        )

    async def unsell(
        self, hold_id: str, order_id: str, buyer: str, quantity: int, was_sold: bool
    ) -> PayOutcome:
        """A refunded or canceled order's units go back, once: unsold, released, none, already or
        missing (counters not in Redis; the caller rebuilds if the offer is still active)."""
        offer_id = _offer_of(hold_id)
        keys = [*offer_keys(offer_id)[:4], order_marks_key(offer_id)]
        args: list[str | int] = [hold_id, order_id, buyer, quantity, "1" if was_sold else "0"]
        result = await self.scripts.unsell(keys=keys, args=args)
        outcome = "missing" if _s(result[0]) in UNTRUSTED else _s(result[0])
        if outcome in ("unsold", "released"):
            counters = Counters(int(result[1]), int(result[2]), int(result[3]))
            return PayOutcome(outcome, True, offer_id, counters, restock=True)
        return PayOutcome(outcome, False, offer_id)

    async def announce(self, outcome: PayOutcome) -> None:
        """Tell listeners what pay/unsell changed; callers do it after their transaction commits, so no
        listener runs while row locks are held."""
        if outcome.counters is not None:
            await self._changed(outcome.offer_id, outcome.counters, outcome.restock)

    # sweeping and ending -------------------------------------------------------------------------
    async def sweep(
        self, offer_id: str, limit: int = 1000, *, at_ms: int | None = None
    ) -> tuple[int, list[str], dict[str, Any]]:
        """Return expired holds (as of the clock, or `at_ms`). Gives (units returned, stale checkout hold
        ids, state)."""
        keys = offer_keys(offer_id)[:4]
        now = now_ms(self.clock) if at_ms is None else at_ms
        result = await self._run(self.scripts.sweep, offer_id, keys, [now, limit])
        returned = int(result[1])
        counters = Counters(int(result[2]), int(result[3]), int(result[4]))
        state = {"status": _s(result[5]), "ends_at": int(result[6])}
        if returned:
            await self._changed(offer_id, counters, True)
        return returned, [_s(h) for h in result[7:]], state

    async def finish(self, offer_id: str, quantity: int, sold: int, keep_seconds: int = 7 * 86400) -> None:
        """End the offer in Redis with PostgreSQL's sold count (the caller holds the offer lock, so
        the script writes ended counters itself if Redis had lost them)."""
        await self.scripts.finish(keys=offer_keys(offer_id), args=[quantity, sold, keep_seconds])
        self.mark_ended(offer_id)
        await self.redis.srem(ACTIVE_OFFERS, offer_id)
        await self._changed(offer_id, Counters(0, 0, sold))

    async def move_window(self, offer_id: str, ends_at_ms: int) -> None:
        """The offer's window now ends at `ends_at_ms`; PostgreSQL must say so first (a rebuild reads
        the window from it)."""
        await self._run(self.scripts.window, offer_id, offer_keys(offer_id)[:1], [ends_at_ms])

    async def drop_active(self, offer_id: str) -> None:
        await self.redis.srem(ACTIVE_OFFERS, offer_id)

    async def active_offers(self) -> list[str]:
        return sorted(_s(m) for m in await self.redis.smembers(ACTIVE_OFFERS))

    async def state(self, offer_id: str) -> dict[str, int | str] | None:
        """The offer's counters as Redis has them, or None if Redis does not have them."""
        raw = await self.redis.hgetall(offer_keys(offer_id)[0])
        if not raw:
            return None
        out: dict[str, int | str] = {}
        for k, v in raw.items():
            key, value = _s(k), _s(v)
            out[key] = int(value) if value.lstrip("-").isdigit() else value
        return out

    async def counters(self, offer_id: str) -> Counters:
        """Live counters, rebuilt from PostgreSQL first if Redis lost them."""
        state = await self.state(offer_id)
        if state is None:
            await self.rebuild(offer_id)
            state = await self.state(offer_id)
            if state is None:
                raise OfferMissing(offer_id)
        return Counters(int(state["available"]), int(state["held"]), int(state["sold"]))

    async def holds_of(self, offer_id: str) -> dict[str, tuple[str, int, int, str]]:
        """Every hold of an offer: hold id -> (buyer, qty, expires_ms, state): "h" held, "c" checking
        out, "p" its order awaits payment."""
        raw = await self.redis.hgetall(offer_keys(offer_id)[1])
        return {_s(k): _hold_entry(v) for k, v in raw.items()}

    async def hold(self, hold_id: str) -> tuple[str, int, int, str] | None:
        """One hold as holds_of gives it, or None if it expired, was released or checked out."""
        raw = await self.redis.hget(offer_keys(_offer_of(hold_id))[1], hold_id)
        return None if raw is None else _hold_entry(raw)


def _hold_entry(raw: Any) -> tuple[str, int, int, str]:
    buyer, qty, exp, st = _s(raw).rsplit("|", 3)
    return buyer, int(qty), int(exp), st


def _b(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _offer_of(hold_id: str) -> str:
    offer_id = hold_offer_id(hold_id)
    if offer_id is None:
        raise OfferMissing(hold_id)
    return offer_id


def _claim(raw: list[Any]) -> Claim:
    code = _s(raw[0])
    if code in ("ok", "replay"):
        return Claim(code, _s(raw[1]), int(raw[2]), int(raw[3]))
    if code in ("sold_out", "limit_exceeded"):
        return Claim(code, remaining=int(raw[1]))
    return Claim(code)
