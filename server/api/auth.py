"""Accounts and bearer tokens: host login, guest sessions, and the role checks handlers use."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import Field, StringConstraints, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.api.context import DB, SETTINGS
from server.api.models import User
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body
from server.db.base import new_id
from server.errors import DomainError

TOKEN_MAX_AGE_S = 30 * 24 * 3600
# A host's email is its login name, not a mailbox we write to: `ops@shop.test` and `admin@localhost`
# are fine. The same rule at account creation and at login, so every account made can log in.
AccountEmail = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=254,
        pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$",
    ),
]
_account_email: TypeAdapter[str] = TypeAdapter(AccountEmail)
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    role: str  # host | viewer
    nickname: str

    @property
    def is_host(self) -> bool:
        return self.role == "host"

    def public(self) -> dict[str, str]:
        return {"id": self.id, "nickname": self.nickname, "role": self.role}


class Tokens:
    """Stateless signed tokens, so any node can verify any token without a lookup."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="liveshop.token.v1")
        self.verify = lru_cache(maxsize=100_000)(self._verify)

    def issue(self, principal: Principal) -> str:
        return self._serializer.dumps([principal.id, principal.role, principal.nickname, int(time.time())])

    def _verify(self, token: str) -> tuple[Principal, int] | None:
        try:
            uid, role, nickname, issued = self._serializer.loads(token)
        except (BadSignature, ValueError, TypeError):
            return None
        return Principal(str(uid), str(role), str(nickname)), int(issued)

    def principal(self, token: str) -> Principal | None:
        found = self.verify(token)
        if found is None or time.time() - found[1] > TOKEN_MAX_AGE_S:
            return None
        return found[0]


TOKENS = web.AppKey("tokens", Tokens)


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def optional_user(request: web.Request) -> Principal | None:
    token = bearer(request)
    if token is None:
        return None
    principal = request.app[TOKENS].principal(token)
    if principal is None:
        raise DomainError("invalid_token", "The bearer token is invalid or expired")
    return principal


def require_user(request: web.Request) -> Principal:
    principal = optional_user(request)
    if principal is None:
        raise DomainError("unauthorized", "Send Authorization: Bearer <token>")
    return principal


def require_host(request: web.Request) -> Principal:
    principal = require_user(request)
    if not principal.is_host:
        raise DomainError("forbidden", "Only a host may do this")
    return principal


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


async def check_password(hashed: str, password: str) -> bool:
    def _check() -> bool:
        try:
            return _hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.get_running_loop().run_in_executor(None, _check)


async def create_host(sessionmaker, email: str, password: str, nickname: str | None = None) -> User:  # type: ignore[no-untyped-def]
    """Make a host account (used by `liveshop create-host` and the demo seed)."""
    try:
        email = _account_email.validate_python(email)
    except ValidationError:
        raise DomainError("validation_error", "email: an address like name@domain", field="email") from None
    if len(password) < 8:
        raise DomainError("validation_error", "password: at least 8 characters", field="password")
    user = User(
        id=new_id("us"),
        role="host",
        email=email,
        password_hash=await hash_password(password),
        nickname=nickname or email.split("@")[0][:64],
    )
    async with sessionmaker() as session:
        session.add(user)
        try:
            await session.commit()
        except IntegrityError as exc:
            raise DomainError("email_exists", f"{email} already has an account", field="email") from exc
    return user


class LoginIn(Body):
    email: AccountEmail
    password: str = Field(min_length=1, max_length=200)


class GuestIn(Body):
    nickname: str = Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")


router = Router()


@router.post("/api/v1/auth/login", body=LoginIn, summary="Host login", tag="auth")
async def login(request: web.Request) -> web.Response:
    body = await parse_body(request, LoginIn)
    async with request.app[DB]() as session:
        user = (await session.execute(select(User).where(User.email == body.email))).scalar_one_or_none()
    if (
        user is None
        or user.password_hash is None
        or not await check_password(user.password_hash, body.password)
    ):
        raise DomainError("invalid_credentials")
    principal = Principal(user.id, user.role, user.nickname)
    return json_response(
        {
            "token": request.app[TOKENS].issue(principal),
            "user": {"id": user.id, "email": user.email, "nickname": user.nickname, "role": user.role},
        }
    )


@router.post("/api/v1/auth/guest", body=GuestIn, summary="Guest session for a viewer", tag="auth", status=201)
async def guest(request: web.Request) -> web.Response:
    body = await parse_body(request, GuestIn)
    user = User(id=new_id("us"), role="viewer", nickname=body.nickname)
    async with request.app[DB]() as session:
        session.add(user)
        await session.commit()
    principal = Principal(user.id, "viewer", user.nickname)
    return json_response(
        {"token": request.app[TOKENS].issue(principal), "user": principal.public()}, status=201
    )


@router.get("/api/v1/auth/me", summary="Who the bearer token belongs to", tag="auth", auth="user")
async def me(request: web.Request) -> web.Response:
    return json_response({"user": require_user(request).public()})


def setup(app: web.Application) -> None:
    app[TOKENS] = Tokens(app[SETTINGS].secret.get_secret_value())
    router.install(app)
