"""Proof-of-work for guest sessions past a network's free allowance: a signed, single-use challenge the
client answers with a nonce whose SHA-256 starts with `bits` zero bits. A person's browser pays well
under a second once; a script minting thousands of guests pays it every time."""

from __future__ import annotations

import hashlib
import secrets

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from redis.asyncio import Redis

CHALLENGE_TTL_S = 120


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solves(challenge: str, nonce: str, bits: int) -> bool:
    return leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) >= bits


def solve(challenge: str, bits: int, limit: int = 1 << 26) -> str:
    """What a client does (tests and load tools use it): the first nonce that works."""
    for n in range(limit):
        if solves(challenge, str(n), bits):
            return str(n)
    raise RuntimeError("no nonce found")


class Proofs:
    """Issues challenges and checks answers; each challenge is accepted once (a Redis SET NX)."""

    def __init__(self, secret: str, redis: Redis, bits: int) -> None:
        self._signer = TimestampSigner(secret, salt="liveshop.pow.v1")
        self._redis = redis
        self.bits = bits

    def challenge(self) -> dict[str, object]:
        token = self._signer.sign(secrets.token_urlsafe(12)).decode()
        return {"challenge": token, "bits": self.bits, "algorithm": "sha256", "expires_in_s": CHALLENGE_TTL_S}

    async def accept(self, challenge: str, nonce: str) -> bool:
        if len(challenge) > 200 or len(nonce) > 64 or not challenge.isascii():
            return False
        try:
            raw = self._signer.unsign(challenge, max_age=CHALLENGE_TTL_S).decode()
        except (BadSignature, SignatureExpired):
            return False
        if not solves(challenge, nonce, self.bits):
            return False
        return bool(await self._redis.set(f"pow:used:{raw}", "1", nx=True, ex=CHALLENGE_TTL_S * 2))
