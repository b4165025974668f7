"""Text that people show each other (chat, nicknames): the invisible tricks removed, and a "skeleton" to
tell when two names only look alike (Unicode's confusables, via confusable-homoglyphs)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

# C0/C1 controls, DEL, and the invisible direction/zero-width marks used to smuggle text past filters.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
SPACES = re.compile(r"\s+")


def clean(raw: str) -> str:
    """NFC, controls and bidi/zero-width marks turned to spaces, whitespace runs folded, trimmed."""
    return SPACES.sub(" ", CONTROL.sub(" ", unicodedata.normalize("NFC", raw))).strip()


@lru_cache(maxsize=4096)
def _ascii_twin(char: str) -> str:
    for glyph in confusables.confusables_data.get(char, ()):
        if glyph["c"].isascii():
            return str(glyph["c"])
    return char


def skeleton(text: str) -> str:
    """What a name looks like: compatibility-folded, look-alike letters mapped to their ASCII twin,
    case and everything but letters and digits dropped ("Dem0 Sh0p" and "demo shop" are the same)."""
    folded = unicodedata.normalize("NFKC", clean(text))
    mapped = "".join(_ascii_twin(c) for c in folded).casefold()
    return "".join(c for c in mapped if c.isalnum()).replace("0", "o").replace("1", "l").replace("i", "l")
