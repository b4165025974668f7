"""`Viewer`: watches a broadcast's live room: guest session, `/live` spoken directly, chat now and then.

Cheap enough for rooms of thousands from one Locust process (loadtests/wire.py): a viewer's reads run
in gevent's hub and are counted per event name without decoding (`frames <event>` rows, see
loadtests/tally.py). One viewer in `viewer_sample_every` (the first of each process among them)
decodes every frame as a real client does and reports each as `recv <event>`; `recv chat`'s time is
the delivery latency of the batch's oldest message (its `ts`, server clock: across machines that
includes clock skew). Every viewer that chats finds its own message coming back in the room
(a substring search, no decoding) and reports `chat delivered`: emit to receipt, on one clock.
Calls with an ack (`connect`, `join`, `chat`) are `sio` rows with their round-trip time.

A share of viewers (`viewer_keyword_share`) are keyword buyers (comment-to-buy): they follow the
pins and offers (decoding those frames only) and, while an offer with units left is on a pinned
product, send the buy keyword in the chat once per offer (with a `client_id`, as the app retries).
The answer comes to them alone: `keyword reservation` (a hold) or `keyword error [<code>]` rows,
timed from the chat emit; `sold_out`, `limit_exceeded` and `offer_ended` are the sale's ordinary
answers, any other code is a failure.
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
EXPECTED_KEYWORD_ERRORS = {"sold_out", "limit_exceeded", "offer_ended"}  # a sale's ordinary refusals
CHAT = b"chat"
KEYWORD_FRAMES = {b"pinned", b"offer", b"reservation", b"error"}  # what a keyword buyer decodes
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
        number = next(_numbers)
        self.sampled = number % max(self.run.knobs.viewer_sample_every, 1) == 0
        self.conn: RoomConnection | None = None
        self.token: str | None = None
        self.joined = False
        self.failures = 0  # in a row: the backoff grows with them
        self.frames: defaultdict[bytes, int] = defaultdict(int)  # this viewer's, per event name
        self.stopping = False
        self._own: dict[bytes, float] = {}  # nonce -> perf_counter at emit
        share = self.run.knobs.viewer_keyword_share  # the last viewer of every 1/share: a keyword buyer
        every = max(1, round(1 / share)) if share > 0 else 0
        self.keyword_buyer = every > 0 and number % every == every - 1
        self.pins: list[str] = []  # pinned product ids, the most recent last
        self.offers: dict[str, dict[str, Any]] = {}  # offer id -> its latest view
        self.claimed: set[str] = set()  # offers this buyer already sent the keyword for
        self._keyword_sent: list[float] = []  # perf_counter of each keyword awaiting its answer
        self.keyword_answers = {"reservation": 0, "error": 0}
        self.keywords_sent = 0
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
        if self.keyword_buyer:
            self._follow_pins(snapshot)
            for offer in snapshot.get("offers") or []:
                if isinstance(offer, dict) and "id" in offer:
                    self.offers[offer["id"]] = offer
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
        if self.keyword_buyer and self.keyword_buy():
            return
        nonce = uuid.uuid4().hex[:12]
        self._own[nonce.encode()] = time.perf_counter()
        if len(self._own) > 20:  # never seen again (dropped, or sent while not joined)
            self._own.pop(next(iter(self._own)))
        if self.call("chat", {"text": f"{random.choice(LINES)} #{nonce}"}) is None:
            self._own.pop(nonce.encode(), None)

    def keyword_buy(self) -> bool:
        """Comment-to-buy: the keyword in the chat while an offer with units left is on a pinned
        product, once per offer. False when there is none (the viewer chats as usual)."""
        offer = self._pinned_offer()
        if offer is None:
            return False
        self.claimed.add(offer["id"])
        self.keywords_sent += 1
        self._keyword_sent.append(time.perf_counter())
        text = random.choice(["buy", "sold", "BUY 1"])
        if self.call("chat", {"text": text, "client_id": uuid.uuid4().hex}) is None:
            self._keyword_sent.pop()
        return True

    def _pinned_offer(self) -> dict[str, Any] | None:
        for product_id in reversed(self.pins):  # the server claims the most recent pin on offer
            for offer in self.offers.values():
                live = offer.get("status") == "active" and int(offer.get("available", 0)) > 0
                if live and offer.get("product_id") == product_id and offer["id"] not in self.claimed:
                    return offer
        return None

    def _follow_pins(self, data: dict[str, Any]) -> None:
        pins = data.get("pins")
        if pins is None:
            pinned = data.get("pinned", data.get("product"))
            pins = [pinned] if pinned else []
        self.pins = [p["id"] for p in pins if isinstance(p, dict) and "id" in p]

    def _keyword_answer(self, name: str, data: Any) -> None:
        """A `reservation` or `error` frame: the answer to this buyer's oldest keyword in flight."""
        started = self._keyword_sent.pop(0) if self._keyword_sent else None
        self.keyword_answers[name] += 1
        if name == "reservation":
            self.report("keyword reservation", started)
            return
        code = str((data or {}).get("code", "unknown")) if isinstance(data, dict) else "unknown"
        if code in EXPECTED_KEYWORD_ERRORS:
            self.report(f"keyword error [{code}]", started)
        else:
            self.report("keyword error", started, WireError(f"{code}: {data}"))

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
        if self.keyword_buyer and not self.sampled:
            raw = event_name(buf, start, end)
            if raw in KEYWORD_FRAMES:
                name, data = event_payload(buf, start, end)
                self._keyword_frame(name, data)
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

    def _keyword_frame(self, name: str, data: Any) -> None:
        if not isinstance(data, dict):
            return
        if name == "pinned":
            self._follow_pins(data)
        elif name == "offer":
            offer = data.get("offer", data)
            if isinstance(offer, dict) and "id" in offer:
                self.offers[offer["id"]] = offer
        elif name in ("reservation", "error"):
            self._keyword_answer(name, data)

    def _decoded(self, name: str, data: Any, length: int) -> None:
        if self.keyword_buyer:
            self._keyword_frame(name, data)
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
