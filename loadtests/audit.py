"""After a run: per offer quantity, sold, held, available and oversold, and the orders cross-checked.

    python -m loadtests.audit --run loadtests/results/run.json

Asks the deployment's `GET /api/v1/audit` (the same checks as `liveshop audit`: counters add up,
nothing oversold, Redis agrees with PostgreSQL), reads each offer's public counters, and matches the
orders in the database against the buyers' ledger (every order a client was told is confirmed must
exist, with its quantity). Exit 0 when everything holds, 2 on any violation, 1 when it cannot check.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from loadtests.api import Api, ApiError
from loadtests.ledger import OfferLedger, read_ledgers
from loadtests.runfile import DEFAULT_RUN, RunFile

SETTLE_STEP_S = 2.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loadtests.audit", description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=DEFAULT_RUN, help="run file written by prepare")
    p.add_argument("--base-url", help="override the run file's base URL")
    p.add_argument("--host-email", help="log in again instead of using the run file's token")
    p.add_argument("--host-password")
    p.add_argument("--ledger", type=Path, action="append", help="ledger files (default: beside the run file)")
    p.add_argument("--sample", type=int, default=25, help="ledger orders fetched one by one to compare")
    p.add_argument("--json", type=Path, help="also write the verdict as JSON here")
    p.add_argument(
        "--settle",
        type=float,
        default=20.0,
        help="seconds to keep re-checking while a just-finished run drains (in-flight checkouts)",
    )
    return p


def check_offer(row: dict[str, Any], public: dict[str, Any], ledger: OfferLedger | None) -> list[str]:
    """Violations of one offer beyond what the server's own audit reported."""
    problems = list(row["problems"])
    if row["oversold"] > 0 or public["sold"] > public["quantity"]:
        problems.append(f"OVERSOLD by {max(row['oversold'], public['sold'] - public['quantity'])}")
    if public["status"] == "active":
        total = public["available"] + public["held"] + public["sold"]
        if total != public["quantity"]:
            problems.append(f"public counters add to {total}, not {public['quantity']}")
    if row["ordered_units"] != row["sold_db"]:
        problems.append(f"order units {row['ordered_units']} != sold in the database {row['sold_db']}")
    if ledger is not None:
        if len(ledger.orders) > row["orders"]:
            problems.append(
                f"clients were confirmed {len(ledger.orders)} orders, database has {row['orders']}"
            )
        missing_from_ledger = row["orders"] - len(ledger.orders)
        if missing_from_ledger > ledger.unsure:
            problems.append(
                f"database has {missing_from_ledger} orders no client was told about "
                f"(only {ledger.unsure} unanswered checkouts)"
            )
    return problems


def sample_orders(api: Api, ledgers: dict[str, OfferLedger], n: int) -> list[str]:
    """Fetch some confirmed orders by id: they exist, are confirmed, for the same offer and quantity."""
    pairs = [(oid, offer, qty) for offer, led in ledgers.items() for oid, qty in led.orders.items()]
    problems = []
    for order_id, offer_id, qty in random.sample(pairs, min(n, len(pairs))):
        try:
            order = api.call("GET", f"/api/v1/orders/{order_id}")
        except ApiError as exc:
            problems.append(f"order {order_id} confirmed to a client: {exc}")
            continue
        got = sum(i["quantity"] for i in order["items"])
        if order["status"] not in ("confirmed", "paid") or order["offer_id"] != offer_id or got != qty:
            problems.append(
                f"order {order_id}: {order['status']} {order['offer_id']} x{got}, client saw x{qty}"
            )
    return problems


def audit(args: argparse.Namespace) -> tuple[bool, dict[str, Any]]:
    run = RunFile.load(args.run)
    api = Api(args.base_url or run.base_url, token=run.host_token)
    if args.host_email:
        api.login(args.host_email, args.host_password or "")
    report = api.call("GET", "/api/v1/audit", params={"broadcast_id": run.broadcast_id})
    paths = args.ledger if args.ledger else run.ledger_glob(args.run.parent)
    ledgers = read_ledgers(paths) if paths else {}
    rows = []
    for row in report["offers"]:
        public = api.call("GET", f"/api/v1/offers/{row['offer_id']}")
        ledger = ledgers.get(row["offer_id"], OfferLedger()) if paths else None
        rows.append(
            {
                "offer": row["offer_id"],
                "status": public["status"],
                "quantity": public["quantity"],
                "sold": public["sold"],
                "held": public["held"],
                "available": public["available"],
                "oversold": max(row["oversold"], public["sold"] - public["quantity"], 0),
                "orders_db": row["orders"],
                "units_db": row["ordered_units"],
                "orders_clients": len(ledger.orders) if ledger else None,
                "unanswered": ledger.unsure if ledger else None,
                "problems": check_offer(row, public, ledger),
            }
        )
    problems = list(report["problems"])
    unknown = set(ledgers) - {r["offer"] for r in rows}
    problems += [f"ledger names offer {o} the audit does not know" for o in sorted(unknown)]
    problems += sample_orders(api, ledgers, args.sample)
    if not rows:
        problems.append(f"broadcast {run.broadcast_id} has no offers: nothing was tested")
    ok = not problems and all(not r["problems"] for r in rows)
    return ok, {
        "ok": ok,
        "run_id": run.run_id,
        "offers": rows,
        "problems": problems,
        "notes": report.get("notes", []),
        "ledger_files": [str(p) for p in paths],
    }


def format_verdict(verdict: dict[str, Any]) -> str:
    head = (
        f"{'offer':<26} {'status':<7} {'qty':>6} {'sold':>6} {'held':>6} {'avail':>6} {'oversold':>8} "
        f"{'orders':>7} {'clients':>7}  problems"
    )
    lines = [head]
    for r in verdict["offers"]:
        clients = "-" if r["orders_clients"] is None else str(r["orders_clients"])
        lines.append(
            f"{r['offer']:<26} {r['status']:<7} {r['quantity']:>6} {r['sold']:>6} {r['held']:>6} "
            f"{r['available']:>6} {r['oversold']:>8} {r['orders_db']:>7} {clients:>7}  "
            + "; ".join(r["problems"])
        )
    lines += [f"! {p}" for p in verdict["problems"]]
    lines += [f"note: {n}" for n in verdict["notes"]]
    if not verdict["ledger_files"]:
        lines.append("note: no buyers' ledger found; orders checked against Redis only")
    total = sum(r["oversold"] for r in verdict["offers"])
    lines.append(
        f"audit {verdict['run_id']}: "
        + ("OK, oversold 0" if verdict["ok"] else f"VIOLATIONS FOUND (oversold units: {total})")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    deadline = time.monotonic() + args.settle
    attempts = 0
    while True:
        attempts += 1
        try:
            ok, verdict = audit(args)
        except (ApiError, OSError) as exc:
            print(f"audit: cannot check: {exc}", file=sys.stderr)
            return 1
        # An oversell never heals, so waiting is pointless; other mismatches may be requests in flight.
        oversold = any(r["oversold"] for r in verdict["offers"])
        if ok or oversold or time.monotonic() + SETTLE_STEP_S > deadline:
            break
        time.sleep(SETTLE_STEP_S)
    if attempts > 1:
        verdict["notes"].append(f"checked {attempts} times while the deployment settled")
    print(format_verdict(verdict))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(verdict, indent=2))
    return 0 if ok else 2


if __name__ == "__main__":
    raise SystemExit(main())
