"""Stripe's webhook signature: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.

Verification is the official library's own (`stripe.WebhookSignature`); signing is here for the
sandbox, the tests and any sender that signs the way Stripe does."""

from __future__ import annotations

import hashlib
import hmac
import time

import stripe

TOLERANCE_S = 300


def stripe_signature(secret: str, payload: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def stripe_verified(secret: str, payload: bytes, header: str | None) -> bool:
    """True if `header` signs `payload` with `secret` within the tolerance (5 minutes)."""
    if not secret or not header:
        return False
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, header, secret, tolerance=TOLERANCE_S)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        return False
    return True
