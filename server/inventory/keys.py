"""The one home of the inventory's Redis key layout.

Every key of an offer carries the hash tag `{<offer id>}`, so each script touches one cluster slot and
the layout works unchanged on Redis Cluster.
"""

from __future__ import annotations

import re

ACTIVE_OFFERS = "inventory:active-offers"  # set of offer ids the sweeper walks
_ID = re.compile(r"^[A-Za-z0-9_-]{1,60}$")


def valid_offer_id(offer_id: str) -> bool:
    return bool(_ID.match(offer_id))


def offer_keys(offer_id: str) -> list[str]:
    """[state, holds, expiry, buyers, idem] for one offer.

    state  hash  quantity, available, held, sold, limit, status (active|ended), ends_at (ms)
    holds  hash  hold id -> "buyer|qty|expires_ms|h" (held), "...|c" (being checked out) or
                 "...|p" (its order awaits payment; expires_ms is the payment deadline)
    expiry zset  hold id -> expires_ms (or the checkout deadline while checking out)
    buyers hash  buyer id -> units held + sold, for the per-buyer limit
    idem   hash  "buyer|Idempotency-Key" -> "body hash|hold id|qty|expires_ms"
    """
    if not valid_offer_id(offer_id):
        raise ValueError(f"invalid offer id {offer_id!r}")
    tag = "{" + offer_id + "}"
    return [
        f"offer:{tag}:state",
        f"offer:{tag}:holds",
        f"offer:{tag}:expiry",
        f"offer:{tag}:buyers",
        f"offer:{tag}:idem",
    ]


def order_marks_key(offer_id: str) -> str:
    """hash order id -> "sold" | "late" | "back": what pay.lua / unsell.lua did for an order, so a
    repeat (a redelivered webhook, a retried refund) changes nothing."""
    return "offer:{" + offer_id + "}:orders"


def share_key(offer_id: str, who: str) -> str:
    """Units one network (client address) has claimed of an offer, for the per-address cap."""
    if not valid_offer_id(offer_id):
        raise ValueError(f"invalid offer id {offer_id!r}")
    return f"offer:{{{offer_id}}}:share:{who}"


def hold_offer_id(hold_id: str) -> str | None:
    """Hold ids embed their offer id (`<offer id>.<random>`), so no lookup is needed to find its keys."""
    offer_id, sep, rest = hold_id.partition(".")
    if not sep or not rest or not valid_offer_id(offer_id) or not rest.isalnum() or len(rest) > 40:
        return None
    return offer_id


def auction_keys(auction_id: str) -> list[str]:
    """[state, bids, idem] for one auction, hash-tagged like an offer's keys.

    state hash  status (active|ended), starting, increment, ends_at (ms), anti_snipe_ms, high (0: none),
                high_bidder, high_bid_id, count
    bids  list  newest first: "bid id|amount|at_ms|bidder id|nickname"
    idem  hash  "bidder|Idempotency-Key" -> "body hash|bid id|amount|at_ms|ends_at_ms"
    """
    if not valid_offer_id(auction_id):
        raise ValueError(f"invalid auction id {auction_id!r}")
    tag = "{" + auction_id + "}"
    return [f"auction:{tag}:state", f"auction:{tag}:bids", f"auction:{tag}:idem"]


def giveaway_keys(giveaway_id: str) -> list[str]:
    """[state, entrants] for one giveaway, hash-tagged like an offer's keys.

    state    hash  status (open|closed), seq (entries so far), epoch (the Redis process that wrote it)
    entrants hash  user id -> entry number (1, 2, ...: the order of arrival)
    """
    if not valid_offer_id(giveaway_id):
        raise ValueError(f"invalid giveaway id {giveaway_id!r}")
    tag = "{" + giveaway_id + "}"
    return [f"giveaway:{tag}:state", f"giveaway:{tag}:entrants"]


def coupon_keys(coupon_id: str) -> list[str]:
    """[state, buyers, uses] for one live coupon, hash-tagged per coupon (one cluster slot).

    state  hash  max_uses, per_buyer, expires_at (ms), status (active|ended), used, epoch
    buyers hash  buyer id -> redemptions held by that buyer
    uses   hash  use id (the hold being checked out) -> buyer id: one redemption each, given back by id
    """
    if not valid_offer_id(coupon_id):
        raise ValueError(f"invalid coupon id {coupon_id!r}")
    tag = "{" + coupon_id + "}"
    return [f"coupon:{tag}:state", f"coupon:{tag}:buyers", f"coupon:{tag}:uses"]
