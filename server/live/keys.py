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
