"""Each connector's signature equals one computed here, independently, from the platform's documented
algorithm, for GET, POST with a body, and unicode."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlsplit

import aiohttp
import pytest

from server.config import MirrorSettings
from server.mirror.connectors.meta import MetaCatalog
from server.mirror.connectors.tiktok import TikTokShop
from server.mirror.signing import (
    meta_appsecret_proof,
    meta_hub_signature,
    shopify_webhook_hmac,
    tiktok_webhook_signature,
)

SECRET = "tt-secret-ü-1"


def tiktok_reference(secret: str, path: str, params: dict[str, str], body: str, method: str) -> str:
    """Partner Center: sort params (minus sign/access_token) by key, concat key+value, prefix the path,
    append the body (not for GET), wrap in the secret, HMAC-SHA256 keyed with the secret, lowercase hex."""
    s = path
    for key in sorted(params):
        if key in ("sign", "access_token"):
            continue
        s += key + params[key]
    if method != "GET":
        s += body
    s = secret + s + secret
    return hmac.new(secret.encode("utf-8"), s.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.fixture
async def tiktok() -> TikTokShop:
    cfg = MirrorSettings(
        _env_file=None,
        tiktok_app_key="key1",
        tiktok_app_secret=SECRET,  # type: ignore[call-arg]
        tiktok_access_token="tok",
        tiktok_shop_cipher="ciph",
        tiktok_base_url="https://x.test",
    )
    async with aiohttp.ClientSession() as http:
        yield TikTokShop(cfg, http)


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("GET", "/order/202309/orders", {"ids": "576461413038785752,576461413038785753"}, None),
        (
            "POST",
            "/product/202309/products/1729/inventory/update",
            None,
            {"skus": [{"id": "99", "inventory": [{"warehouse_id": "7", "quantity": 12}]}]},
        ),
        (
            "POST",
            "/product/202312/products/search",
            {"page_size": "100"},
            {"seller_skus": ["TÉE-ÖRG-01", "マグ-04"]},
        ),
        (
            "POST",
            "/order/202309/orders/search",
            {"page_size": "50", "page_token": "", "sort_order": "ASC"},
            {"update_time_ge": 1700000000},
        ),
    ],
)
async def test_tiktok_request_sign_matches_the_documented_algorithm(
    tiktok: TikTokShop, method, path, query, body
) -> None:
    url, params, raw, headers = tiktok.signed_request(method, path, query, body)
    assert urlsplit(url).path == path
    assert headers["x-tts-access-token"] == "tok" and headers["Content-Type"] == "application/json"
    assert "page_token" not in params  # empty values are neither sent nor signed
    sent = raw.decode("utf-8")
    if body is not None:
        assert json.loads(sent) == body
    assert params["sign"] == tiktok_reference(SECRET, path, params, sent, method)
    assert params["shop_cipher"] == "ciph" and params["app_key"] == "key1"


def test_tiktok_sign_changes_with_any_byte() -> None:
    from server.mirror.signing import tiktok_sign

    base = tiktok_sign("s", "/p", {"a": "1"}, b'{"q":1}')
    assert base != tiktok_sign("s", "/p", {"a": "1"}, b'{"q":2}')
    assert base != tiktok_sign("s", "/p", {"a": "2"}, b'{"q":1}')
    assert base != tiktok_sign("t", "/p", {"a": "1"}, b'{"q":1}')
    assert base == tiktok_sign("s", "/p", {"a": "1", "sign": "old", "access_token": "x"}, b'{"q":1}')


@pytest.mark.parametrize(
    "body", [b'{"type":1,"data":{"order_id":"1"}}', '{"name":"Tée ☕ マグ"}'.encode(), b""]
)
def test_webhook_signatures_match_the_documented_algorithms(body: bytes) -> None:
    tt = hmac.new(SECRET.encode(), b"key1" + body, hashlib.sha256).hexdigest()
    assert tiktok_webhook_signature("key1", SECRET, body) == tt
    sh = base64.b64encode(hmac.new(b"shp-secret", body, hashlib.sha256).digest()).decode()
    assert shopify_webhook_hmac("shp-secret", body) == sh
    hub = "sha256=" + hmac.new(b"meta-secret", body, hashlib.sha256).hexdigest()
    assert meta_hub_signature("meta-secret", body) == hub


async def test_meta_calls_carry_token_and_appsecret_proof() -> None:
    cfg = MirrorSettings(
        _env_file=None,
        meta_access_token="EAAB-tök",
        meta_app_secret="app-sécret",  # type: ignore[call-arg]
        meta_catalog_id="1",
    )
    async with aiohttp.ClientSession() as http:
        auth = MetaCatalog(cfg, http).auth()
    expected = hmac.new("app-sécret".encode(), "EAAB-tök".encode(), hashlib.sha256).hexdigest()
    assert auth == {"access_token": "EAAB-tök", "appsecret_proof": expected}
    assert meta_appsecret_proof("app-sécret", "EAAB-tök") == expected
