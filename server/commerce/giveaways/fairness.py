"""The giveaway draw, as anyone can re-check it: only the standard library, no liveshop state.

A giveaway publishes, in this order:
1. at the start: `seed_commitment` = sha256(seed), the seed being 32 bytes from `secrets`, chosen before
   anyone could enter (so it cannot be picked to suit the entrants);
2. at the close: the frozen entrant list (user ids in entry order) and `entrants_hash` = sha256 of the
   ids, each followed by a newline (what `jq -r '.entrants[].user_id' | sha256sum` prints);
3. at the draw: the seed itself. The winner is entrant number `winner_index(seed, entrants_hash, n)`.

`winner_index` reads an HMAC-SHA256 counter stream keyed by the seed over the list's hash and rejects
values past the largest multiple of n below 2**256, so every entrant is exactly equally likely (no
modulo bias), and the result is fixed by the published seed and list alone.

Run `python -m server.commerce.giveaways.fairness giveaway.json` (the GET answer of a drawn giveaway)
to check one; docs/giveaways.md has the same check as a copy-paste script.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sys
from collections.abc import Iterable, Sequence
from typing import Any

SEED_BYTES = 32
_SPACE = 1 << 256


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def commitment(seed: bytes) -> str:
    """What is published before anyone enters: the seed's SHA-256, hex."""
    return hashlib.sha256(seed).hexdigest()


def entrants_hash(user_ids: Iterable[str]) -> str:
    """SHA-256 (hex) of the frozen list: each user id and a newline, in the published order."""
    digest = hashlib.sha256()
    for user_id in user_ids:
        if "\n" in user_id:
            raise ValueError("a user id never holds a newline")
        digest.update(user_id.encode() + b"\n")
    return digest.hexdigest()


def winner_index(seed: bytes, list_hash: str, n: int) -> int:
    """The winner's position (0-based) among n entrants: uniform, deterministic in (seed, list hash)."""
    if n < 1:
        raise ValueError("a draw needs at least one entrant")
    limit = _SPACE - _SPACE % n  # values at or past it would favour the first entrants
    message = bytes.fromhex(list_hash)
    counter = 0
    while True:
        block = hmac.new(seed, message + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        value = int.from_bytes(block, "big")
        if value < limit:
            return value % n
        counter += 1


def verify(seed_hex: str, seed_commitment: str, published_hash: str, user_ids: Sequence[str]) -> int:
    """Re-check a draw; the winner's 0-based index, or ValueError naming what does not match."""
    seed = bytes.fromhex(seed_hex)
    if commitment(seed) != seed_commitment:
        raise ValueError("the seed does not match the commitment published at the start")
    if entrants_hash(user_ids) != published_hash:
        raise ValueError("the entrant list does not match the hash published at the close")
    return winner_index(seed, published_hash, len(user_ids))


def verify_view(view: dict[str, Any]) -> str:
    """Check a drawn giveaway as GET /api/v1/giveaways/{id} shows it; the winner's user id."""
    ids = [e["user_id"] for e in view["entrants"]]
    index = verify(view["seed"], view["seed_commitment"], view["entrants_hash"], ids)
    winner = view.get("winner") or {}
    if winner.get("user_id") != ids[index]:
        raise ValueError(f"the published winner is not entrant #{index + 1} ({ids[index]})")
    return ids[index]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    raw = open(args[0], encoding="utf-8").read() if args and args[0] != "-" else sys.stdin.read()
    try:
        winner = verify_view(json.loads(raw))
    except (ValueError, KeyError, TypeError) as exc:
        print(f"NOT VERIFIED: {exc}")
        return 1
    print(f"verified: the winner {winner} follows from the seed and the published list")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
