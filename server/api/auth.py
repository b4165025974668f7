"""Accounts and bearer tokens: host login, guest sessions, and the role checks handlers use."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from typing import Annotated, Any

from aiohttp import web
from limits import RateLimitItem
from pydantic import Field, StringConstraints, TypeAdapter, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.api.clients import client_address, client_network, is_trusted_client
from server.api.context import DB, REDIS, SETTINGS
from server.api.directory import HostDirectory
from server.api.models import Membership, Shop, User
from server.api.names import ShopNames, nickname
from server.api.openapi import Router
from server.api.passwords import check_password, hash_password
from server.api.proof import Proofs
from server.api.ratelimit import LIMITER, limit, too_many
from server.api.tokens import TOKEN_MAX_AGE_S, Principal, Tokens
from server.api.validation import Body, json_response, parse_body
from server.api.verify import VERIFIER, SandboxSender, Verifier, VerifyConfirm, VerifyStart
from server.db.base import new_id
from server.errors import Code, DomainError

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
PRINCIPAL = web.RequestKey("principal", Principal)
BAD_BEARER = web.RequestKey("bad_bearer", bool)  # a bearer was sent and did not verify (or was revoked)

TOKENS = web.AppKey("tokens", Tokens)
DIRECTORY = web.AppKey("host_directory", HostDirectory)

__all__ = ["TOKENS", "TOKEN_MAX_AGE_S", "Principal", "Tokens"]


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def authenticate(app: web.Application, token: str) -> Principal | None:
    """The principal a bearer token stands for now: signature, age, then (hosts) revocation."""
    if not token.isascii():
        return None
    claims = app[TOKENS].verify(token)
    if claims is None:
        return None
    return await app[DIRECTORY].resolve(claims)


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Resolves the bearer once per request, so handlers check roles without awaiting."""
    token = bearer(request)
    if token is not None:
        principal = await authenticate(request.app, token)
        if principal is None:
            request[BAD_BEARER] = True
        else:
            request[PRINCIPAL] = principal
    return await handler(request)


def optional_user(request: web.Request) -> Principal | None:
    if BAD_BEARER in request:
        raise DomainError("invalid_token", "The bearer token is invalid or expired")
    return request.get(PRINCIPAL)


def require_user(request: web.Request) -> Principal:
    principal = optional_user(request)
    if principal is None:
        raise DomainError("unauthorized", "Send Authorization: Bearer <token>")
    return principal


def require_host(request: web.Request) -> Principal:
    principal = require_user(request)
    if not principal.is_host or principal.shop_id is None:
        raise DomainError("forbidden", "Only a host may do this")
    return principal


async def create_host(  # type: ignore[no-untyped-def]
    sessionmaker,
    email: str,
    password: str,
    nickname: str | None = None,
    *,
    shop_id: str | None = None,
    shop_name: str | None = None,
) -> User:
    """Make a host account (`liveshop create-host`, the demo seed): the owner of a new shop, or a
    member of `shop_id`."""
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
        if shop_id is None:
            shop = Shop(id=new_id("sh"), name=(shop_name or f"{user.nickname}'s shop")[:100])
            session.add(shop)
            await session.flush()
            membership = Membership(user_id=user.id, shop_id=shop.id, role="owner")
        else:
            if await session.get(Shop, shop_id) is None:
                raise DomainError("not_found", f"shop {shop_id} not found", field="shop")
            membership = Membership(user_id=user.id, shop_id=shop_id, role="host")
        session.add(user)
        try:
            await session.flush()  # the user row first: the membership refers to it
            session.add(membership)
            await session.commit()
        except IntegrityError as exc:
            raise DomainError("email_exists", f"{email} already has an account", field="email") from exc
    return user


class LoginIn(Body):
    email: AccountEmail
    password: str = Field(min_length=1, max_length=200)


class ProofIn(Body):
    challenge: str = Field(min_length=1, max_length=200)
    nonce: str = Field(min_length=1, max_length=64)


class GuestIn(Body):
    nickname: str = Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")
    proof: ProofIn | None = None


router = Router()


def _account_key(email: str) -> str:
    """Limits are keyed on a digest: no email address is written to Redis."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


@router.post(
    "/api/v1/auth/login",
    body=LoginIn,
    summary="Host login",
    tag="auth",
    errors=("invalid_credentials", "too_many_attempts"),
)
async def login(request: web.Request) -> web.Response:
    body = await parse_body(request, LoginIn)
    limits = request.app[LOGIN_LIMITS]
    limiter = request.app[LIMITER]
    email = body.email.lower()
    account = ("login-account", _account_key(email))
    address = ("login-address", client_address(request))  # every address, trusted clients too
    wait = max(
        await limiter.retry_after(limits.account, *account),
        await limiter.retry_after(limits.address, *address),
    )
    if wait:
        raise too_many(Code.TOO_MANY_ATTEMPTS, "Too many failed sign-ins; wait before trying again", wait)
    async with request.app[DB]() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    if not await check_password(user.password_hash if user else None, body.password) or user is None:
        await limiter.hit(limits.account, *account)
        await limiter.hit(limits.address, *address)
        raise DomainError("invalid_credentials")
    await limiter.clear(limits.account, *account)
    principal = Principal(user.id, user.role, user.nickname)
    request.app[DIRECTORY].forget(user.id)
    return json_response(
        {
            "token": request.app[TOKENS].issue(principal),
            "user": {"id": user.id, "email": user.email, "nickname": user.nickname, "role": user.role},
        }
    )


async def _guest_allowed(request: web.Request, body: GuestIn) -> None:
    """Bot defence: a hard per-network rate, and proof-of-work past the network's free allowance."""
    if is_trusted_client(request):
        return
    app = request.app
    limits = app[GUEST_LIMITS]
    network = client_network(request)
    wait = await app[LIMITER].retry_after(limits.hard, "guest", network)
    if wait:
        raise too_many(Code.RATE_LIMITED, "Too many guest sessions from your network", wait)
    free = await app[LIMITER].hit(limits.free, "guest-free", network)
    if not free:
        proof = body.proof
        if proof is None or not await app[PROOFS].accept(proof.challenge, proof.nonce):
            problem = DomainError(Code.PROOF_REQUIRED, "Solve this challenge and send it as proof")
            problem.extra.update(app[PROOFS].challenge())
            raise problem
    await app[LIMITER].hit(limits.hard, "guest", network)


@router.get("/api/v1/auth/challenge", summary="A proof-of-work challenge for a guest session", tag="auth")
async def challenge(request: web.Request) -> web.Response:
    return json_response(request.app[PROOFS].challenge())


@router.post(
    "/api/v1/auth/guest",
    body=GuestIn,
    summary="Guest session for a viewer",
    tag="auth",
    status=201,
    errors=("rate_limited", "proof_required"),
)
async def guest(request: web.Request) -> web.Response:
    body = await parse_body(request, GuestIn)
    await _guest_allowed(request, body)
    name = await nickname(body.nickname, request.app[SHOP_NAMES])
    origin = None if is_trusted_client(request) else client_network(request)
    user = User(id=new_id("us"), role="viewer", nickname=name, origin_network=origin)
    async with request.app[DB]() as session:
        session.add(user)
        await session.commit()
    principal = Principal(user.id, "viewer", user.nickname)
    return json_response(
        {"token": request.app[TOKENS].issue(principal), "user": principal.public()}, status=201
    )


@router.post(
    "/api/v1/auth/verify",
    body=VerifyStart,
    summary="Send a one-time code to prove an email address (verified-buyers-only offers)",
    tag="auth",
    auth="user",
    status=202,
    errors=("rate_limited",),
)
async def verify_start(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await parse_body(request, VerifyStart)
    wait = await request.app[LIMITER].retry_after(VERIFY_LIMIT, "verify", who.id)
    if wait:
        raise too_many(Code.RATE_LIMITED, "Too many codes asked for; wait before asking again", wait)
    await request.app[LIMITER].hit(VERIFY_LIMIT, "verify", who.id)
    await request.app[VERIFIER].start(who.id, body.email)
    return json_response({"sent": True, "expires_in_s": 600}, status=202)


@router.post(
    "/api/v1/auth/verify/confirm",
    body=VerifyConfirm,
    summary="Prove the code: a new token that says this buyer is verified",
    tag="auth",
    auth="user",
    errors=("invalid_credentials", "too_many_attempts", "not_found"),
)
async def verify_confirm(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await parse_body(request, VerifyConfirm)
    if not await request.app[VERIFIER].confirm(who.id, body.code):
        raise DomainError("invalid_credentials", "That code is not the one we sent")
    verified = replace(who, verified=True)
    return json_response({"token": request.app[TOKENS].issue(verified), "user": verified.public()})


@router.get("/api/v1/auth/me", summary="Who the bearer token belongs to", tag="auth", auth="user")
async def me(request: web.Request) -> web.Response:
    return json_response({"user": require_user(request).public()})


@router.post(
    "/api/v1/auth/logout", summary="Revoke every token of this account", tag="auth", auth="user", status=204
)
async def logout(request: web.Request) -> web.Response:
    who = require_user(request)
    async with request.app[DB]() as session, session.begin():
        await session.execute(update(User).where(User.id == who.id).values(tokens_valid_after=time.time()))
    request.app[DIRECTORY].forget(who.id)
    return web.Response(status=204)


@dataclass(frozen=True)
class LoginLimits:
    account: RateLimitItem
    address: RateLimitItem


@dataclass(frozen=True)
class GuestLimits:
    hard: RateLimitItem
    free: RateLimitItem


VERIFY_LIMIT = limit("5/hour")  # codes one account may ask for
LOGIN_LIMITS = web.AppKey("login_limits", LoginLimits)
GUEST_LIMITS = web.AppKey("guest_limits", GuestLimits)
PROOFS = web.AppKey("proofs", Proofs)
SHOP_NAMES = web.AppKey("shop_names", ShopNames)


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[LOGIN_LIMITS] = LoginLimits(limit(settings.login_limit_account), limit(settings.login_limit_address))
    app[GUEST_LIMITS] = GuestLimits(
        limit(settings.guest_limit_address), limit(f"{max(settings.guest_free_per_address, 1)}/10 minutes")
    )
    app[PROOFS] = Proofs(settings.secret.get_secret_value(), app[REDIS], settings.guest_pow_bits)
    app[SHOP_NAMES] = ShopNames(app[DB])
    app[VERIFIER] = Verifier(app[REDIS], SandboxSender(), settings.secret.get_secret_value())
    app[TOKENS] = Tokens(settings.secret.get_secret_value())
    app[DIRECTORY] = HostDirectory(app[DB], staleness_s=settings.auth_staleness_s)
    router.install(app)
