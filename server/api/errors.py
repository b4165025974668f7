"""Domain errors with stable codes, and their RFC 9457 problem+json rendering.

Domain code raises `DomainError` (or a named subclass); only the middleware builds HTTP responses.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout  # no free database connection in time

log = logging.getLogger("liveshop.api")

PROBLEM_TYPE = "https://liveshop.dev/problems/"

# code -> (HTTP status, title). The codes are part of the v1 contract: never rename one.
CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "Malformed request"),
    "invalid_json": (400, "Body is not valid JSON"),
    "validation_error": (422, "Invalid input"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "payload_too_large": (413, "Body too large"),
    "unauthorized": (401, "Authentication required"),
    "invalid_token": (401, "Invalid or expired token"),
    "invalid_credentials": (401, "Wrong email or password"),
    "bad_signature": (401, "Signature does not match"),
    "forbidden": (403, "Not allowed"),
    "banned": (403, "Banned from this broadcast"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "sku_exists": (409, "A product with this SKU exists"),
    "email_exists": (409, "An account with this email exists"),
    "insufficient_stock": (409, "Not enough stock for this offer"),
    "sold_out": (409, "Sold out"),
    "limit_exceeded": (409, "Per-buyer limit reached"),
    "checkout_in_progress": (409, "This reservation is being checked out"),
    "broadcast_ended": (409, "The broadcast has ended"),
    "offer_active": (409, "An offer for this product is already running"),
    "offer_ended": (410, "The offer has ended"),
    "reservation_expired": (410, "The reservation has expired"),
    "idempotency_key_reused": (422, "Idempotency-Key reused with another request"),
    "rate_limited": (429, "Too many requests"),
    # live room (socket.io acks carry the code; HTTP statuses for the REST twins)
    "not_joined": (409, "Join a broadcast first"),
    "message_empty": (422, "The message is empty"),
    "message_too_long": (422, "The message is too long"),
    "blocked_word": (422, "The message contains a blocked word"),
    "slow_mode": (429, "Slow mode is on"),
    "timed_out": (403, "Timed out in this broadcast"),
    "service_unavailable": (503, "Temporarily unavailable"),
    # payments (v1.1)
    "payment_unavailable": (503, "The payment provider is unavailable; your reservation still holds"),
    "payment_declined": (402, "The payment was declined"),
    "payment_mismatch": (422, "The payment does not match the order"),
    "not_payable": (409, "This order takes no payment now"),
    "not_refundable": (409, "This order cannot be refunded or canceled now"),
    "payments_off": (409, "This shop takes no online payment"),
    "internal_error": (500, "Internal error"),
}


class DomainError(Exception):
    """An expected failure with a stable machine-readable code."""

    def __init__(self, code: str, detail: str = "", *, field: str | None = None, **extra: Any) -> None:
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(detail or CODES[code][1])
        self.code = code
        self.status = CODES[code][0]
        self.detail = detail or CODES[code][1]
        self.field = field
        self.extra = extra
        self.headers: dict[str, str] = {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE + self.code,
            "title": CODES[self.code][1],
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.field:
            body["field"] = self.field
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__("not_found", f"{what} not found")


def problem_response(error: DomainError, instance: str | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(error.problem(instance)),
        status=error.status,
        content_type="application/problem+json",
        headers=error.headers,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure leaves as problem+json; an unexpected one is logged and never leaks a trace."""
    try:
        return await handler(request)
    except DomainError as exc:
        return problem_response(exc, request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status)
        if code is None:
            raise
        err = DomainError(code, exc.reason or CODES[code][1])
        if exc.status == 405:
            err.headers["Allow"] = exc.headers.get("Allow", "")
        return problem_response(err, request.path)
    except (RedisError, OperationalError, DBAPIError, PoolTimeout, ConnectionError, TimeoutError) as exc:
        log.warning("backing service failed path=%s error=%r", request.path, exc)
        err = DomainError("service_unavailable", "A backing service is unavailable; retry shortly")
        err.headers["Retry-After"] = "1"
        return problem_response(err, request.path)
    except Exception:
        log.exception("unhandled error path=%s", request.path)
        return problem_response(
            DomainError("internal_error", "Something went wrong on our side"), request.path
        )
