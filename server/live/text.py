"""Chat text rules: Unicode NFC, no control characters, at most MAX_CHARS, and the host's blocked words."""

from __future__ import annotations

import re
import unicodedata

from server.text import CONTROL, SPACES

MAX_CHARS = 500
_CONTROL = CONTROL
_SPACES = SPACES


class TextProblem(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def normalise(raw: str) -> str:
    """NFC, controls stripped, whitespace runs folded; raises TextProblem when empty or too long."""
    text = unicodedata.normalize("NFC", raw)
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    if not text:
        raise TextProblem("message_empty", "The message is empty")
    if len(text) > MAX_CHARS:
        raise TextProblem("message_too_long", f"At most {MAX_CHARS} characters ({len(text)} sent)")
    return text


def clean_words(words: list[str]) -> list[str]:
    """A host's blocked-word list, normalised like messages and deduplicated (case-insensitive)."""
    seen: dict[str, None] = {}
    for word in words:
        w = _SPACES.sub(" ", _CONTROL.sub(" ", unicodedata.normalize("NFC", word))).strip().casefold()
        if w:
            seen[w] = None
    return list(seen)


def blocked_matcher(words: list[str]) -> re.Pattern[str] | None:
    """One regex for the whole list; whole words only, so 'ass' does not block 'class'."""
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
