"""Domain errors with stable codes: every floor and feature raises these; only `api/` turns them into HTTP.

The codes are part of the v1 contract (clients switch on them): never rename one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal


class Code(StrEnum):
    """Stable machine-readable error codes (the `code` of a problem+json body or a socket.io ack)."""

    BAD_REQUEST = "bad_request"
    INVALID_JSON = "invalid_json"
    VALIDATION_ERROR = "validation_error"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNAUTHORIZED = "unauthorized"
    INVALID_TOKEN = "invalid_token"
    INVALID_CREDENTIALS = "invalid_credentials"
    BAD_SIGNATURE = "bad_signature"
    FORBIDDEN = "forbidden"
    BANNED = "banned"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    SKU_EXISTS = "sku_exists"
    EMAIL_EXISTS = "email_exists"
    INSUFFICIENT_STOCK = "insufficient_stock"
    SOLD_OUT = "sold_out"
    LIMIT_EXCEEDED = "limit_exceeded"
    CHECKOUT_IN_PROGRESS = "checkout_in_progress"
    BROADCAST_ENDED = "broadcast_ended"
    OFFER_ACTIVE = "offer_active"
    OFFER_ENDED = "offer_ended"
    RESERVATION_EXPIRED = "reservation_expired"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    RATE_LIMITED = "rate_limited"
    # auctions
    BID_TOO_LOW = "bid_too_low"
    ALREADY_HIGH_BIDDER = "already_high_bidder"
    AUCTION_ENDED = "auction_ended"
    # giveaways
    GIVEAWAY_CLOSED = "giveaway_closed"
    GIVEAWAY_OPEN = "giveaway_open"
    GIVEAWAY_DRAWN = "giveaway_drawn"
    NO_ENTRANTS = "no_entrants"
    BUYERS_ONLY = "buyers_only"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    VERIFICATION_REQUIRED = "verification_required"
    PROOF_REQUIRED = "proof_required"
    # live room (socket.io acks carry the code; the REST twins use the same codes)
    NOT_JOINED = "not_joined"
    MESSAGE_EMPTY = "message_empty"
    MESSAGE_TOO_LONG = "message_too_long"
    BLOCKED_WORD = "blocked_word"
    SLOW_MODE = "slow_mode"
    TIMED_OUT = "timed_out"
    # video
    NO_REPLAY = "no_replay"
    SERVICE_UNAVAILABLE = "service_unavailable"
    INTERNAL_ERROR = "internal_error"
    # payments (v1.1)
    PAYMENT_UNAVAILABLE = "payment_unavailable"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_MISMATCH = "payment_mismatch"
    NOT_PAYABLE = "not_payable"
    NOT_REFUNDABLE = "not_refundable"
    PAYMENTS_OFF = "payments_off"
    # the sale report (its CSV or JSON)
    NOT_ACCEPTABLE = "not_acceptable"
    # live coupons and pins (v1.1)
    COUPON_UNKNOWN = "coupon_unknown"
    COUPON_EXPIRED = "coupon_expired"
    COUPON_USED_UP = "coupon_used_up"
    COUPON_LIMIT_EXCEEDED = "coupon_limit_exceeded"
    COUPON_NOT_APPLICABLE = "coupon_not_applicable"
    COUPON_EXISTS = "coupon_exists"


# The same codes as literal strings, so the type checker catches a misspelt DomainError("...").
CodeName = Literal[
    "bad_request",
    "invalid_json",
    "validation_error",
    "unsupported_media_type",
    "payload_too_large",
    "unauthorized",
    "invalid_token",
    "invalid_credentials",
    "bad_signature",
    "forbidden",
    "banned",
    "not_found",
    "method_not_allowed",
    "conflict",
    "sku_exists",
    "email_exists",
    "insufficient_stock",
    "sold_out",
    "limit_exceeded",
    "checkout_in_progress",
    "broadcast_ended",
    "offer_active",
    "offer_ended",
    "reservation_expired",
    "idempotency_key_reused",
    "rate_limited",
    "bid_too_low",
    "already_high_bidder",
    "auction_ended",
    "giveaway_closed",
    "giveaway_open",
    "giveaway_drawn",
    "no_entrants",
    "buyers_only",
    "too_many_attempts",
    "verification_required",
    "proof_required",
    "not_joined",
    "message_empty",
    "message_too_long",
    "blocked_word",
    "slow_mode",
    "timed_out",
    "no_replay",
    "service_unavailable",
    "payment_unavailable",
    "payment_declined",
    "payment_mismatch",
    "not_payable",
    "not_refundable",
    "payments_off",
    "internal_error",
    "payment_unavailable",
    "payment_declined",
    "payment_mismatch",
    "not_payable",
    "not_refundable",
    "payments_off",
    "not_acceptable",
    "coupon_unknown",
    "coupon_expired",
    "coupon_used_up",
    "coupon_limit_exceeded",
    "coupon_not_applicable",
    "coupon_exists",
]

# The short human title of each code (the problem's `title`, and the default detail).
TITLES: dict[Code, str] = {
    Code.BAD_REQUEST: "Malformed request",
    Code.INVALID_JSON: "Body is not valid JSON",
    Code.VALIDATION_ERROR: "Invalid input",
    Code.UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
    Code.PAYLOAD_TOO_LARGE: "Body too large",
    Code.UNAUTHORIZED: "Authentication required",
    Code.INVALID_TOKEN: "Invalid or expired token",
    Code.INVALID_CREDENTIALS: "Wrong email or password",
    Code.BAD_SIGNATURE: "Signature does not match",
    Code.FORBIDDEN: "Not allowed",
    Code.BANNED: "Banned from this broadcast",
    Code.NOT_FOUND: "Not found",
    Code.METHOD_NOT_ALLOWED: "Method not allowed",
    Code.CONFLICT: "Conflict",
    Code.SKU_EXISTS: "A product with this SKU exists",
    Code.EMAIL_EXISTS: "An account with this email exists",
    Code.INSUFFICIENT_STOCK: "Not enough stock for this offer",
    Code.SOLD_OUT: "Sold out",
    Code.LIMIT_EXCEEDED: "Per-buyer limit reached",
    Code.CHECKOUT_IN_PROGRESS: "This reservation is being checked out",
    Code.BROADCAST_ENDED: "The broadcast has ended",
    Code.OFFER_ACTIVE: "An offer for this product is already running",
    Code.OFFER_ENDED: "The offer has ended",
    Code.RESERVATION_EXPIRED: "The reservation has expired",
    Code.IDEMPOTENCY_KEY_REUSED: "Idempotency-Key reused with another request",
    Code.RATE_LIMITED: "Too many requests",
    Code.BID_TOO_LOW: "The bid is below the minimum",
    Code.ALREADY_HIGH_BIDDER: "You already hold the high bid",
    Code.AUCTION_ENDED: "The auction has ended",
    Code.GIVEAWAY_CLOSED: "This giveaway takes no more entries",
    Code.GIVEAWAY_OPEN: "Close the giveaway before the draw",
    Code.GIVEAWAY_DRAWN: "This giveaway has been drawn",
    Code.NO_ENTRANTS: "Nobody entered this giveaway",
    Code.BUYERS_ONLY: "This giveaway is for this broadcast's buyers",
    Code.TOO_MANY_ATTEMPTS: "Too many attempts; wait and try again",
    Code.VERIFICATION_REQUIRED: "This offer is for verified buyers only",
    Code.PROOF_REQUIRED: "Solve the proof-of-work challenge first",
    Code.NOT_JOINED: "Join a broadcast first",
    Code.MESSAGE_EMPTY: "The message is empty",
    Code.MESSAGE_TOO_LONG: "The message is too long",
    Code.BLOCKED_WORD: "The message contains a blocked word",
    Code.SLOW_MODE: "Slow mode is on",
    Code.TIMED_OUT: "Timed out in this broadcast",
    Code.NO_REPLAY: "No replay of this broadcast",
    Code.SERVICE_UNAVAILABLE: "Temporarily unavailable",
    Code.INTERNAL_ERROR: "Internal error",
    Code.PAYMENT_UNAVAILABLE: "The payment provider is unavailable; your reservation still holds",
    Code.PAYMENT_DECLINED: "The payment was declined",
    Code.PAYMENT_MISMATCH: "The payment does not match the order",
    Code.NOT_PAYABLE: "This order takes no payment now",
    Code.NOT_REFUNDABLE: "This order cannot be refunded or canceled now",
    Code.PAYMENTS_OFF: "This shop takes no online payment",
    Code.NOT_ACCEPTABLE: "No representation the Accept header allows",
    Code.COUPON_UNKNOWN: "No such coupon",
    Code.COUPON_EXPIRED: "The coupon has expired",
    Code.COUPON_USED_UP: "The coupon has been used up",
    Code.COUPON_LIMIT_EXCEEDED: "You have used this coupon as often as it allows",
    Code.COUPON_NOT_APPLICABLE: "The coupon is not for this broadcast or currency",
    Code.COUPON_EXISTS: "A coupon with this code is running in this broadcast",
}


class DomainError(Exception):
    """An expected failure with a stable code; the caller's answer (HTTP status, ack) is chosen by api/."""

    def __init__(
        self, code: Code | CodeName, detail: str = "", *, field: str | None = None, **extra: Any
    ) -> None:
        try:
            code = Code(code)
        except ValueError:
            raise ValueError(f"unknown error code {code!r}") from None
        self.code: Code = code
        self.detail = detail or TITLES[code]
        super().__init__(self.detail)
        self.field = field
        self.extra = extra
        # Transport hints a domain step may know best (Retry-After, WWW-Authenticate).
        self.headers: dict[str, str] = {}

    @property
    def title(self) -> str:
        return TITLES[self.code]


class _Coded(DomainError):
    """A DomainError whose code is fixed by its class."""

    CODE: ClassVar[Code]

    def __init__(self, detail: str = "", *, field: str | None = None, **extra: Any) -> None:
        super().__init__(self.CODE, detail, field=field, **extra)


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__(Code.NOT_FOUND, f"{what} not found")


class Forbidden(_Coded):
    CODE = Code.FORBIDDEN


class Conflict(_Coded):
    CODE = Code.CONFLICT


class SoldOut(_Coded):
    CODE = Code.SOLD_OUT


class LimitExceeded(_Coded):
    CODE = Code.LIMIT_EXCEEDED


class OfferEnded(_Coded):
    CODE = Code.OFFER_ENDED


class BroadcastEnded(_Coded):
    CODE = Code.BROADCAST_ENDED


class ReservationExpired(_Coded):
    CODE = Code.RESERVATION_EXPIRED


class IdempotencyKeyReused(_Coded):
    CODE = Code.IDEMPOTENCY_KEY_REUSED


class ServiceUnavailable(_Coded):
    CODE = Code.SERVICE_UNAVAILABLE
