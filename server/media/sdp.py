"""Checks on offered SDP before aiortc sees it, and the codec a viewer gets."""

from __future__ import annotations

import logging

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.sdp import SessionDescription

from server.errors import DomainError
from server.media.encoders import CODECS

log = logging.getLogger("liveshop.media")

MAX_SDP_BYTES = 64 * 1024


def parse_offer(text: str) -> SessionDescription:
    """400 unless this is an SDP offer with at least one audio or video section."""
    if not text.startswith("v=0"):
        raise DomainError("bad_request", "The body is not an SDP offer (it must start with v=0)")
    try:
        parsed = SessionDescription.parse(text)
    except Exception as exc:  # aiortc raises ValueError, IndexError, KeyError on malformed lines
        log.info("unreadable SDP offer error=%r", exc)  # the library's words stay in our log
        raise DomainError("bad_request", "The SDP offer has a line we cannot read") from None
    if not any(m.kind in ("audio", "video") for m in parsed.media):
        raise DomainError("bad_request", "The offer has no audio or video section")
    first = next(m for m in parsed.media if m.kind in ("audio", "video"))
    if first.ice is None or not (first.ice.usernameFragment and first.ice.password):
        raise DomainError("bad_request", "The offer lacks ICE credentials (a=ice-ufrag / a=ice-pwd)")
    if first.dtls is None or not first.dtls.fingerprints:
        raise DomainError("bad_request", "The offer lacks a DTLS fingerprint")
    return parsed


def viewer_video_codec(offer: SessionDescription) -> str | None:
    """The first codec in the viewer's own preference order that we encode (H264 or VP8)."""
    for media in offer.media:
        if media.kind != "video":
            continue
        for codec in media.rtp.codecs:
            name = codec.mimeType.split("/")[-1].lower()
            if name in CODECS:
                return name
    return None


def codec_preferences(kind: str, name: str) -> list[RTCRtpCodecCapability]:
    """aiortc's capabilities for `name` (all its H.264 profiles) plus retransmission."""
    caps = RTCRtpSender.getCapabilities(kind).codecs
    return [c for c in caps if c.mimeType.lower() in (f"{kind}/{name}", f"{kind}/rtx")]
