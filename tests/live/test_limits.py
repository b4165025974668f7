"""The chat limits a clock decides (server/live/room.py's token bucket, server/live/policy.py's
timeouts) and the room's key layout (server/live/keys.py)."""

from __future__ import annotations

import pytest

from server.live import keys
from server.live.policy import Policy
from server.live.room import Bucket

RATE, BURST = 1.0, 3


def test_a_bucket_allows_a_burst_then_one_message_per_token() -> None:
    bucket = Bucket(BURST, now=100.0)
    assert [bucket.take(RATE, BURST, 100.0) for _ in range(BURST)] == [0.0] * BURST
    assert bucket.take(RATE, BURST, 100.0) == pytest.approx(1.0)  # seconds until the next token
    assert bucket.take(RATE, BURST, 100.4) == pytest.approx(0.6)
    assert bucket.take(RATE, BURST, 101.0) == 0.0
    assert bucket.take(RATE, BURST, 101.0) > 0


def test_a_bucket_refills_to_its_burst_and_no_further() -> None:
    bucket = Bucket(BURST, now=0.0)
    for _ in range(BURST):
        bucket.take(RATE, BURST, 0.0)
    allowed = [bucket.take(RATE, BURST, 3600.0) for _ in range(BURST + 1)]
    assert allowed[:BURST] == [0.0] * BURST and allowed[BURST] > 0


def test_a_timeout_counts_down_by_the_clock_and_then_forgets_itself() -> None:
    policy = Policy("br_1", timeouts={"us_troll": 1_000.0})
    assert policy.timed_out_for("us_troll", 990.0) == pytest.approx(10.0)
    assert policy.timed_out_for("us_other", 990.0) == 0.0
    assert policy.timed_out_for("us_troll", 1_000.0) == 0.0
    assert "us_troll" not in policy.timeouts


def test_every_key_of_a_broadcast_shares_its_cluster_hash_tag() -> None:
    made = [
        keys.chat_history("br_9"),
        keys.chat_seeded("br_9"),
        keys.viewers("br_9"),
        keys.slow_mode("br_9", "us_1"),
    ]
    assert all(k.startswith("live:{br_9}:") for k in made)
    assert len(set(made)) == len(made)
    assert keys.slow_mode("br_9", "us_1") != keys.slow_mode("br_9", "us_2")
