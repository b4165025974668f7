"""One settings object: every documented LIVESHOP_* name still sets its knob, sections included, and
secrets never show in a repr or a log line."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from server.config import ChatSettings, MediaSettings, MirrorSettings, PaymentSettings, Settings, describe
from tests.services import ROOT

SECTIONS: dict[str, type[BaseSettings]] = {
    "chat": ChatSettings,
    "media": MediaSettings,
    "mirror": MirrorSettings,
    "payments": PaymentSettings,
}


def env_names() -> set[str]:
    """Every variable the settings read, section by section."""
    names = {f"LIVESHOP_{f.upper()}" for f in Settings.model_fields if f not in SECTIONS}
    for section in SECTIONS.values():
        prefix = section.model_config.get("env_prefix", "")
        names |= {f"{prefix}{f}".upper() for f in section.model_fields}
    return names


def test_every_variable_the_readme_documents_is_read_by_the_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"LIVESHOP_[A-Z0-9_]*[A-Z0-9]", readme)) - {"LIVESHOP_BENCH_EVENT_LOOP"}
    assert documented, "the README documents no variable"
    assert documented - env_names() == set()


def test_todays_variable_names_set_the_nested_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "LIVESHOP_HOLD_SECONDS": "30",
        "LIVESHOP_CHAT_TICK_MS": "50",
        "LIVESHOP_VIDEO_BITRATE": "2000000",
        "LIVESHOP_ICE_CREDENTIAL": "turn-pass",
        "LIVESHOP_SHOPIFY_TOKEN": "shpat_1",
        "LIVESHOP_SHOPIFY_SHOP": "brand",
        "LIVESHOP_SHOPIFY_LOCATION_ID": "gid://shopify/Location/1",
        "LIVESHOP_MIRROR_POLL_S": "2",
        "LIVESHOP_WEB_DIR": "/srv/web",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = Settings()
    assert s.hold_seconds == 30
    assert s.chat.tick_ms == 50
    assert s.media.video_bitrate == 2_000_000
    assert s.media.ice_credential.get_secret_value() == "turn-pass"
    assert s.mirror.enabled() == ["shopify"] and s.mirror.mirror_poll_s == 2
    assert s.mirror.shopify_token.get_secret_value() == "shpat_1"
    assert s.web_dir == "/srv/web"


def test_secrets_are_masked_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVESHOP_SECRET", "s" * 40)
    monkeypatch.setenv("LIVESHOP_META_APP_SECRET", "meta-app-secret-value")
    monkeypatch.setenv("LIVESHOP_TIKTOK_ACCESS_TOKEN", "tiktok-token-value")
    text = repr(Settings()) + str(Settings().model_dump())
    for secret in ("s" * 40, "meta-app-secret-value", "tiktok-token-value"):
        assert secret not in text


def test_a_bad_value_is_reported_by_the_name_the_operator_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVESHOP_CHAT_TICK_MS", "1")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert describe(caught.value)[0].startswith("LIVESHOP_CHAT_TICK_MS: ")
    monkeypatch.delenv("LIVESHOP_CHAT_TICK_MS")
    monkeypatch.setenv("LIVESHOP_HOLD_SECONDS", "1")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert describe(caught.value)[0].startswith("LIVESHOP_HOLD_SECONDS: ")
