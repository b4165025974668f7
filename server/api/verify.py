"""Verified buyers: a one-time code sent to an email address through a provider, proved back for a
token that says "verified". Offers a host marks verified-buyers-only need one; a script minting guest
sessions needs a mailbox per guest. The sandbox provider keeps the codes in memory (dev, tests); a real
deployment plugs an email or SMS provider in through `CodeSender`."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Protocol

from aiohttp import web
from pydantic import EmailStr, Field
from redis.asyncio import Redis

from server.api.validation import Body
from server.errors import Code, DomainError

log = logging.getLogger("liveshop.api")
CODE_TTL_S = 600
MAX_TRIES = 5


class CodeSender(Protocol):
    """Delivers a one-time code; raise to report the provider failed."""

    async def send(self, destination: str, code: str) -> None: ...


class SandboxSender:
    """Keeps the last code per destination in memory: what a test or a developer reads."""

    def __init__(self) -> None:
        self.outbox: dict[str, str] = {}

    async def send(self, destination: str, code: str) -> None:
        if len(self.outbox) > 10_000:
            self.outbox.clear()
        self.outbox[destination] = code
        log.info("verification code sent by the sandbox provider")


class VerifyStart(Body):
    email: EmailStr


class VerifyConfirm(Body):
    code: str = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")


class Verifier:
    """Codes live in Redis (digest only, 10 minutes, 5 tries) keyed by the account that asked."""

    def __init__(self, redis: Redis, sender: CodeSender, secret: str) -> None:
        self._redis = redis
        self.sender = sender
        self._key = secret.encode()

    def _digest(self, user_id: str, code: str) -> str:
        return hmac.new(self._key, f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()

    async def start(self, user_id: str, email: str) -> None:
        code = f"{secrets.randbelow(1_000_000):06d}"
        key = f"verify:{user_id}"
        await self._redis.hset(key, mapping={"digest": self._digest(user_id, code), "tries": 0})
        await self._redis.expire(key, CODE_TTL_S)
        await self.sender.send(email, code)

    async def confirm(self, user_id: str, code: str) -> bool:
        key = f"verify:{user_id}"
        tries = await self._redis.hincrby(key, "tries", 1)
        stored = await self._redis.hget(key, "digest")
        if stored is None or tries > MAX_TRIES:
            await self._redis.delete(key)
            raise DomainError(Code.TOO_MANY_ATTEMPTS if stored else Code.NOT_FOUND, "Ask for a new code")
        ok = hmac.compare_digest(
            stored.decode() if isinstance(stored, bytes) else str(stored), self._digest(user_id, code)
        )
        if ok:
            await self._redis.delete(key)
        return ok


VERIFIER = web.AppKey("verifier", Verifier)
