"""Each platform's signature, exactly as documented (see docs/platform-apis.md). Pure functions,
shared by the connectors, the webhook checks and the sandboxes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

# Query parameters TikTok Shop leaves out of the signed string.
TIKTOK_UNSIGNED = frozenset({"sign", "access_token", "x-tts-access-token"})


def _hmac256(key: str | bytes, msg: bytes) -> bytes:
    return hmac.new(key.encode() if isinstance(key, str) else key, msg, hashlib.sha256).digest()


def tiktok_sign(
    app_secret: str,
    path: str,
    query: Mapping[str, str],
    body: bytes = b"",
    *,
    method: str = "POST",
    multipart: bool = False,
) -> str:
    """TikTok Shop request sign: hex HMAC-SHA256(secret, secret + path + sorted(k+v) + body + secret).

    Parameters named sign/access_token and empty values are left out; the body is the exact bytes sent,
    left out for GET and multipart requests."""
    pairs = sorted((k, v) for k, v in query.items() if k not in TIKTOK_UNSIGNED and v != "")
    text = path.encode() + b"".join(k.encode() + v.encode() for k, v in pairs)
    if method.upper() != "GET" and not multipart:
        text += body
    wrapped = app_secret.encode() + text + app_secret.encode()
    return _hmac256(app_secret, wrapped).hex()


def tiktok_webhook_signature(app_key: str, app_secret: str, raw_body: bytes) -> str:
    """TikTok Shop push: `Authorization` = hex HMAC-SHA256(app_secret, app_key + raw body)."""
    return _hmac256(app_secret, app_key.encode() + raw_body).hex()


def shopify_webhook_hmac(secret: str, raw_body: bytes) -> str:
    """Shopify webhooks: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256(app secret, raw body)."""
    return base64.b64encode(_hmac256(secret, raw_body)).decode()


def meta_appsecret_proof(app_secret: str, access_token: str) -> str:
    """Meta Graph `appsecret_proof` = hex HMAC-SHA256(app secret, access token)."""
    return _hmac256(app_secret, access_token.encode()).hex()


def meta_hub_signature(app_secret: str, raw_body: bytes) -> str:
    """Meta webhooks: `X-Hub-Signature-256` = "sha256=" + hex HMAC-SHA256(app secret, raw body)."""
    return "sha256=" + _hmac256(app_secret, raw_body).hex()


def timestamped_signature(secret: str, raw_body: bytes, timestamp: int) -> str:
    """Stripe's scheme, used for liveshop's own outbound webhooks: `t=<unix>,v1=<hex HMAC-SHA256 of
    "<t>.<raw body>">`, so any Stripe-style verifier (the `stripe` library's included) checks it."""
    signed = str(timestamp).encode() + b"." + raw_body
    return f"t={timestamp},v1={_hmac256(secret, signed).hex()}"


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(a.encode(), b.encode())
