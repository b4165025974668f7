"""The socket.io namespace /live: connect with a token, join a broadcast, chat, moderate, leave.

Every handler answers bad input with an `{error: {code, detail}}` ack and never raises, so a client's
mistake (or junk) costs it one error and leaves its connection, and everyone else's, untouched.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError as Refused

from server.api.attribution import from_payload
from server.api.auth import authenticate
from server.api.clients import client_network, is_trusted_client
from server.api.validation import parse_model
from server.errors import DomainError
from server.live.audience import viewer_of
from server.live.chat import Ack, error, problem_ack
from server.live.room import NAMESPACE, Conn, LiveRoom, user_room
from server.live.routes import ChatSettingsIn

log = logging.getLogger("liveshop.live")


def _refused(code: str, detail: str) -> Refused:
    """The client's connect_error gets {message: detail, data: {code, detail}}."""
    return Refused(detail, {"code": code, "detail": detail})


def _broadcast_id(data: Any) -> str | None:
    if isinstance(data, dict):
        value = data.get("broadcast_id")
    else:
        value = data
    if isinstance(value, str) and 0 < len(value) <= 64:
        return value
    return None


class LiveNamespace(socketio.AsyncNamespace):
    def __init__(self, room: LiveRoom) -> None:
        super().__init__(NAMESPACE)
        self.room = room

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """One guard around every handler: an unexpected failure becomes an error ack, never a crash."""
        try:
            return await super().trigger_event(event, *args)
        except Refused:
            raise
        except DomainError as exc:
            return problem_ack(exc)
        except Exception as exc:
            if event == "connect":
                raise _refused("service_unavailable", "Try again shortly") from exc
            log.warning("live handler failed event=%s error=%r", event, exc)
            return error(
                "service_unavailable", "A backing service is unavailable; retry shortly", retry_after_ms=1000
            )

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token or len(token) > 2048:
            raise _refused("unauthorized", "Connect with auth: {token}")
        principal = await authenticate(self.room.app, token)
        if principal is None:
            raise _refused("invalid_token", "The token is invalid or expired")
        request = environ.get("aiohttp.request")
        network = None
        if request is not None and not is_trusted_client(request):
            network = client_network(request)
        self.room.conns[sid] = Conn(principal, network=network)
        await self.enter_room(sid, user_room(principal.id))  # notices for this viewer alone (outbid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self.room.conns.pop(sid, None)
        if conn is not None and conn.broadcast_id is not None and not conn.is_room_host:
            self.room.viewers.left(conn.broadcast_id)
            await self.room.audience.left(conn.broadcast_id)

    async def on_join(self, sid: str, data: Any = None) -> Ack:
        conn = self.room.conns.get(sid)
        if conn is None:
            return error("unauthorized", "Connect with a token first")
        broadcast_id = _broadcast_id(data)
        if broadcast_id is None:
            return error("validation_error", "Send {broadcast_id: string}", field="broadcast_id")
        wait = self.room.join_allowed(conn)
        if wait > 0:
            return error("rate_limited", "Joining too often", retry_after_ms=int(wait * 1000) + 1)
        snapshot = await self.room.snapshot(broadcast_id)  # NotFound -> not_found ack
        await self._leave(sid, conn)
        if snapshot["ended"]:
            return snapshot  # told so, and not placed in a room that will never speak again
        policy = await self.room.policies.get(broadcast_id)
        conn.broadcast_id = broadcast_id
        conn.is_room_host = policy.is_staff(conn.user)
        await self.enter_room(sid, broadcast_id)
        if not conn.is_room_host:
            self.room.viewers.joined(broadcast_id)
            extra = data if isinstance(data, dict) else {}
            came_from = from_payload(extra.get("attribution"))
            conn.source = came_from.source
            await self.room.audience.joined(
                broadcast_id, viewer_of(conn.user.id, extra.get("viewer_key")), came_from
            )
            snapshot["viewers"] = await self.room.viewers.count(broadcast_id)
        snapshot["me"] = {
            **conn.user.public(),
            "is_host": conn.is_room_host,
            "banned": conn.user.id in policy.bans,
            "timed_out_s": round(policy.timed_out_for(conn.user.id, self.room.clock.time()), 1),
        }
        snapshot["chat_settings"] = (
            policy.settings_view() if conn.is_room_host else {"slow_mode_s": policy.slow_mode_s}
        )
        return snapshot

    async def _leave(self, sid: str, conn: Conn) -> None:
        if conn.broadcast_id is None:
            return
        await self.leave_room(sid, conn.broadcast_id)
        if not conn.is_room_host:
            self.room.viewers.left(conn.broadcast_id)
            await self.room.audience.left(conn.broadcast_id)
        conn.broadcast_id = None
        conn.is_room_host = False

    async def on_leave(self, sid: str, data: Any = None) -> Ack:
        conn = self.room.conns.get(sid)
        if conn is not None:
            await self._leave(sid, conn)
        return {"ok": True}

    async def on_chat(self, sid: str, data: Any = None) -> Ack:
        conn = self.room.conns.get(sid)
        if conn is None:
            return error("unauthorized", "Connect with a token first")
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str):
            return error("validation_error", "Send {text: string, client_id?: string}", field="text")
        client_id = data.get("client_id") if isinstance(data, dict) else None
        if client_id is not None and not (isinstance(client_id, str) and 0 < len(client_id) <= 64):
            return error("validation_error", "client_id: a string of 1 to 64 characters", field="client_id")
        return await self.room.send_chat(conn, text, sid=sid, client_id=client_id)

    async def on_moderate(self, sid: str, data: Any = None) -> Ack:
        conn = self.room.conns.get(sid)
        if conn is None:
            return error("unauthorized", "Connect with a token first")
        if not isinstance(data, dict):
            return error("validation_error", "Send {action, message_id?, user_id?, seconds?}", field="action")
        broadcast_id = _broadcast_id(data) if "broadcast_id" in data else conn.broadcast_id
        if broadcast_id is None:
            return error("not_joined", "Join the broadcast (or name broadcast_id) first")
        return await self.room.moderate(conn.user, broadcast_id, data)

    async def on_settings(self, sid: str, data: Any = None) -> Ack:
        conn = self.room.conns.get(sid)
        if conn is None:
            return error("unauthorized", "Connect with a token first")
        if not isinstance(data, dict):
            return error("validation_error", "Send {slow_mode_s?, blocked_words?}", field="body")
        broadcast_id = _broadcast_id(data) if "broadcast_id" in data else conn.broadcast_id
        if broadcast_id is None:
            return error("not_joined", "Join the broadcast (or name broadcast_id) first")
        body = parse_model(ChatSettingsIn, {k: v for k, v in data.items() if k != "broadcast_id"})
        view = await self.room.update_settings(conn.user, broadcast_id, body.change())
        return {"ok": True, **view}
