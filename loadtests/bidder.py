"""`Bidder`: an auction night. Bids on the run file's auctions: the minimum it last heard of, now and
then a jump; refusals (`bid_too_low`, `already_high_bidder`) teach it the new minimum.

    python -m loadtests.prepare ... --auctions 2
    locust -f loadtests/locustfile.py,loadtests/bidder.py --headless -u 500 -r 100 -t 2m --host URL Bidder
"""

from __future__ import annotations

import random
import sys
import uuid
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:  # Locust puts this file's folder on the path, not the project's
    sys.path.insert(0, ROOT)

import gevent  # noqa: E402
from locust import FastHttpUser, between, tag, task  # noqa: E402

from loadtests import context  # noqa: E402
from loadtests.outcomes import expected  # noqa: E402

JUMP_SHARE = 0.2  # bids that jump by a few increments instead of the minimum


class Bidder(FastHttpUser):
    """One viewer bidding in the room's auctions; `bid` is one bid on one of them."""

    weight = 3
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.run = context.run_file(self.environment)
        self.minimum = {a["id"]: int(a["starting_bid"]) for a in self.run.auctions}
        self.ended: set[str] = set()
        self.token: str | None = None
        with self.client.post(
            "/api/v1/auth/guest",
            json={"nickname": f"bidder-{random.randrange(10**6)}"},
            name="guest session",
            catch_response=True,
        ) as resp:
            if resp.status_code == 201:
                self.token = resp.json()["token"]
            else:
                resp.failure(f"{resp.status_code} {(resp.text or '')[:120]}")

    @tag("bidder")
    @task
    def bid(self) -> None:
        open_ones = [a for a in self.run.auctions if a["id"] not in self.ended]
        if self.token is None or not open_ones:
            gevent.sleep(1.0)
            return
        auction = random.choice(open_ones)
        aid = auction["id"]
        amount = self.minimum[aid]
        if random.random() < JUMP_SHARE:
            amount += random.randint(1, 5) * int(auction["increment"])
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": f"lt-bid-{uuid.uuid4().hex}"}
        with self.client.post(
            f"/api/v1/auctions/{aid}/bids",
            json={"amount": amount},
            headers=headers,
            name="bid",
            catch_response=True,
        ) as resp:
            if resp.status_code == 201:
                self.minimum[aid] = max(self.minimum[aid], amount + int(auction["increment"]))
                return
            code = expected(resp, "bid", 409, {"bid_too_low", "already_high_bidder"}) or expected(
                resp, "bid", 410, {"auction_ended"}
            )
            if code in ("bid_too_low", "already_high_bidder"):
                self.minimum[aid] = max(self.minimum[aid], int(resp.json()["min_bid"]))
            elif code == "auction_ended":
                self.ended.add(aid)
            else:
                resp.failure(f"{resp.status_code} {(resp.text or '')[:160]}")
