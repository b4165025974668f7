"""Rooms across processes: python-socketio's AsyncRedisManager, hardened against its known failure modes.

Its Redis client comes from server/redis_client.py, so rooms run on whatever LIVESHOP_REDIS_URL names:
one server, Sentinel (python-socketio's own Sentinel URL puts the db before the service; ours follows
the deployment contract) or Cluster (plain PUBLISH reaches subscribers on every shard).

- A subscription that silently died: every node publishes a small heartbeat on the channel and must hear
  its own; if it does not within `STALE_S`, /readyz fails and the node drops the connection and
  resubscribes.
- Messages published while Redis was unreachable are lost: after any resubscription the node calls
  `on_recovered`, which resyncs its local viewers from a fresh snapshot.
- Every node decodes every published message: the room publishes one batch per tick, never one frame per
  message, and control messages (policy changes) are tiny.

The same channel carries the room's control messages (`method: "liveshop"`), so one subscription's
health covers both, and the embedded in-memory manager gets the same interface (`Bus`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from server.live.spawn import spawn
from server.redis_client import ready, redis_from_url
from server.tasks import stop_task

log = logging.getLogger("liveshop.live")

HEARTBEAT_S = 1.0
STALE_S = 4.0
CONTROL = "liveshop"

ControlHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
RecoveryHandler = Callable[[], Awaitable[None]]


class _OrjsonCodec:
    """The manager's codec: orjson decodes the many published messages at a fraction of json's cost."""

    @staticmethod
    def dumps(data: Any) -> bytes:
        return orjson.dumps(data)

    @staticmethod
    def loads(raw: Any) -> Any:
        return orjson.loads(raw)


class Bus:
    """Control messages to every node of the room (here: just this process) plus health for /readyz."""

    def __init__(self) -> None:
        self.on_control: ControlHandler | None = None
        self.on_recovered: RecoveryHandler | None = None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def control(self, kind: str, data: dict[str, Any]) -> None:
        """Deliver to this node now; other nodes get it through the channel (if any)."""
        if self.on_control is not None:
            await self.on_control(kind, data)

    def health(self) -> str | None:
        return None


class FastFanout(socketio.AsyncManager):
    """Local delivery to a room without a task per recipient: one encode, then a queue put per viewer.

    python-socketio's emit creates a task and awaits three coroutines per recipient; for a room of
    thousands that per-recipient overhead, not the payload, is what costs CPU. The engine.io writer of
    each socket still sends the frames, so ordering and back-pressure are unchanged.
    """

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> Any:
        room = to or room
        if callback is not None or skip_sid is not None or namespace not in self.rooms:
            return await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
        if isinstance(data, tuple):
            data = list(data)
        elif data is not None:
            data = [data]
        else:
            data = []
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *data]
        ).encode()
        if isinstance(encoded, list):  # binary attachments: the library's path
            return await super().emit(
                event, data[0] if len(data) == 1 else tuple(data), namespace, room=room, **kwargs
            )
        frame = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        sockets = self.server.eio.sockets
        for _sid, eio_sid in self.get_participants(namespace, room):
            sock = sockets.get(eio_sid)
            if sock is not None and not sock.closed:
                sock.queue.put_nowait(frame)
        return None


class LocalManager(FastFanout):
    """The embedded default: rooms live in this process only."""

    def __init__(self) -> None:
        super().__init__()
        self.bus = Bus()


class LiveRedisManager(socketio.AsyncRedisManager, FastFanout):
    """AsyncRedisManager with a heartbeat canary, fast resubscription and a control channel."""

    connected: bool  # set by python-socketio's manager; declared for the type checker

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(
            url,
            channel=channel,
            json=_OrjsonCodec,
            redis_options={
                "socket_connect_timeout": 2,
                # Heartbeats flow every second, so a read that waits this long means a dead connection.
                "socket_timeout": STALE_S * 2,
                "socket_keepalive": True,
                "health_check_interval": 5,
            },
        )
        self.bus = _RedisBus(self)
        self.subscribed = False
        self.last_heard_self = 0.0
        self.resubscriptions = 0
        self.recovering = False  # resubscribed after a silence; ready again once we hear ourselves
        self._ever_subscribed = False
        self._watch: asyncio.Task[None] | None = None

    # socket.io overrides ---------------------------------------------------------------------------
    def _redis_connect(self) -> None:
        """The client comes from the node's one client factory, so rooms follow LIVESHOP_REDIS_URL's
        topology: Sentinel (a new connection asks for the current primary) or Cluster (a plain
        PUBLISH reaches subscribers on every shard)."""
        self.redis = redis_from_url(self.redis_url, **self.redis_options)
        self.connected = True

    def initialize(self) -> None:
        super().initialize()
        self.json = _OrjsonCodec  # the server sets its own codec; ours is faster and compatible
        self.last_heard_self = time.monotonic()
        if self._watch is None:
            self._watch = asyncio.ensure_future(self._heartbeat())

    async def _redis_listen_with_retries(self):  # type: ignore[no-untyped-def,override]
        """Each listener owns its subscription: a publish that reconnects the shared client, or a
        resubscribe that starts a new listener, never reads on another one's connection (two readers
        on one pub/sub connection fail with "read() called while another coroutine is waiting")."""
        retry_sleep = 0.2
        while True:
            pubsub = None
            try:
                if not self.connected or self.redis is None:
                    self._redis_connect()
                await ready(self.redis)
                # a new connection from the pool: under Sentinel it asks for the current primary
                pubsub = self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)  # the current one
                await pubsub.subscribe(self.channel)
                self.subscribed = True
                retry_sleep = 0.2
                if self._ever_subscribed:
                    self.resubscriptions += 1
                    log.warning("room channel resubscribed; resyncing local viewers")
                    spawn(self._recovered())
                self._ever_subscribed = True
                async for message in pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed = False
                log.warning("room channel lost, retrying in %.1fs error=%r", retry_sleep, exc)
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 2.0)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(pubsub.aclose())

    async def _listen(self):  # type: ignore[no-untyped-def,override]
        channel = self.channel.encode()
        async for message in self._redis_listen_with_retries():
            if message.get("channel") != channel or message.get("type") != "message":
                continue
            try:
                data = orjson.loads(message["data"])
            except orjson.JSONDecodeError:
                continue
            if isinstance(data, dict) and data.get("method") == CONTROL:
                await self._on_control_message(data)
                continue
            if (
                isinstance(data, dict)
                and data.get("host_id") == self.host_id
                and data.get("method") == "emit"
            ):
                continue  # our own emit, already delivered locally
            yield data

    async def _publish(self, data: Any) -> bool:  # type: ignore[override]
        """One attempt plus one reconnect; False (not an exception) when Redis is unreachable."""
        for attempt in (1, 2):
            try:
                if not self.connected:
                    self._redis_connect()
                await self.redis.publish(self.channel, orjson.dumps(data))
                return True
            except Exception as exc:
                self.connected = False
                if attempt == 2:
                    log.warning("room publish failed error=%r", exc)
        return False

    # heartbeat canary ------------------------------------------------------------------------------
    async def _on_control_message(self, data: dict[str, Any]) -> None:
        kind = data.get("kind")
        if kind == "hb":
            if data.get("host_id") == self.host_id:
                self.last_heard_self = time.monotonic()
                self.recovering = False
            return
        if data.get("host_id") == self.host_id or not isinstance(kind, str):
            return  # already handled locally when sent
        payload = data.get("data")
        if self.bus.on_control is not None and isinstance(payload, dict):
            try:
                await self.bus.on_control(kind, payload)
            except Exception:
                log.exception("room control handler failed kind=%s", kind)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self._publish({"method": CONTROL, "kind": "hb", "host_id": self.host_id})
                if self.stale():
                    self._resubscribe()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("room heartbeat failed")

    def stale(self) -> bool:
        return time.monotonic() - self.last_heard_self > STALE_S

    def _resubscribe(self) -> None:
        """The subscription looks dead although nothing failed loudly: replace the listener."""
        log.warning("room channel silent for %.1fs; resubscribing", time.monotonic() - self.last_heard_self)
        self.subscribed = False
        self.recovering = True
        self.last_heard_self = time.monotonic()  # grace period for the new subscription
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
        self.connected = False
        self._ever_subscribed = True
        self.thread = self.server.start_background_task(self._thread)

    async def _recovered(self) -> None:
        if self.bus.on_recovered is not None:
            try:
                await self.bus.on_recovered()
            except Exception:
                log.exception("room resync failed")

    async def close(self) -> None:
        await stop_task(self._watch, within=2, what="room heartbeat")
        await stop_task(getattr(self, "thread", None), within=2, what="room listener")
        self._watch = None
        with contextlib.suppress(Exception):
            if self.redis is not None:
                await self.redis.aclose()


class _RedisBus(Bus):
    def __init__(self, manager: LiveRedisManager) -> None:
        super().__init__()
        self._manager = manager

    async def control(self, kind: str, data: dict[str, Any]) -> None:
        await super().control(kind, data)
        await self._manager._publish(
            {"method": CONTROL, "kind": kind, "data": data, "host_id": self._manager.host_id}
        )

    def health(self) -> str | None:
        m = self._manager
        if not getattr(m, "thread", None):
            return "room channel not started"
        if not m.subscribed:
            return "room channel not subscribed"
        if m.stale():
            return f"room channel silent for {time.monotonic() - m.last_heard_self:.1f}s"
        if m.recovering:
            return "room channel resubscribing"
        return None
