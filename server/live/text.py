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


BUY_KEYWORDS = ("buy", "sold", "kup", "구매")  # the contract's: they claim whatever the shop's language
# What buyers of each shop language also write to claim (casefolded, NFC). Chosen by the shop's
# language (GET/PATCH /api/v1/shop); unaccented spellings too, as phones often type them.
LANGUAGE_BUY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "en": ("mine", "i'll take it", "i’ll take it"),
    "pl": ("kupuję", "kupuje", "biorę", "biore", "rezerwuję", "rezerwuje", "poproszę", "poprosze"),
    "ko": ("살게요", "구매할게요", "구매요", "주문할게요", "주문"),
}
MAX_BUY_KEYWORDS = 20
_QUANTITY = re.compile(r"(?:\s*[x×]\s*|\s+)(\d{1,6})")


def language_buy_keywords(language: str) -> tuple[str, ...]:
    """The extra buy keywords of a shop language (none for a language we do not know)."""
    return LANGUAGE_BUY_KEYWORDS.get(language, ())


def buy_quantity(text: str, extra_keywords: list[str] | tuple[str, ...] = ()) -> int | None:
    """Comment-to-buy: the quantity when the whole (normalised) message is a buy keyword with an optional
    quantity after it ("buy", "SOLD 2", "kup x3"); None for anything else, so "I will buy it later" is chat.

    Keywords compare case-blind (casefold); the host's own keywords count as well as the built-in ones.
    """
    folded = text.casefold()
    for keyword in (*BUY_KEYWORDS, *extra_keywords):
        if not folded.startswith(keyword):
            continue
        rest = folded[len(keyword) :]
        if not rest:
            return 1
        match = _QUANTITY.fullmatch(rest)
        if match is not None:
            return int(match.group(1))
    return None
