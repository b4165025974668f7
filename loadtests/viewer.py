"""`Viewer`: watches a broadcast's live room: guest session, `/live` spoken directly, chat now and then.

Cheap enough for rooms of thousands from one Locust process (loadtests/wire.py): a viewer's reads run
in gevent's hub and are counted per event name without decoding (`frames <event>` rows, see
loadtests/tally.py). One viewer in `viewer_sample_every` (the first of each process among them)
decodes every frame as a real client does and reports each as `recv <event>`; `recv chat`'s time is
the delivery latency of the batch's oldest message (its `ts`, server clock: across machines that
includes clock skew). Every viewer that chats finds its own message coming back in the room
(a substring search, no decoding) and reports `chat delivered`: emit to receipt, on one clock.
Calls with an ack (`connect`, `join`, `chat`) are `sio` rows with their round-trip time.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import defaultdict
from typing import Any

from locust import FastHttpUser, tag, task

from loadtests import context
from loadtests.wire import RoomConnection, WireError, event_name, event_payload

LINES = ["love it", "how much?", "is it in blue?", "just bought one", "hello from the load test", "wow"]
EXPECTED_CHAT_ERRORS = {"rate_limited", "slow_mode"}  # pacing answers a real app shows and respects
CHAT = b"chat"
RETRY_CAP_S = 10.0
_numbers = itertools.count()  # per process: which viewers decode


class Viewer(FastHttpUser):
    weight = 5

    def wait_time(self) -> float:
        """Chat at random (Poisson) moments, `viewer_chat_every_s` apart on average; out of the room,
        come back after a jittered exponential backoff, as the socket.io client reconnects."""
        if not self.in_room:
            return random.uniform(0, min(RETRY_CAP_S, 2.0**self.failures))
        return random.expovariate(1.0 / self.run.knobs.viewer_chat_every_s)

    def on_start(self) -> None:
        self.run = context.run_file(self.environment)
        self.board = context.board(self.environment)
        self.tally = context.tally(self.environment)
        self.sampled = next(_numbers) % max(self.run.knobs.viewer_sample_every, 1) == 0
        self.conn: RoomConnection | None = None
        self.token: str | None = None
        self.joined = False
        self.failures = 0  # in a row: the backoff grows with them
        self.frames: defaultdict[bytes, int] = defaultdict(int)  # this viewer's, per event name
        self.stopping = False
        self._own: dict[bytes, float] = {}  # nonce -> perf_counter at emit
        self.enter()

    @property
    def in_room(self) -> bool:
        return self.conn is not None and self.conn.open and self.joined

    def enter(self) -> bool:
        """Guest session, connect, join: whatever is missing. Each failure is reported, then retried."""
        if self.token is None:
            with self.client.post(
                "/api/v1/auth/guest",
                json={"nickname": f"viewer-{random.randrange(10**6)}"},
                name="guest session",
                catch_response=True,
            ) as resp:
                if resp.status_code != 201:
                    resp.failure(f"{resp.status_code} {(resp.text or '')[:120]}")
                    self.failures += 1
                    return False
                self.token = resp.json()["token"]
            self.client.client.clientpool.close()  # a viewer keeps no idle HTTP connection to the node
        if self.conn is None or not self.conn.open:
            self.joined = False
            conn = RoomConnection(self.host, self.token, self)
            started = time.perf_counter()
            try:
                conn.connect()
            except WireError as exc:
                self.report("connect", started, exc)
                self.failures += 1
                return False
            self.report("connect", started)
            self.conn = conn
        if not self.joined:
            self.joined = self.join()
            if not self.joined:
                self.failures += 1
                return False
        self.failures = 0
        return True

    # reporting ----------------------------------------------------------------------------------
    def report(
        self,
        name: str,
        started: float | None,
        exc: Exception | None = None,
        length: int = 0,
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

    # calls (this user's greenlet) ---------------------------------------------------------------
    def call(self, event: str, data: Any) -> Any:
        """Emit with an ack; an `{error: {code}}` ack is a failure unless it is expected pacing."""
        assert self.conn is not None
        started = time.perf_counter()
        try:
            ack = self.conn.call(event, data)
        except WireError as exc:
            self.report(event, started, exc)
            return None
        err = ack.get("error") if isinstance(ack, dict) else None
        if err:
            code = err.get("code") if isinstance(err, dict) else str(err)
            if code in EXPECTED_CHAT_ERRORS:
                self.report(f"{event} [{code}]", started)
            else:
                self.report(event, started, WireError(f"{code}: {err}"))
            return None
        self.report(event, started)
        return ack

    def join(self) -> bool:
        snapshot = self.call("join", {"broadcast_id": self.run.broadcast_id})
        if not isinstance(snapshot, dict):
            return False
        if self.sampled:
            for offer in snapshot.get("offers") or []:
                if isinstance(offer, dict) and "id" in offer:
                    self.board.update(offer)
        return True

    @tag("viewer", "chat")
    @task
    def chat(self) -> None:
        if not self.in_room:
            self.enter()
            return
        assert self.conn is not None
        nonce = uuid.uuid4().hex[:12]
        self._own[nonce.encode()] = time.perf_counter()
        if len(self._own) > 20:  # never seen again (dropped, or sent while not joined)
            self._own.pop(next(iter(self._own)))
        if self.call("chat", {"text": f"{random.choice(LINES)} #{nonce}"}) is None:
            self._own.pop(nonce.encode(), None)

    @tag("viewer")
    @task(2)
    def watch(self) -> None:
        """Just watch (and receive) for a while; `--exclude-tags chat` makes every viewer a silent one."""
        if not self.in_room:
            self.enter()

    def on_stop(self) -> None:
        self.stopping = True
        if getattr(self, "conn", None) is not None:
            self.conn.close()

    # frames (gevent's hub: never block here) ----------------------------------------------------
    def on_event(self, conn: RoomConnection, buf: bytes, start: int, end: int) -> None:
        if self.sampled:
            name, data = event_payload(buf, start, end)
            raw = name.encode()
            self._decoded(name, data, end - start)
        else:
            raw = event_name(buf, start, end)
            self.tally.add(raw, end - start)
        self.frames[raw] += 1
        if raw == CHAT and self._own:
            for nonce in [n for n in self._own if buf.find(n, start, end) >= 0]:
                self.report("chat delivered", self._own.pop(nonce))

    def _decoded(self, name: str, data: Any, length: int) -> None:
        if name == "chat":
            messages = data if isinstance(data, list) else [data]
            now_ms = time.time() * 1000
            lags = [now_ms - float(m["ts"]) for m in messages if isinstance(m, dict) and "ts" in m]
            lag = max(0.0, *lags) if lags else 0.0
            self.report("recv chat", None, length=len(messages), response_time=lag)
            return
        if name == "offer" and isinstance(data, dict):
            offer = data.get("offer", data)
            if isinstance(offer, dict) and "id" in offer:
                self.board.update(offer)
        self.report(f"recv {name}", None, length=length)

    def on_closed(self, conn: RoomConnection, reason: str) -> None:
        if not self.stopping:
            self.report("connection lost", None, WireError(reason))
