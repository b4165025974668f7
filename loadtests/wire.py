"""The live room's wire protocol spoken directly: socket.io over engine.io v4 over a websocket, on gevent.

A python-socketio client decodes every frame in Python and wakes a greenlet for each; in a room of
thousands that is the load generator's whole CPU (1,800 offer events/s made Locust the bottleneck at
600 users). Here a connection is one non-blocking socket whose reads run as a callback of gevent's hub
(a libev io watcher): no greenlet switch per read. The callback reads whatever arrived, walks the
websocket frame headers and hands each text frame to its `FrameSink` as (buffer, start, end) without
copying or decoding it. Only what a viewer asked for is decoded: acks of its own calls, and every frame
for the one viewer in N that measures latency.

Deliberately small (no fragmentation, no extensions: the server sends whole frames and is not asked for
permessage-deflate), plain TCP only (`http://` deployments; run the generator inside the TLS edge).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from typing import Any, Protocol
from urllib.parse import urlsplit

import gevent
from gevent.event import AsyncResult
from gevent.monkey import get_original
from gevent.socket import wait_read, wait_write

RawSocket = get_original("socket", "socket")  # a plain socket: the hub callback must never yield
NAMESPACE = "/live"
EVENT = b"42" + NAMESPACE.encode() + b","  # server -> client event: 42/live,["name",data]
ACK = b"43" + NAMESPACE.encode() + b","  # ack of our call id N: 43/live,N[data]
CONNECTED = b"40" + NAMESPACE.encode() + b","
REFUSED = b"44" + NAMESPACE.encode() + b","
NAME_AT = len(EVENT) + 2  # past `["`
READ_SIZE = 256 * 1024


class WireError(Exception):
    pass


class FrameSink(Protocol):
    def on_event(self, conn: RoomConnection, buf: bytes, start: int, end: int) -> None:
        """A socket.io event frame: buf[start:end] is `42/live,["name",...]`. Runs in gevent's hub."""

    def on_closed(self, conn: RoomConnection, reason: str) -> None:
        """The connection ended (server closed, reset, or a protocol error)."""


def event_name(buf: bytes, start: int, end: int) -> bytes:
    """The event's name from its frame, without decoding the rest."""
    stop = buf.find(b'"', start + NAME_AT, end)
    return buf[start + NAME_AT : stop] if stop > 0 else b"?"


def event_payload(buf: bytes, start: int, end: int) -> tuple[str, Any]:
    """Decode one event frame: (name, data)."""
    items = json.loads(buf[start + len(EVENT) : end])
    return items[0], items[1] if len(items) > 1 else None


def _mask(payload: bytes) -> bytes:
    """A client frame: FIN + text opcode, masked as RFC 6455 requires of clients."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    key = os.urandom(4)
    repeated = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return head + key + masked


class RoomConnection:
    """One client of the room: connect (in a greenlet), then reads run in the hub; calls wait on acks."""

    def __init__(self, base_url: str, token: str, sink: FrameSink) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "ws"):
            raise WireError(f"plain http:// only (got {parts.scheme}://): run the generator inside TLS")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.token = token
        self.sink = sink
        self.sock: Any = None
        self.open = False
        self._watcher: Any = None
        self._rest = b""
        self._acks: dict[int, AsyncResult] = {}
        self._next_id = 0
        self._namespace: AsyncResult = AsyncResult()

    # connecting (caller's greenlet) --------------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> None:
        """TCP, websocket upgrade, engine.io open, then the `/live` namespace with the token."""
        sock = RawSocket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        phase = "tcp connect"
        try:
            err = sock.connect_ex((self.host, self.port))
            if err not in (0, 115):  # 115: EINPROGRESS
                raise WireError(os.strerror(err))
            wait_write(sock.fileno(), timeout)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise WireError(os.strerror(err))
            phase = "websocket upgrade"
            key = base64.b64encode(os.urandom(16)).decode()
            self._send_all(
                (
                    f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                    f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode(),
                timeout,
            )
            head = b""
            while b"\r\n\r\n" not in head:
                wait_read(sock.fileno(), timeout)
                chunk = sock.recv(READ_SIZE)
                if not chunk:
                    raise WireError("closed during the websocket upgrade")
                head += chunk
            head, _, self._rest = head.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101"):
                raise WireError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
            phase = "namespace connect"
            self.open = True
            self._watcher = gevent.get_hub().loop.io(sock.fileno(), 1)
            self._watcher.start(self._on_readable)
            if self._rest:
                self._consume(b"")
            self._send_all(_mask(CONNECTED + json.dumps({"token": self.token}).encode()), timeout)
            self._namespace.get(timeout=timeout)
        except (OSError, gevent.Timeout, WireError) as exc:
            self.close()
            if isinstance(exc, WireError):
                raise
            raise WireError(f"{phase}: {type(exc).__name__}: {exc}") from exc

    # calls (caller's greenlet) -------------------------------------------------------------------
    def call(self, event: str, data: Any, timeout: float = 10.0) -> Any:
        """Emit with an ack and wait for it; the ack's first argument is returned."""
        if not self.open:
            raise WireError("not connected")
        self._next_id += 1
        call_id = self._next_id
        waiter = self._acks[call_id] = AsyncResult()
        frame = EVENT + str(call_id).encode() + json.dumps([event, data]).encode()
        try:
            self._send_all(_mask(frame), timeout)
            return waiter.get(timeout=timeout)
        except gevent.Timeout as exc:
            raise WireError(f"no ack for {event} within {timeout:g} s") from exc
        finally:
            self._acks.pop(call_id, None)

    def _send_all(self, data: bytes, timeout: float) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                wait_write(self.sock.fileno(), timeout)
                continue
            view = view[sent:]

    def close(self) -> None:
        self.open = False
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher.close()
            self._watcher = None
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        for waiter in self._acks.values():
            if not waiter.ready():
                waiter.set_exception(WireError("connection closed"))
        if not self._namespace.ready():
            self._namespace.set_exception(WireError("connection closed"))

    # reading (gevent's hub) ----------------------------------------------------------------------
    def _on_readable(self) -> None:
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(f"{type(exc).__name__}: {exc}")
            return
        if not data:
            self._lost("closed by the server")
            return
        try:
            self._consume(data)
        except Exception as exc:  # never let one viewer's surprise take down the hub
            self._lost(f"bad frame: {type(exc).__name__}: {exc}")

    def _lost(self, reason: str) -> None:
        if self.open:
            self.close()
            self.sink.on_closed(self, reason)

    def _consume(self, data: bytes) -> None:
        """Walk the frames in what arrived; keep an incomplete tail for the next read."""
        buf = self._rest + data if self._rest else data
        n = len(buf)
        pos = 0
        while n - pos >= 2:
            length = buf[pos + 1] & 0x7F  # server frames are never masked
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            start = pos + head
            end = start + length
            if end > n:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 1:
                self._text(buf, start, end)
            elif opcode == 8:
                self._lost("websocket closed by the server")
                return
            elif opcode == 9:  # websocket ping: pong with the same payload (RFC 6455 5.5.3)
                self._pong(b"\x8a", buf[start:end])
            pos = end
            if not self.open:
                return
        self._rest = buf[pos:] if pos < n else b""

    def _text(self, buf: bytes, start: int, end: int) -> None:
        if buf.startswith(EVENT, start):
            self.sink.on_event(self, buf, start, end)
        elif end - start == 1 and buf[start] == 0x32:  # engine.io ping "2": answer "3"
            self._pong(b"", b"3")
        elif buf.startswith(ACK, start):
            bracket = buf.index(b"[", start)
            waiter = self._acks.get(int(buf[start + len(ACK) : bracket]))
            if waiter is not None:
                items = json.loads(buf[bracket:end])
                waiter.set(items[0] if items else None)
        elif buf.startswith(CONNECTED, start):
            self._namespace.set(True)
        elif buf.startswith(REFUSED, start):
            self._namespace.set_exception(WireError(f"refused: {buf[start + len(REFUSED) : end][:200]!r}"))
        elif buf.startswith(b"41" + NAMESPACE.encode(), start):
            self._lost("namespace disconnected by the server")

    def _pong(self, websocket_frame: bytes, payload: bytes) -> None:
        """A control reply from the hub: try once without blocking, else let a greenlet finish it."""
        frame = _mask(payload) if not websocket_frame else self._control(websocket_frame, payload)
        try:
            sent = self.sock.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            return
        if sent < len(frame):
            gevent.spawn(self._send_all, frame[sent:], 10.0)

    @staticmethod
    def _control(first: bytes, payload: bytes) -> bytes:
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return first + bytes([0x80 | len(payload)]) + key + masked
