"""Where a viewer came from: utm_source wins, else the referring platform, else direct; junk is dropped."""

from __future__ import annotations

import pytest

from server.api.attribution import from_header, from_payload, platform_of, resolve


@pytest.mark.parametrize(
    ("host", "platform"),
    [
        ("www.tiktok.com", "tiktok"),
        ("vm.tiktok.com", "tiktok"),
        ("l.instagram.com", "instagram"),
        ("m.youtube.com", "youtube"),
        ("youtu.be", "youtube"),
        ("some-shop.myshopify.com", "shopify"),
        ("shop.app", "shopify"),
        ("lm.facebook.com", "facebook"),
        ("WWW.FACEBOOK.COM.", "facebook"),
        ("nottiktok.com", "other"),
        ("example.org:8443", "other"),
        ("", None),
        (None, None),
    ],
)
def test_referrer_hosts_map_to_their_platform(host: str | None, platform: str | None) -> None:
    assert platform_of(host) == platform


def test_utm_source_wins_over_the_referrer_and_is_normalised() -> None:
    got = resolve(
        {"utm_source": " TikTok ", "utm_medium": "paid social", "utm_campaign": "x", "ref": "youtu.be"}
    )
    assert (got.source, got.utm_source, got.utm_medium, got.utm_campaign, got.referrer) == (
        "tiktok",
        "tiktok",
        "paid social",
        "x",
        "youtube",
    )
    assert resolve({"utm_source": "IG"}).source == "instagram"
    assert resolve({"ref": "l.instagram.com"}).source == "instagram"
    assert resolve({"ref": "news.example"}).source == "other"
    assert resolve({}).source == "direct"


def test_junk_never_raises_and_never_reaches_a_formula() -> None:
    assert from_header(None).source == "direct"
    assert from_header("x" * 5000).source == "direct"
    assert from_header("utm_source=%3Dcmd%7C%27%20/C%20calc%27!A0").source == "cmd-c-calc-a0"
    assert from_header("utm_source=tiktok&utm_campaign=%3DHYPERLINK(1)").utm_campaign == "HYPERLINK 1"
    assert from_payload("tiktok").source == "direct"
    assert from_payload({"utm_source": 5, "ref": ["x"]}).source == "direct"
    assert resolve({"utm_source": "!!!"}).source == "direct"
