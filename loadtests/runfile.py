"""The run file: what `prepare` made (broadcast, offers, auctions, products) and the knobs of the scenarios.

Written by `python -m loadtests.prepare`, read by the locustfile (the master reads it and ships it to
its workers, so workers need no copy) and by `python -m loadtests.audit`. It holds a host token:
keep it under loadtests/results/ (gitignored) and treat it as a secret.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_RUN = RESULTS / "run.json"


@dataclass
class Knobs:
    """Pacing of the scenarios; the defaults model a real flash sale, a short CI run shrinks them."""

    viewer_chat_every_s: float = 8.0  # mean seconds between one viewer's tasks (1 in 3 chats)
    viewer_sample_every: int = 50  # 1 viewer in N decodes every frame for latency; the rest count them
    viewer_keyword_share: float = 0.1  # of viewers: keyword buyers (comment-to-buy, `buy` in the chat)
    buyer_poll_s: float = 1.0  # how stale a buyer's view of the offers may be
    buyer_think_s: tuple[float, float] = (1.0, 4.0)  # from hold to checkout (typing the address)
    checkout_share: float = 0.7  # of holds: checked out
    release_share: float = 0.2  # of holds: given back at once; the rest are abandoned (they expire)
    duplicate_share: float = 0.05  # checkouts sent twice with the same Idempotency-Key (double click)
    host_pin_every_s: float = 20.0
    host_offer_every_s: float = 60.0
    host_first_offer_s: float = 30.0
    host_offer_quantity: int = 100
    host_offer_duration_s: int = 300


@dataclass
class RunFile:
    run_id: str
    base_url: str
    host_email: str
    host_token: str
    broadcast_id: str
    offers: list[dict[str, Any]]  # {id, product_id, quantity, per_buyer_limit, ends_at}
    spare_products: list[dict[str, Any]]  # {id, sku, stock}: what the Host scenario launches from
    knobs: Knobs = field(default_factory=Knobs)
    created_at: str = ""
    auctions: list[dict[str, Any]] = field(default_factory=list)  # {id, starting_bid, increment, ends_at}

    def dumps(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.dumps())
        path.chmod(0o600)

    @classmethod
    def loads(cls, text: str) -> RunFile:
        data = json.loads(text)
        knobs = data.pop("knobs", {}) or {}
        if "buyer_think_s" in knobs:
            knobs["buyer_think_s"] = tuple(knobs["buyer_think_s"])
        return cls(**data, knobs=Knobs(**knobs))

    @classmethod
    def load(cls, path: Path) -> RunFile:
        return cls.loads(Path(path).read_text())

    def ledger_glob(self, results: Path) -> list[Path]:
        return sorted(results.glob(f"orders-{self.run_id}*.jsonl"))
