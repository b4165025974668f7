"""The live room service of one node: wires chat, policy, viewers and the commerce feed together."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import socketio
from aiohttp import web
from cachetools import TTLCache
from sqlalchemy import select

from server.api.auth import Principal
from server.api.context import CLOCK, DB, INVENTORY, REDIS, SETTINGS
from server.api.models import User
from server.api.seams import BROADCAST_SNAPSHOT, MEDIA_CLOCK, PINNED_CLAIM
from server.clock import now_ms, utc
from server.db.base import new_id
from server.errors import DomainError
from server.live import keys
from server.live.audience import Audience
from server.live.chat import Ack, Chat, error, problem_ack
from server.live.feed import Feed
from server.live.giveaway import could_enter, keyword_entry
from server.live.manager import Bus
from server.live.models import ModerationAction
from server.live.policy import (
    REFRESH_S,
    Policies,
    Policy,
    SettingsChange,
    lift,
    restrict,
    save_settings,
    settings_view,
)
from server.live.spawn import spawn
from server.live.text import MAX_CHARS, TextProblem, blocked_matcher, buy_quantity, clean_words, normalise
from server.live.viewers import Viewers
from server.loading import SingleFlight

log = logging.getLogger("liveshop.live")
NAMESPACE = "/live"


def user_room(user_id: str) -> str:
    """Every connection of one user is in this room: notices meant for that viewer alone."""
    return f"user:{user_id}"


MAX_BUCKETS = 200_000  # chat rate buckets kept (one per recent chatter)
JOIN_BURST = 5.0
JOIN_RATE_PER_S = 0.5
MAX_TIMEOUT_S = 7 * 86400
BUY_RETRY_WINDOW_S = 10  # a keyword message resent within this long without a client id claims once


@dataclass
class Conn:
    user: Principal
    broadcast_id: str | None = None
    is_room_host: bool = False
    network: str | None = None  # the client's network key (None for trusted load generators)
    source: str | None = None  # where the viewer came from (the join's attribution), for the report
    joins: Bucket | None = None  # each join builds a snapshot: a socket may not ask for one in a loop


class Bucket:
    """A token bucket per user: `burst` at once, `rate` per second after that."""

    __slots__ = ("stamp", "tokens")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.stamp = now

    def take(self, rate: float, burst: float, now: float) -> float:
        """0 when allowed, else seconds until the next token (`now` from the node's monotonic clock)."""
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate


class LiveRoom:
    def __init__(self, app: web.Application, sio: socketio.AsyncServer, bus: Bus) -> None:
        self.app = app
        self.sio = sio
        self.bus = bus
        self.clock = app[CLOCK]
        self.cfg = app[SETTINGS].chat
        self.conns: dict[str, Conn] = {}
        # An idle bucket is full again after burst / rate seconds, so forgetting it then changes nothing.
        idle_s = max(60.0, 2 * self.cfg.burst / max(self.cfg.rate_per_s, 0.001))
        self.buckets: TTLCache[str, Bucket] = TTLCache(
            maxsize=MAX_BUCKETS, ttl=idle_s, timer=self.clock.monotonic
        )
        self._building: SingleFlight[str, dict[str, Any]] = SingleFlight()
        self.policies = Policies(app[DB], self.clock)
        self.chat = Chat(
            app[REDIS], app[DB], self.emit, tick_s=self.cfg.tick_ms / 1000, history_cap=self.cfg.history_cap
        )
        self.viewers = Viewers(
            app[REDIS],
            app[SETTINGS].node_id,
            self.emit_local,
            self.chat.take_delivered,
            interval_s=self.cfg.viewers_interval_s,
            clock=self.clock,
        )
        self.audience = Audience(app[REDIS], self.clock, sample_s=self.cfg.report_sample_s)
        self.feed = Feed(
            app[INVENTORY],
            app[DB],
            self.emit,
            lambda: app[BROADCAST_SNAPSHOT],
            interval_s=self.cfg.stock_interval_ms / 1000,
        )
        self.feed.media_clock = lambda broadcast_id: self.app[MEDIA_CLOCK](broadcast_id)
        bus.on_control = self.on_control
        bus.on_recovered = self.resync

    # emitting ----------------------------------------------------------------------------------
    async def emit(self, event: str, data: Any, room: str) -> None:
        """To the room on every process (the manager publishes once per call)."""
        await self.sio.emit(event, data, room=room, namespace=NAMESPACE)

    async def emit_local(self, event: str, data: Any, room: str) -> None:
        """To this process's viewers of the room only."""
        await self.sio.emit(event, data, room=room, namespace=NAMESPACE, ignore_queue=True)

    # cross-process control ---------------------------------------------------------------------
    async def on_control(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "policy":
            broadcast_id = data.get("broadcast_id")
            if isinstance(broadcast_id, str) and self.policies.peek(broadcast_id) is not None:
                await self.policies.reload(broadcast_id)

    async def policy_changed(self, broadcast_id: str) -> None:
        await self.bus.control("policy", {"broadcast_id": broadcast_id})

    async def resync(self) -> None:
        """Events may have been lost while the channel was down: refresh caches, resend snapshots."""
        self.policies.forget_all()
        self.chat.forget_seeded()
        for broadcast_id, n in list(self.viewers.local.items()):
            if n <= 0:
                continue
            try:
                snapshot = await self.snapshot(broadcast_id)
            except Exception as exc:
                log.warning("resync snapshot failed broadcast=%s error=%r", broadcast_id, exc)
                continue
            await self.emit_local("snapshot", snapshot, broadcast_id)

    # snapshot ----------------------------------------------------------------------------------
    def join_allowed(self, conn: Conn) -> float:
        """0 when this socket may join (again), else seconds to wait."""
        now = self.clock.monotonic()
        if conn.joins is None:
            conn.joins = Bucket(JOIN_BURST, now)
        return conn.joins.take(JOIN_RATE_PER_S, JOIN_BURST, now)

    async def _broadcast_view(self, broadcast_id: str) -> dict[str, Any]:
        """Joins of one broadcast that arrive together share one database read."""
        return await self._building.run(broadcast_id, lambda: self.app[BROADCAST_SNAPSHOT](broadcast_id))

    async def snapshot(self, broadcast_id: str) -> dict[str, Any]:
        view = dict(await self._broadcast_view(broadcast_id))
        pinned = view.pop("pinned", None)
        pins = view.pop("pins", [pinned] if pinned else [])
        offers = view.pop("offers", [])
        coupons = view.pop("coupons", [])
        viewers = view.pop("viewers", 0)
        self.feed.remember(offers)
        try:
            recent = await self.chat.recent(broadcast_id)
        except Exception as exc:
            log.warning("recent chat unavailable broadcast=%s error=%r", broadcast_id, exc)
            recent = []
        return {
            "broadcast": view,
            "pinned": pinned,
            "pins": pins,
            "offers": offers,
            "coupons": coupons,
            "recent_chat": recent,
            "viewers": viewers,
            "ended": view.get("status") == "ended",
        }

    # chat --------------------------------------------------------------------------------------
    async def send_chat(
        self, conn: Conn, raw: str, *, sid: str | None = None, client_id: str | None = None
    ) -> Ack:
        """Deliver a chat message; one that is a buy keyword also claims the pinned offer for its sender
        (the `reservation` or `error` event goes to `sid` alone). `client_id` names the message across
        the client's retries."""
        broadcast_id = conn.broadcast_id
        if broadcast_id is None:
            return error("not_joined", "Join a broadcast first")
        if len(raw) > MAX_CHARS * 8:
            return error("message_too_long", f"At most {MAX_CHARS} characters")
        try:
            text = normalise(raw)
        except TextProblem as exc:
            return error(exc.code, exc.detail)
        policy = await self.policies.get(broadcast_id)
        user = conn.user
        is_host = policy.is_staff(user)
        if policy.status == "ended":
            return error("broadcast_ended", "The broadcast has ended")
        if user.id in policy.bans or (
            not is_host and conn.network is not None and conn.network in policy.bans
        ):
            return error("banned", "You are banned from this broadcast")
        if not is_host:
            left = policy.timed_out_for(user.id, self.clock.time())
            if left > 0:
                return error(
                    "timed_out", f"You are timed out for {left:.0f} s", retry_after_ms=int(left * 1000)
                )
        if policy.matcher is not None and policy.matcher.search(text):
            return error("blocked_word", "The message contains a word the host blocked")
        if policy.slow_mode_s > 0 and not is_host:
            key = keys.slow_mode(broadcast_id, user.id)
            redis = self.app[REDIS]
            if not await redis.set(key, "1", nx=True, ex=policy.slow_mode_s):
                ttl = await redis.pttl(key)
                return error(
                    "slow_mode",
                    f"Slow mode: one message every {policy.slow_mode_s} s",
                    retry_after_ms=max(int(ttl), 1),
                )
        now = self.clock.monotonic()
        bucket = self.buckets.get(user.id)
        if bucket is None:
            bucket = self.buckets[user.id] = Bucket(self.cfg.burst, now)
        wait = bucket.take(self.cfg.rate_per_s, self.cfg.burst, now)
        if wait > 0:
            return error(
                "rate_limited", "You are sending messages too fast", retry_after_ms=int(wait * 1000) + 1
            )
        message: dict[str, Any] = {
            "id": new_id("cm"),
            "text": text,
            "ts": now_ms(self.clock),
            # The role the room sees is the role in this room: a host of another shop is a viewer here.
            "user": {**user.public(), "role": "host" if is_host else "viewer"},
        }
        if is_host:
            message["badge"] = "host"
        if not is_host and sid is not None and could_enter(text):  # a giveaway's keyword enters
            spawn(keyword_entry(self, sid, broadcast_id, user, text))
        moment = await self.app[MEDIA_CLOCK](broadcast_id)
        if moment is not None:  # where the video was when the room got it: the replay shows it there
            message["at_s"] = moment.at_s
        quantity = None if is_host else buy_quantity(text, policy.all_buy_keywords())
        if quantity is None or sid is None:
            ack = await self.chat.submit(broadcast_id, message)
        else:
            ack, _ = await asyncio.gather(
                self.chat.submit(broadcast_id, message),
                self._claim(
                    sid,
                    policy,
                    user,
                    quantity,
                    await self._buy_key(broadcast_id, user.id, text, message["id"], client_id),
                ),
            )
        if not is_host and "ok" in ack:  # the report counts the audience's messages, not the host's
            await self.audience.chatted(broadcast_id, user.id)
        return ack

    # comment-to-buy ----------------------------------------------------------------------------
    async def _buy_key(
        self, broadcast_id: str, user_id: str, text: str, message_id: str, client_id: str | None
    ) -> str:
        """The claim's idempotency key: the client's message id when it sends one; otherwise the first
        message with the same normalised text from this user in the last BUY_RETRY_WINDOW_S names it."""
        if client_id is not None:
            return "chat:" + client_id
        digest = hashlib.sha256(text.casefold().encode()).hexdigest()[:16]
        key = keys.buy_message(broadcast_id, user_id, digest)
        redis = self.app[REDIS]
        if await redis.set(key, message_id, nx=True, ex=BUY_RETRY_WINDOW_S):
            return "chat:" + message_id
        first = await redis.get(key)
        return "chat:" + (first.decode() if isinstance(first, bytes) else str(first or message_id))

    async def _claim(self, sid: str, policy: Policy, user: Principal, quantity: int, key: str) -> None:
        """Claim through the seam and tell the sender alone; the room hears of new claims if the host
        chose so. Never raises: the chat message is delivered whatever the claim's outcome."""
        try:
            conn = self.conns.get(sid)
            network, source = (conn.network, conn.source) if conn is not None else (None, None)
            claimed = await self.app[PINNED_CLAIM](policy.broadcast_id, user, quantity, key, network, source)
        except DomainError as exc:
            await self.emit_to(sid, "error", problem_ack(exc)["error"])
            return
        except Exception as exc:
            log.warning("comment-to-buy claim failed broadcast=%s error=%r", policy.broadcast_id, exc)
            await self.emit_to(
                sid,
                "error",
                error(
                    "service_unavailable", "Buying is briefly unavailable; retry shortly", retry_after_ms=1000
                )["error"],
            )
            return
        if claimed is None:
            return  # nothing pinned is on offer: the message was plain chat
        hold, replayed = claimed
        await self.emit_to(sid, "reservation", hold)
        if policy.announce_claims and not replayed:
            await self.emit(
                "claimed",
                {
                    "broadcast_id": policy.broadcast_id,
                    "user": {"id": user.id, "nickname": user.nickname},
                    "quantity": hold["quantity"],
                    "offer_id": hold["offer_id"],
                    "text": f"{user.nickname} claimed {hold['quantity']}",
                },
                policy.broadcast_id,
            )

    async def emit_to(self, sid: str, event: str, data: Any) -> None:
        """To one connection of this process."""
        await self.sio.emit(event, data, to=sid, namespace=NAMESPACE, ignore_queue=True)

    # host actions ------------------------------------------------------------------------------
    async def host_policy(self, broadcast_id: str, user: Principal) -> Policy:
        policy = await self.policies.get(broadcast_id)
        if not policy.exists:
            raise DomainError("not_found", "broadcast not found")
        if not policy.is_staff(user):
            raise DomainError("forbidden", "Only this broadcast's shop may do this")
        return policy

    async def moderate(self, user: Principal, broadcast_id: str, data: dict[str, Any]) -> dict[str, Any]:
        await self.host_policy(broadcast_id, user)
        action = data.get("action")
        target = data.get("user_id")
        record: dict[str, Any] = {}
        if action == "delete":
            message_id = data.get("message_id")
            if not isinstance(message_id, str) or not message_id:
                raise DomainError(
                    "validation_error", "message_id: a message id is required", field="message_id"
                )
            found = await self.chat.delete(broadcast_id, message_id)
            if not found:
                raise DomainError("not_found", "message not found", field="message_id")
            await self._record(broadcast_id, user.id, "delete", None, message_id, {})
            await self.emit("chat_deleted", {"broadcast_id": broadcast_id, "id": message_id}, broadcast_id)
            return {"ok": True}
        if action not in ("timeout", "ban", "unban", "untimeout"):
            raise DomainError(
                "validation_error", "action: delete, timeout, ban, unban or untimeout", field="action"
            )
        if not isinstance(target, str) or not target or len(target) > 40:
            raise DomainError("validation_error", "user_id: a user id is required", field="user_id")
        if target == user.id:
            raise DomainError("validation_error", "user_id: a host cannot moderate themself", field="user_id")
        until = None
        if action == "timeout":
            seconds = data.get("seconds")
            if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= MAX_TIMEOUT_S:
                raise DomainError(
                    "validation_error", f"seconds: an integer from 1 to {MAX_TIMEOUT_S}", field="seconds"
                )
            until = utc(self.clock) + timedelta(seconds=seconds)
            record = {"seconds": seconds, "until": until.isoformat()}
        # A ban holds the person, not one token: their account and the networks they used.
        people = [target, *(await self._networks_of(target))] if action in ("ban", "unban") else [target]
        async with self.app[DB]() as session, session.begin():
            for who in people:
                if action in ("timeout", "ban"):
                    await restrict(session, broadcast_id, who, action, until)
                else:
                    await lift(session, broadcast_id, who, action.removeprefix("un"))
            session.add(
                ModerationAction(
                    broadcast_id=broadcast_id,
                    actor_id=user.id,
                    action=action,
                    target_user_id=target,
                    details=record,
                )
            )
        await self.policy_changed(broadcast_id)
        return {"ok": True, **record}

    async def _networks_of(self, user_id: str) -> set[str]:
        """Where a user connects from on this node, and the network their guest session was made on."""
        found = {c.network for c in self.conns.values() if c.user.id == user_id and c.network}
        async with self.app[DB]() as session:
            origin = (await session.execute(select(User.origin_network).where(User.id == user_id))).scalar()
        if origin:
            found.add(origin)
        return found

    async def _record(
        self,
        broadcast_id: str,
        actor: str,
        action: str,
        target: str | None,
        message_id: str | None,
        details: dict[str, Any],
    ) -> None:
        async with self.app[DB]() as session, session.begin():
            session.add(
                ModerationAction(
                    broadcast_id=broadcast_id,
                    actor_id=actor,
                    action=action,
                    target_user_id=target,
                    message_id=message_id,
                    details=details,
                )
            )

    async def update_settings(
        self, user: Principal, broadcast_id: str, change: SettingsChange
    ) -> dict[str, Any]:
        await self.host_policy(broadcast_id, user)
        if change.blocked_words is not None:
            change.blocked_words = clean_words(change.blocked_words)
            blocked_matcher(change.blocked_words)  # compiles, or raises before anything is stored
        if change.buy_keywords is not None:
            change.buy_keywords = clean_words(change.buy_keywords)
        async with self.app[DB]() as session, session.begin():
            row = await save_settings(session, broadcast_id, change)
            view = settings_view(row.slow_mode_s, row.blocked_words, row.buy_keywords, row.announce_claims)
            session.add(
                ModerationAction(broadcast_id=broadcast_id, actor_id=user.id, action="settings", details=view)
            )
        await self.policy_changed(broadcast_id)
        await self.emit(
            "chat_settings", {"broadcast_id": broadcast_id, "slow_mode_s": view["slow_mode_s"]}, broadcast_id
        )
        return view

    # seams for other features -------------------------------------------------------------------
    async def buyer_guard(self, broadcast_id: str, user_id: str, network: str | None = None) -> None:
        """On the claim path: a dict lookup; the database only for a broadcast this node never saw.
        A ban holds the person: the banned account, and the network it was banned from."""
        policy = self.policies.peek(broadcast_id)
        if policy is None:
            policy = await self.policies.get(broadcast_id)
        elif self.clock.monotonic() - policy.loaded_at > REFRESH_S:
            self.policies.refresh_soon(broadcast_id)
        if user_id in policy.bans or (network is not None and network in policy.bans):
            raise DomainError("banned", "You are banned from this broadcast")


LIVE_ROOM = web.AppKey("live_room", LiveRoom)
