"""engine.io's aiohttp websocket, trimmed for rooms of thousands: no permessage-deflate, no task per frame.

Every room frame is written once per viewer, so what engine.io and aiohttp do per frame per connection
is what a big room costs:

- python-engineio's aiohttp driver opens `WebSocketResponse(max_msg_size=...)` with aiohttp's default
  `compress=True`, so every client that offers permessage-deflate (browsers do) gets each room frame
  deflated separately for each viewer, with a zlib context per connection. Room frames are small JSON
  batches, so declining the extension costs a few bytes per frame; declining is standard (the client
  then speaks uncompressed frames). `LIVESHOP_CHAT_WS_COMPRESS=true` keeps it.
- engine.io's writer waits for each frame with `asyncio.wait_for(queue.get(), ...)`, which creates a
  task and a timer per frame per viewer; `_poll` waits on the queue alone (see its docstring).
- the driver's `send` inspects the aiohttp method on every frame; ours calls it.

This leans on engine.io internals (the socket's `poll` contract and the driver's `handler`), checked by
tests/live/test_transport.py against the installed python-engineio.
"""

from __future__ import annotations

import asyncio
import types
import weakref
from typing import Any

import socketio
from aiohttp import WSCloseCode, web
from aiohttp.web import WebSocketResponse
from engineio import exceptions as eio_exceptions
from engineio.async_drivers import aiohttp as eio_aiohttp

from server.tasks import bounded


async def _poll(self: Any) -> list[Any]:
    """engine.io's AsyncSocket.poll for a websocket, without a task or a timer per packet.

    The library waits with a timeout so a stuck writer ends; on a websocket the reader already ends the
    connection after ping_interval + ping_timeout of silence and then queues None, which ends the writer.
    """
    if not self.upgraded:  # still long-polling: the library's poll, with its timeout
        return await type(self).poll(self)  # type: ignore[no-any-return]
    queue: asyncio.Queue[Any] = self.queue
    try:
        first = await queue.get() if queue.empty() else queue.get_nowait()
        queue.task_done()
    except asyncio.CancelledError:
        raise eio_exceptions.QueueEmpty() from None
    if first is None:
        return []
    packets = [first]
    while not queue.empty():
        pkt = queue.get_nowait()
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)
            break
        packets.append(pkt)
    return packets


class PlainWebSocket(eio_aiohttp.WebSocket):
    """The driver's websocket without permessage-deflate, and its socket's writer on `_poll`."""

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        eio_socket = getattr(self.handler, "__self__", None)
        if eio_socket is not None and hasattr(eio_socket, "queue"):
            eio_socket.poll = types.MethodType(_poll, eio_socket)
        await self.handler(self)
        return self._sock

    async def send(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            await self._sock.send_bytes(message)
        else:
            await self._sock.send_str(message)


def install(sio: socketio.AsyncServer, compress: bool = False) -> None:
    """Use PlainWebSocket for this server only (engine.io picks the class from its per-server driver map)."""
    eio = sio.eio
    if eio.async_mode != "aiohttp" or compress:
        return
    eio._async = {**eio._async, "websocket": PlainWebSocket}


def close_on_shutdown(app: web.Application, sio: socketio.AsyncServer) -> None:
    """Say goodbye to every room connection when the node stops, before aiohttp waits for them.

    An open websocket, or a long-poll, is a request that never ends by itself: aiohttp would wait its
    shutdown timeout for each and then cancel the handler halfway through its database and Redis work."""
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    async def track(request: web.Request, response: web.StreamResponse) -> None:
        if isinstance(response, web.WebSocketResponse):
            sockets.add(response)

    async def goodbye(app: web.Application) -> None:
        eio = sio.eio
        reason = eio.reason.SERVER_DISCONNECT
        # wait=False: a long-polling client that is not polling would never drain its queue
        await asyncio.gather(
            *(
                bounded(s.close(wait=False, reason=reason), within=3, what="room client")
                for s in eio.sockets.values()
            )
        )
        await asyncio.gather(
            *(
                bounded(
                    ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown"), within=3, what="ws"
                )
                for ws in list(sockets)
            )
        )
        await bounded(sio.shutdown(), within=3, what="socket.io background tasks")

    app.on_response_prepare.append(track)
    app.on_shutdown.append(goodbye)
