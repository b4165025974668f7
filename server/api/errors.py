"""RFC 9457 problem+json for the domain errors of `server.errors`: each code's HTTP status, the middleware.

Domain code raises `DomainError` (or a named subclass); only this module builds HTTP responses from them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout  # no free database connection in time

from server.errors import TITLES, Code, DomainError

log = logging.getLogger("liveshop.api")

PROBLEM_TYPE = "https://liveshop.dev/problems/"

# code -> HTTP status. Every code has one (checked below, at import).
STATUS: dict[Code, int] = {
    Code.BAD_REQUEST: 400,
    Code.INVALID_JSON: 400,
    Code.VALIDATION_ERROR: 422,
    Code.UNSUPPORTED_MEDIA_TYPE: 415,
    Code.PAYLOAD_TOO_LARGE: 413,
    Code.UNAUTHORIZED: 401,
    Code.INVALID_TOKEN: 401,
    Code.INVALID_CREDENTIALS: 401,
    Code.BAD_SIGNATURE: 401,
    Code.FORBIDDEN: 403,
    Code.BANNED: 403,
    Code.NOT_FOUND: 404,
    Code.METHOD_NOT_ALLOWED: 405,
    Code.CONFLICT: 409,
    Code.SKU_EXISTS: 409,
    Code.EMAIL_EXISTS: 409,
    Code.INSUFFICIENT_STOCK: 409,
    Code.SOLD_OUT: 409,
    Code.LIMIT_EXCEEDED: 409,
    Code.CHECKOUT_IN_PROGRESS: 409,
    Code.BROADCAST_ENDED: 409,
    Code.OFFER_ACTIVE: 409,
    Code.OFFER_ENDED: 410,
    Code.BID_TOO_LOW: 409,
    Code.ALREADY_HIGH_BIDDER: 409,
    Code.AUCTION_ENDED: 410,
    Code.GIVEAWAY_CLOSED: 409,
    Code.GIVEAWAY_OPEN: 409,
    Code.GIVEAWAY_DRAWN: 409,
    Code.NO_ENTRANTS: 409,
    Code.BUYERS_ONLY: 403,
    Code.RESERVATION_EXPIRED: 410,
    Code.NO_REPLAY: 404,
    Code.IDEMPOTENCY_KEY_REUSED: 422,
    Code.RATE_LIMITED: 429,
    Code.TOO_MANY_ATTEMPTS: 429,
    Code.VERIFICATION_REQUIRED: 403,
    Code.PROOF_REQUIRED: 428,
    Code.NOT_JOINED: 409,
    Code.MESSAGE_EMPTY: 422,
    Code.MESSAGE_TOO_LONG: 422,
    Code.BLOCKED_WORD: 422,
    Code.SLOW_MODE: 429,
    Code.TIMED_OUT: 403,
    Code.SERVICE_UNAVAILABLE: 503,
    Code.INTERNAL_ERROR: 500,
    Code.PAYMENT_UNAVAILABLE: 503,
    Code.PAYMENT_DECLINED: 402,
    Code.PAYMENT_MISMATCH: 422,
    Code.NOT_PAYABLE: 409,
    Code.NOT_REFUNDABLE: 409,
    Code.PAYMENTS_OFF: 409,
    Code.NOT_ACCEPTABLE: 406,
    Code.COUPON_UNKNOWN: 404,
    Code.COUPON_EXPIRED: 410,
    Code.COUPON_USED_UP: 409,
    Code.COUPON_LIMIT_EXCEEDED: 409,
    Code.COUPON_NOT_APPLICABLE: 422,
    Code.COUPON_EXISTS: 409,
}
_unmapped = set(Code) - STATUS.keys()
if _unmapped:
    raise RuntimeError(f"error codes without an HTTP status: {sorted(_unmapped)}")

# code -> (HTTP status, title), for the OpenAPI document.
CODES: dict[str, tuple[int, str]] = {str(code): (STATUS[code], TITLES[code]) for code in Code}


def with_status(error: DomainError, status: int) -> DomainError:
    """The same code answered with another HTTP status where a route's contract says so (Stripe's
    webhook answers a bad signature with 400, Shopify's with 401)."""
    error.http_status = status  # type: ignore[attr-defined]
    return error


def status_of(error: DomainError) -> int:
    return int(getattr(error, "http_status", 0) or STATUS[error.code])


def problem(error: DomainError, instance: str | None = None) -> dict[str, Any]:
    """The RFC 9457 body of a domain error."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + error.code,
        "title": error.title,
        "status": status_of(error),
        "detail": error.detail,
        "code": str(error.code),
    }
    if error.field:
        body["field"] = error.field
    if instance:
        body["instance"] = instance
    body.update(error.extra)
    return body


def problem_response(error: DomainError, instance: str | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(problem(error, instance)),
        status=status_of(error),
        content_type="application/problem+json",
        headers=error.headers,
    )


_HTTP_CODES: dict[int, Code] = {
    400: Code.BAD_REQUEST,
    401: Code.UNAUTHORIZED,
    403: Code.FORBIDDEN,
    404: Code.NOT_FOUND,
    405: Code.METHOD_NOT_ALLOWED,
    413: Code.PAYLOAD_TOO_LARGE,
    415: Code.UNSUPPORTED_MEDIA_TYPE,
}


# NUL and the other C0 controls, DEL, and lone surrogates (bytes that were not UTF-8).
_UNREADABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffd]")
_NOT_UTF8 = re.compile(r"[\ud800-\udfff]")  # aiohttp keeps a header's undecodable bytes as surrogates


def screen(request: web.Request) -> None:
    """Refuse what no route can mean before any handler sees it: an id with a NUL byte would reach
    PostgreSQL (which refuses it), a header that is not UTF-8 would fail whoever encodes it."""
    for name, value in request.match_info.items():
        if _UNREADABLE.search(value):
            raise DomainError(Code.NOT_FOUND, f"No such {name}")
    for name, value in request.query.items():
        if _UNREADABLE.search(name) or _UNREADABLE.search(value):
            raise DomainError(
                Code.VALIDATION_ERROR, "A query parameter holds control characters", field="query"
            )
    for name, value in request.headers.items():
        if _NOT_UTF8.search(value):
            raise DomainError(Code.BAD_REQUEST, f"The {name} header is not UTF-8", field=name)


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure leaves as problem+json; an unexpected one is logged and never leaks a trace."""
    try:
        screen(request)
        return await handler(request)
    except DomainError as exc:
        return problem_response(exc, request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status)
        if code is None:
            raise
        err = DomainError(code, exc.reason or TITLES[code])
        if exc.status == 405:
            err.headers["Allow"] = exc.headers.get("Allow", "")
        return problem_response(err, request.path)
    except (RedisError, OperationalError, DBAPIError, PoolTimeout, ConnectionError, TimeoutError) as exc:
        log.warning("backing service failed path=%s error=%r", request.path, exc)
        err = DomainError(Code.SERVICE_UNAVAILABLE, "A backing service is unavailable; retry shortly")
        err.headers["Retry-After"] = "1"
        return problem_response(err, request.path)
    except Exception:
        log.exception("unhandled error path=%s", request.path)
        return problem_response(
            DomainError(Code.INTERNAL_ERROR, "Something went wrong on our side"), request.path
        )
