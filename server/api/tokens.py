"""Signed bearer tokens: issue, verify, and a bounded cache of the ones that verified."""

from __future__ import annotations

import time
from dataclasses import dataclass

from cachetools import LRUCache
from itsdangerous import BadSignature, URLSafeSerializer

TOKEN_MAX_AGE_S = 30 * 24 * 3600
# Our tokens are ~100-300 characters; anything longer is junk and is refused before any work.
MAX_TOKEN_CHARS = 1024
VERIFIED_CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    role: str  # host | viewer
    nickname: str
    shop_id: str | None = None  # a host's shop (None for viewers)
    shop_role: str | None = None  # owner | host
    verified: bool = False  # a buyer who proved an email address (verified-buyers-only offers)

    @property
    def is_host(self) -> bool:
        return self.role == "host"

    def public(self) -> dict[str, str]:
        return {"id": self.id, "nickname": self.nickname, "role": self.role}


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says: who, and when it was issued (for revocation)."""

    principal: Principal
    issued: float


class Tokens:
    """Stateless signed tokens, so any node can verify any token without a lookup."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="liveshop.token.v1")
        # Only tokens that verified enter the cache: junk costs one HMAC and no memory.
        self._verified: LRUCache[str, Claims] = LRUCache(maxsize=VERIFIED_CACHE_SIZE)

    def issue(self, principal: Principal) -> str:
        issued = round(time.time(), 3)
        fields: list[object] = [principal.id, principal.role, principal.nickname, issued]
        if principal.verified:
            fields.append(1)
        return self._serializer.dumps(fields)

    def verify(self, token: str) -> Claims | None:
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        claims = self._verified.get(token)
        if claims is None:
            try:
                uid, role, nickname, issued, *flags = self._serializer.loads(token)
                principal = Principal(str(uid), str(role), str(nickname), verified=flags == [1])
                claims = Claims(principal, float(issued))
            except (BadSignature, ValueError, TypeError):
                return None
            self._verified[token] = claims
        if time.time() - claims.issued > TOKEN_MAX_AGE_S:
            return None
        return claims

    def principal(self, token: str) -> Principal | None:
        """The token's principal by signature alone (viewer tokens need nothing more)."""
        claims = self.verify(token)
        return claims.principal if claims else None

    def cached(self) -> int:
        return len(self._verified)
