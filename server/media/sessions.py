"""WHIP and WHEP sessions: one peer connection each, tied to a broadcast's fan-out.

The hub is the one place that knows every session: it enforces one publisher per broadcast and the
viewer limits, reports the broadcast's media state, closes viewers when the broadcast ends and reaps
sessions that never connected or lost their peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription, candidate_from_sdp

from server.config import MediaSettings
from server.errors import DomainError
from server.media import ice
from server.media.fanout import Fanout
from server.media.hls.origin import HlsOrigin
from server.media.sdp import codec_preferences, viewer_video_codec
from server.media.tracks import PacketTrack
from server.tasks import bounded

log = logging.getLogger("liveshop.media")
NOT_NEGOTIATED = "Cannot negotiate this offer: send audio as Opus and video as H264 or VP8, with ICE and DTLS"

StateListener = Callable[[str, str], Awaitable[None]]  # (broadcast_id, state)
LiveListener = Callable[[str], Awaitable[None]]


@dataclass(eq=False)
class Session:
    id: str
    kind: str  # "whip" | "whep"
    broadcast_id: str
    client: str
    pc: RTCPeerConnection
    etag: str = field(default_factory=lambda: '"' + secrets.token_hex(8) + '"')
    codec: str | None = None
    tracks: list[MediaStreamTrack] = field(default_factory=list)
    state_since: float = field(default_factory=time.monotonic)
    closed: bool = False
    ended_by_client: bool = False

    @property
    def connected(self) -> bool:
        return self.pc.connectionState == "connected"


class MediaHub:
    def __init__(self, settings: MediaSettings, on_state: StateListener, on_live: LiveListener) -> None:
        self.settings = settings
        self.sessions: dict[str, Session] = {}
        self.publishers: dict[str, Session] = {}
        self.fanouts: dict[str, Fanout] = {}
        self.states: dict[str, str] = {}
        self.dropped_at: dict[str, float] = {}
        self._on_state = on_state
        self._on_live = on_live
        self._tasks: set[asyncio.Task[None]] = set()
        self.hls: HlsOrigin | None = None  # set by media.setup when LL-HLS is on

    # helpers -------------------------------------------------------------------------------------

    def fanout(self, broadcast_id: str) -> Fanout:
        found = self.fanouts.get(broadcast_id)
        if found is None:
            stream = self.hls.stream(broadcast_id) if self.hls is not None else None
            found = self.fanouts[broadcast_id] = Fanout(broadcast_id, self.settings, stream)
        return found

    def viewers(self, broadcast_id: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.kind == "whep" and s.broadcast_id == broadcast_id]

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _set_state(self, broadcast_id: str, state: str) -> None:
        if self.states.get(broadcast_id) == state:
            return
        self.states[broadcast_id] = state
        log.info("media state broadcast=%s state=%s", broadcast_id, state)
        await self._on_state(broadcast_id, state)

    def _new_pc(self) -> RTCPeerConnection:
        return RTCPeerConnection(ice.rtc_configuration(self.settings))

    async def _answer(self, session: Session, offer: str) -> str:
        # An `a=setup:actpass` offer lets us choose: we take the DTLS server role (answer passive).
        # aiortc would pick client, and as a client it offers only ECDSA suites, which a server with
        # an RSA certificate (GStreamer's webrtcbin, for one) rejects with "no shared cipher".
        for transceiver in session.pc.getTransceivers():
            transport = transceiver.receiver.transport
            if transport._role == "auto":
                transport._set_role("server")
        await session.pc.setLocalDescription(await session.pc.createAnswer())
        sdp = session.pc.localDescription.sdp
        return ice.announce_address(sdp, self.settings.ice_announced_address)

    # WHIP ----------------------------------------------------------------------------------------

    async def publish(self, broadcast_id: str, offer: str, client: str) -> tuple[Session, str]:
        current = self.publishers.get(broadcast_id)
        if current is not None and not current.closed:
            if current.connected or time.monotonic() - current.state_since < 5.0:
                raise DomainError("conflict", "Someone is already publishing to this broadcast")
            await self.close(current, reason="taken over")  # its peer is gone: a reconnecting encoder
        pc = self._new_pc()
        session = Session(secrets.token_urlsafe(16), "whip", broadcast_id, client, pc)
        fanout = self.fanout(broadcast_id)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if session.closed or track.kind not in ("audio", "video"):
                return
            session.tracks.append(track)
            fanout.attach(track)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            session.state_since = time.monotonic()
            if session.closed:
                return
            if pc.connectionState == "connected":
                await self._on_live(broadcast_id)
                await self._set_state(broadcast_id, "publishing")
            elif pc.connectionState in ("failed", "closed"):
                await self.close(session, reason=pc.connectionState)

        try:
            await pc.setRemoteDescription(
                RTCSessionDescription(ice.drop_unresolvable_candidates(offer), "offer")
            )
            for transceiver in pc.getTransceivers():
                transceiver.direction = "recvonly"
            answer = await self._answer(session, offer)
        except Exception as exc:
            await pc.close()
            log.info("offer not negotiated error=%r", exc)  # the library's words stay in our log
            raise DomainError("bad_request", NOT_NEGOTIATED) from None
        self.sessions[session.id] = session
        self.publishers[broadcast_id] = session
        return session, answer

    # WHEP ----------------------------------------------------------------------------------------

    def check_limits(self, broadcast_id: str, client: str) -> None:
        if len(self.viewers(broadcast_id)) >= self.settings.max_viewers_per_broadcast:
            err = DomainError("service_unavailable", "This broadcast has reached its viewer limit")
            err.headers["Retry-After"] = "10"
            raise err
        per_client = Counter(s.client for s in self.sessions.values() if s.kind == "whep")
        if per_client[client] >= self.settings.max_sessions_per_client:
            raise DomainError(
                "rate_limited",
                f"At most {self.settings.max_sessions_per_client} playback sessions per client",
            )

    async def play(
        self, broadcast_id: str, offer: str, parsed: SessionDescription, client: str
    ) -> tuple[Session, str]:
        self.check_limits(broadcast_id, client)
        codec = viewer_video_codec(parsed)
        pc = self._new_pc()
        session = Session(secrets.token_urlsafe(16), "whep", broadcast_id, client, pc, codec=codec)
        fanout = self.fanout(broadcast_id)
        try:
            await pc.setRemoteDescription(
                RTCSessionDescription(ice.drop_unresolvable_candidates(offer), "offer")
            )
            for transceiver in pc.getTransceivers():
                track: PacketTrack
                if transceiver.kind == "video" and codec is not None:
                    transceiver.setCodecPreferences(codec_preferences("video", codec))
                    track = fanout.video_track(codec)
                elif transceiver.kind == "audio":
                    track = fanout.audio_track()
                else:
                    continue
                session.tracks.append(track)
                transceiver.sender.replaceTrack(track)
                if track.kind == "video":
                    track.sender = transceiver.sender
                transceiver.direction = "sendonly"
                # A viewer's PLI/FIR asks the shared encoder, rate-limited, for a keyframe.
                if track.kind == "video" and codec is not None:
                    transceiver.sender._send_keyframe = partial(fanout.request_keyframe, codec)  # type: ignore[method-assign]
            if not session.tracks:
                raise ValueError("no audio (Opus) or video (H264, VP8) section we can send")
            answer = await self._answer(session, offer)
        except Exception as exc:
            for sent in session.tracks:
                fanout.remove(sent)
            await pc.close()
            log.info("offer not negotiated error=%r", exc)  # the library's words stay in our log
            raise DomainError("bad_request", NOT_NEGOTIATED) from None

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            session.state_since = time.monotonic()
            if pc.connectionState in ("failed", "closed") and not session.closed:
                await self.close(session, reason=pc.connectionState)

        self.sessions[session.id] = session
        return session, answer

    # both ----------------------------------------------------------------------------------------

    async def trickle(self, session: Session, fragment: str) -> None:
        """Add the client's trickled candidates (RFC 8840 sdpfrag); ICE restarts are not supported."""
        remote = session.pc.remoteDescription
        for line in fragment.splitlines():
            if (
                line.startswith("a=ice-ufrag:")
                and remote
                and f"a=ice-ufrag:{line[12:].strip()}" not in remote.sdp
            ):
                raise DomainError("validation_error", "ICE restarts are not supported; start a new session")
        mid = None
        transceivers = session.pc.getTransceivers()
        for line in fragment.splitlines():
            if line.startswith("a=mid:"):
                mid = line[6:].strip()
            elif line.startswith("a=candidate:"):
                candidate = candidate_from_sdp(line[12:])
                if not ice._is_ip(candidate.ip):
                    continue
                candidate.sdpMid = mid or (transceivers[0].mid if transceivers else "0")
                await session.pc.addIceCandidate(candidate)
            elif line.startswith("a=end-of-candidates"):
                await session.pc.addIceCandidate(None)  # type: ignore[arg-type]

    async def close(self, session: Session, reason: str) -> None:
        if session.closed:
            return
        session.closed = True
        self.sessions.pop(session.id, None)
        log.info(
            "media session closed kind=%s broadcast=%s session=%s reason=%s",
            session.kind,
            session.broadcast_id,
            session.id[:6],
            reason,
        )
        fanout = self.fanouts.get(session.broadcast_id)
        if session.kind == "whip":
            if self.publishers.get(session.broadcast_id) is session:
                del self.publishers[session.broadcast_id]
                if fanout is not None:
                    await fanout.detach()
                was_publishing = self.states.get(session.broadcast_id) == "publishing"
                if reason not in ("taken over", "broadcast ended") and was_publishing:
                    await self._set_state(
                        session.broadcast_id, "stopped" if session.ended_by_client else "reconnecting"
                    )
                    self.dropped_at[session.broadcast_id] = time.monotonic()
        elif fanout is not None:
            for track in session.tracks:
                fanout.remove(track)
        with contextlib.suppress(Exception):
            await session.pc.close()

    async def end_broadcast(self, broadcast_id: str) -> None:
        """The broadcast ended: close its publisher and every viewer."""
        for session in [s for s in list(self.sessions.values()) if s.broadcast_id == broadcast_id]:
            await self.close(session, reason="broadcast ended")
        fanout = self.fanouts.pop(broadcast_id, None)
        if fanout is not None:
            await fanout.close()
        await self._set_state(broadcast_id, "stopped")

    async def reap(self) -> None:
        """Close sessions that never connected, or lost their peer, for longer than session_idle_s."""
        now = time.monotonic()
        for session in list(self.sessions.values()):
            if not session.connected and now - session.state_since > self.settings.session_idle_s:
                await self.close(session, reason="idle")
        for broadcast_id, dropped in list(self.dropped_at.items()):
            if self.states.get(broadcast_id) != "reconnecting":
                del self.dropped_at[broadcast_id]
            elif now - dropped > self.settings.reconnect_grace_s:
                del self.dropped_at[broadcast_id]
                await self._set_state(broadcast_id, "stopped")  # the host is not coming back soon
        for broadcast_id in list(self.fanouts):
            if not any(s.broadcast_id == broadcast_id for s in self.sessions.values()):
                fanout = self.fanouts.pop(broadcast_id)
                await fanout.close()

    async def close_all(self) -> None:
        """At shutdown: every session at once, each bounded (aiortc's close can wait on a dead peer)."""
        sessions = list(self.sessions.values())
        await asyncio.gather(
            *(bounded(self.close(s, reason="shutdown"), within=3, what="media session") for s in sessions)
        )
        fanouts, self.fanouts = list(self.fanouts.values()), {}
        await asyncio.gather(*(bounded(f.close(), within=3, what="media fanout") for f in fanouts))
