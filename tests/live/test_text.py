"""Chat text rules (server/live/text.py): what a message becomes, what it is refused for, what blocks."""

from __future__ import annotations

import pytest

from server.live.text import MAX_CHARS, TextProblem, blocked_matcher, clean_words, normalise


def test_a_message_is_nfc_with_controls_and_whitespace_runs_folded() -> None:
    assert normalise("  cafe\u0301 \t\n  ok\u0007  ") == "caf\u00e9 ok"


@pytest.mark.parametrize("mark", ["\u200b", "\u202e", "\u2066", "\ufeff", "\x00", "\x9f"])
def test_invisible_marks_that_smuggle_text_past_filters_become_spaces(mark: str) -> None:
    assert normalise(f"bad{mark}word") == "bad word"


@pytest.mark.parametrize("raw", ["", "   ", "\u200b\u200b", "\x00\x01\t"])
def test_a_message_with_nothing_visible_is_empty(raw: str) -> None:
    with pytest.raises(TextProblem) as caught:
        normalise(raw)
    assert caught.value.code == "message_empty"


def test_the_length_limit_counts_characters_after_normalising() -> None:
    assert normalise("e\u0301" * MAX_CHARS) == "\u00e9" * MAX_CHARS  # 1000 code points in, 500 out
    assert normalise(" " * 50 + "x" * MAX_CHARS + " " * 50) == "x" * MAX_CHARS
    with pytest.raises(TextProblem) as caught:
        normalise("x" * (MAX_CHARS + 1))
    assert caught.value.code == "message_too_long"
    assert str(MAX_CHARS + 1) in caught.value.detail


def test_blocked_words_are_normalised_casefolded_and_deduplicated_in_order() -> None:
    assert clean_words(["Darn", " darn ", "DARN", "heck\u200bit", "", "  ", "Stra\u00dfe"]) == [
        "darn",
        "heck it",
        "strasse",
    ]


def test_no_blocked_words_means_no_matcher() -> None:
    assert blocked_matcher([]) is None


def test_the_matcher_blocks_whole_words_in_any_case_only() -> None:
    matcher = blocked_matcher(clean_words(["ass", "Darn"]))
    assert matcher is not None
    assert matcher.search("oh DARN it")
    assert matcher.search("darn!")
    assert matcher.search("you ass")
    assert not matcher.search("a class act")
    assert not matcher.search("darning socks")


def test_the_longest_phrase_wins_and_regex_characters_are_literal() -> None:
    matcher = blocked_matcher(["buy now", "buy", "a.b", "c++"])
    assert matcher is not None
    found = matcher.search("please buy now!")
    assert found is not None and found.group(0) == "buy now"
    assert matcher.search("a.b here")
    assert not matcher.search("axb here")  # "." is not a wildcard
    assert matcher.search("I like c++")
