"""The pages' catalogs (web/app/i18n/<lang>.json): every error code the API can answer with has a message
in every language, every language has every key English has, and each entry has the forms and the
placeholders its language needs. Quick: reads files only (the browser checks are test_i18n_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from server.api.models import SHOP_LANGUAGES
from server.errors import Code

CATALOGS = Path(__file__).resolve().parents[2] / "web" / "app" / "i18n"
# Intl.PluralRules categories each language's counted entries must give (Korean has no plural).
PLURAL_FORMS = {"en": {"one", "other"}, "pl": {"one", "few", "many", "other"}, "ko": {"other"}}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalog(language: str) -> dict[str, Any]:
    data = json.loads((CATALOGS / f"{language}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def forms(value: Any) -> list[str]:
    return list(value.values()) if isinstance(value, dict) else [value]


def placeholders(value: Any) -> set[str]:
    return {name for text in forms(value) for name in PLACEHOLDER.findall(text)}


def test_the_pages_speak_exactly_the_languages_a_shop_may_choose() -> None:
    assert {p.stem for p in CATALOGS.glob("*.json")} == set(SHOP_LANGUAGES)


@pytest.mark.parametrize("language", SHOP_LANGUAGES)
def test_every_error_code_of_the_api_has_a_message_in_every_language(language: str) -> None:
    messages = catalog(language)
    missing = [code.value for code in Code if not str(messages.get(f"error.{code.value}", "")).strip()]
    assert not missing, f"{language}.json lacks error.<code> for {missing} (see docs/i18n.md)"


@pytest.mark.parametrize("language", [lang for lang in SHOP_LANGUAGES if lang != "en"])
def test_every_language_has_every_key_english_has_with_the_same_placeholders(language: str) -> None:
    english, other = catalog("en"), catalog(language)
    assert sorted(set(english) - set(other)) == [], f"{language}.json lacks these keys"
    assert sorted(set(other) - set(english)) == [], f"{language}.json has keys English lacks"
    differ = {k: (placeholders(english[k]), placeholders(other[k])) for k in english}
    assert {k: v for k, v in differ.items() if v[0] != v[1]} == {}


@pytest.mark.parametrize("language", SHOP_LANGUAGES)
def test_counted_entries_give_the_plural_forms_of_their_language(language: str) -> None:
    messages = catalog(language)
    english = catalog("en")
    for key, value in messages.items():
        assert isinstance(value, str | dict), key
        if isinstance(english.get(key), dict):
            assert isinstance(value, dict) and set(value) == PLURAL_FORMS[language], (key, value)
            assert all("{count}" in text for text in value.values()), (key, value)
        else:
            assert isinstance(value, str) and value.strip(), key


def test_every_key_the_pages_ask_for_by_name_is_in_the_english_catalog() -> None:
    """A t("...") with a literal key that no catalog has would show the key itself on the page."""
    scripts = CATALOGS.parent / "js"
    asked = {
        (path.name, key)
        for path in scripts.rglob("*.js")
        for key in re.findall(r"\bt\(\"([a-z0-9_.]+)\"", path.read_text(encoding="utf-8"))
    }
    english = catalog("en")
    assert sorted((name, key) for name, key in asked if key not in english) == []


# A Polish past tense addressed to "you" has a gender (Wygrałeś / Wygrałaś): the pages never guess it.
GENDERED_YOU = re.compile(r"\w+(?:łeś|łaś|łbyś|łabyś)\b", re.IGNORECASE)


def test_polish_never_guesses_the_readers_gender() -> None:
    gendered = {
        key: found
        for key, value in catalog("pl").items()
        for text in forms(value)
        if (found := GENDERED_YOU.findall(text))
    }
    assert gendered == {}
    assert GENDERED_YOU.findall("Wygrałeś losowanie! Zostałaś wyciszona.") == ["Wygrałeś", "Zostałaś"]
