"""What the buyers of one Locust process know about the offers, as the room would tell them.

Fed by one poller per process (the broadcast snapshot, every `buyer_poll_s`: it models the offer
cards a viewer's page refreshes) and by the Viewers' `offer` events and the buyers' own answers
(a 409 sold_out flips an offer to sold out at once). Buyers wait on it for an offer to rush.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import Event
from locust.clients import HttpSession

if TYPE_CHECKING:
    from locust.env import Environment

    from loadtests.runfile import RunFile


@dataclass
class OfferCard:
    id: str
    status: str
    quantity: int
    available: int
    per_buyer_limit: int
    ends_at: float  # epoch seconds

    @property
    def open(self) -> bool:
        return self.status == "active" and self.ends_at > time.time()


def _epoch(value: Any) -> float:
    if not value:
        return float("inf")
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


class OfferBoard:
    def __init__(self, environment: Environment, base_url: str, run: RunFile) -> None:
        self.environment = environment
        self.run = run
        self.cards: dict[str, OfferCard] = {}
        self.changed = Event()
        self.http = HttpSession(base_url, environment.events.request, None)
        self._greenlet: gevent.Greenlet | None = None
        for o in run.offers:  # known before the first poll answers
            self.update({**o, "status": "active", "available": o["quantity"]})

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._poll_forever)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def update(self, offer: dict[str, Any]) -> None:
        """An offer as the API or an `offer` event shows it."""
        card = OfferCard(
            offer["id"],
            offer.get("status", "active"),
            int(offer.get("quantity", 0)),
            int(offer.get("available", 0)),
            int(offer.get("per_buyer_limit", 1)),
            _epoch(offer.get("ends_at")),
        )
        self.cards[card.id] = card
        fired, self.changed = self.changed, Event()  # wake every waiter of this generation
        fired.set()

    def mark(self, offer_id: str, *, sold_out: bool = False, ended: bool = False) -> None:
        card = self.cards.get(offer_id)
        if card is None:
            return
        if sold_out:
            card.available = 0
        if ended:
            card.status = "ended"

    def pick(self, done: set[str], stale_tries: float) -> OfferCard | None:
        """An open offer this buyer may still buy: one with units if any, else (sometimes) a sold-out one,
        as a real buyer hammers the button on a page that has not caught up."""
        open_cards = [c for c in self.cards.values() if c.open and c.id not in done]
        with_units = [c for c in open_cards if c.available > 0]
        if with_units:
            return random.choice(with_units)
        if open_cards and random.random() < stale_tries:
            return random.choice(open_cards)
        return None

    def wait(self, timeout: float) -> None:
        self.changed.wait(timeout)

    def _poll_forever(self) -> None:
        path = f"/api/v1/broadcasts/{self.run.broadcast_id}"
        while True:
            try:
                resp = self.http.get(path, name="GET /api/v1/broadcasts/[id] (offer board)", timeout=10)
                if resp.status_code == 200:
                    for offer in resp.json().get("offers", []):
                        self.update(offer)
            except Exception:  # reported by the session; the next poll tries again
                pass
            gevent.sleep(self.run.knobs.buyer_poll_s)
