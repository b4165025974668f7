"""A viewer's socket.io connection to the live room, reporting to Locust like HTTP requests.

python-socketio's blocking `Client` over websocket-client runs under Locust's gevent (its threads
are greenlets once Locust has monkey-patched). Every emit with an ack is one Locust entry of type
`sio` with its round-trip time; every event received is one entry named `recv <event>` whose time is
the delivery latency when the message says when it was sent (chat `ts`, ms since the epoch: across
machines that includes clock skew) and 0 when it does not (offer, pinned, viewers, broadcast). For a
chat batch the "size" is the number of messages in it. A viewer's own chat message, seen coming back
in the room, is `chat delivered`: emit to receipt, on one clock.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import socketio
from locust.env import Environment

NAMESPACE = "/live"
EXPECTED_CHAT_ERRORS = {"rate_limited", "slow_mode"}  # pacing answers a real app shows and respects


class RoomError(Exception):
    pass


class RoomClient:
    def __init__(self, environment: Environment, base_url: str, token: str, on_offer: Any = None) -> None:
        self.environment = environment
        self.base_url = base_url
        self.token = token
        self.on_offer = on_offer
        self.received: Counter[str] = Counter()
        self._own: dict[str, float] = {}  # nonce -> perf_counter at emit
        self.sio = socketio.Client(reconnection=False, logger=False, engineio_logger=False)
        for event in ("chat", "offer", "pinned", "viewers", "broadcast", "chat_deleted", "error"):
            self.sio.on(event, self._handler(event), namespace=NAMESPACE)

    # reporting ----------------------------------------------------------------------------------
    def report(
        self,
        name: str,
        started: float | None,
        length: int = 0,
        exc: Exception | None = None,
        response_time: float | None = None,
    ) -> None:
        if response_time is None:
            response_time = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        self.environment.events.request.fire(
            request_type="sio",
            name=name,
            response_time=response_time,
            response_length=length,
            exception=exc,
            context={},
        )

    def _handler(self, event: str) -> Any:
        def handle(data: Any = None) -> None:
            self.received[event] += 1
            if event == "chat":
                self._on_chat(data if isinstance(data, list) else [data])
                return
            if event == "offer" and self.on_offer is not None and isinstance(data, dict):
                offer = data.get("offer", data)
                if isinstance(offer, dict) and "id" in offer:
                    self.on_offer(offer)
            self.report(f"recv {event}", None, 0)

        return handle

    def _on_chat(self, messages: list[Any]) -> None:
        now_ms = time.time() * 1000
        stamps = [m.get("ts") for m in messages if isinstance(m, dict)]
        lag = [now_ms - float(ts) for ts in stamps if isinstance(ts, (int, float))]
        self.report("recv chat", None, len(messages), response_time=max(0.0, max(lag)) if lag else 0.0)
        for m in messages:
            text = m.get("text", "") if isinstance(m, dict) else ""
            nonce = text.rsplit("#", 1)[-1] if "#" in text else None
            started = self._own.pop(nonce, None) if nonce else None
            if started is not None:
                self.report("chat delivered", started)

    # calls --------------------------------------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> bool:
        started = time.perf_counter()
        try:
            self.sio.connect(
                self.base_url,
                namespaces=[NAMESPACE],
                transports=["websocket"],
                auth={"token": self.token},
                wait_timeout=timeout,
            )
        except Exception as exc:
            self.report("connect", started, exc=RoomError(f"{type(exc).__name__}: {exc}"))
            return False
        self.report("connect", started)
        return True

    def call(self, event: str, data: Any, timeout: float = 10.0) -> Any:
        """Emit with an ack; the ack's `{error: {code}}` is a failure unless it is expected pacing."""
        started = time.perf_counter()
        name = event
        try:
            ack = self.sio.call(event, data, namespace=NAMESPACE, timeout=timeout)
        except Exception as exc:
            self.report(name, started, exc=RoomError(f"{type(exc).__name__}: {exc}"))
            return None
        err = ack.get("error") if isinstance(ack, dict) else None
        if err:
            code = err.get("code") if isinstance(err, dict) else str(err)
            if code in EXPECTED_CHAT_ERRORS:
                self.report(f"{name} [{code}]", started)
            else:
                self.report(name, started, exc=RoomError(f"{code}: {err}"))
            return None
        self.report(name, started)
        return ack

    def join(self, broadcast_id: str) -> dict[str, Any] | None:
        snapshot = self.call("join", {"broadcast_id": broadcast_id})
        if isinstance(snapshot, dict) and self.on_offer is not None:
            for offer in snapshot.get("offers") or (snapshot.get("broadcast") or {}).get("offers") or []:
                if isinstance(offer, dict) and "id" in offer:
                    self.on_offer(offer)
        return snapshot if isinstance(snapshot, dict) else None

    def chat(self, text: str) -> bool:
        nonce = uuid.uuid4().hex[:12]
        self._own[nonce] = time.perf_counter()
        if len(self._own) > 100:  # never seen again (dropped, or sent while not joined)
            self._own.pop(next(iter(self._own)))
        ack = self.call("chat", {"text": f"{text} #{nonce}"})
        if ack is None:
            self._own.pop(nonce, None)
        return ack is not None

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected) and NAMESPACE in self.sio.namespaces

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:
            pass
