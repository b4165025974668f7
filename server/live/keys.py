"""The one home of the live room's Redis keys. Each broadcast's keys share the hash tag `{<id>}`."""

from __future__ import annotations


def _tag(broadcast_id: str) -> str:
    return "live:{" + broadcast_id + "}"


def chat_history(broadcast_id: str) -> str:
    """list: recent chat messages as JSON, oldest first, capped at HISTORY_CAP."""
    return _tag(broadcast_id) + ":chat"


def chat_seeded(broadcast_id: str) -> str:
    """string: set once the history list reflects the archive (so an empty list means no chat yet)."""
    return _tag(broadcast_id) + ":chat:seeded"


def viewers(broadcast_id: str) -> str:
    """hash: node id -> "viewers|chat messages per s|expires_ms" (each node writes its own share)."""
    return _tag(broadcast_id) + ":viewers"


def slow_mode(broadcast_id: str, user_id: str) -> str:
    """string with a TTL: this user may not chat again until it expires (slow mode)."""
    return _tag(broadcast_id) + ":slow:" + user_id


def buy_message(broadcast_id: str, user_id: str, digest: str) -> str:
    """string with a TTL: the id of the first buy-keyword message with this text from this user, so a
    retried message without a client id claims under the same idempotency key (comment-to-buy)."""
    return _tag(broadcast_id) + ":buy:" + user_id + ":" + digest


def audience(broadcast_id: str) -> str:
    """hash: the audience measure (live/audience.lua): cur, peak, area_ms (viewer-milliseconds watched,
    the sum of every session's join -> leave), last_ms, first_ms, start_ms, end_ms, chat."""
    return _tag(broadcast_id) + ":aud"


def audience_samples(broadcast_id: str) -> str:
    """hash: per time bucket (its start, ms) "v:<ms>" the most viewers at once in it, "e:<ms>" the viewers
    at its last change, "c:<ms>" chat messages sent in it: the report's charts."""
    return _tag(broadcast_id) + ":aud:samples"


def audience_viewers(broadcast_id: str) -> str:
    """HyperLogLog: every viewer (user id) who joined."""
    return _tag(broadcast_id) + ":aud:viewers"


def audience_chatters(broadcast_id: str) -> str:
    """HyperLogLog: every viewer who sent a chat message."""
    return _tag(broadcast_id) + ":aud:chatters"


def audience_sources(broadcast_id: str) -> str:
    """hash: the attribution sources seen among the viewers (capped), source -> 1."""
    return _tag(broadcast_id) + ":aud:sources"


def audience_source(broadcast_id: str, source: str) -> str:
    """HyperLogLog: the viewers who came from one source."""
    return _tag(broadcast_id) + ":aud:src:" + source
