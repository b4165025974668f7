"""Prepares a load-test run against any base URL: host login, a live broadcast, products, offers, auctions.

    python -m loadtests.prepare --base-url https://shop.example --host-email ops@example.com \
        --host-password '...' --offers 3 --quantity 500

Writes the run file (default loadtests/results/run.json) that the locustfile and the audit read.
`--create-host` first makes the host account with `liveshop create-host`, which talks to the
database directly: use it only where LIVESHOP_DATABASE_URL reaches the deployment's database.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import uuid
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path

from loadtests.api import Api, ApiError
from loadtests.runfile import DEFAULT_RUN, Knobs, RunFile


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loadtests.prepare", description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True, help="the deployment, e.g. http://127.0.0.1:8080")
    p.add_argument("--host-email", required=True)
    p.add_argument("--host-password", required=True)
    p.add_argument("--create-host", action="store_true", help="run `liveshop create-host` first (local DB)")
    p.add_argument("--title", default="Load test flash sale")
    p.add_argument("--offers", type=int, default=3, help="offers launched now (the Host adds more)")
    p.add_argument("--quantity", type=int, default=100, help="units per offer")
    p.add_argument("--per-buyer-limit", type=int, default=1)
    p.add_argument("--duration", type=int, default=600, help="seconds each prepared offer runs")
    p.add_argument("--price", type=int, default=999, help="offer price, minor units")
    p.add_argument("--auctions", type=int, default=0, help="auctions started now (for the Bidder scenario)")
    p.add_argument("--auction-duration", type=int, default=600, help="seconds each auction runs")
    p.add_argument("--spare-products", type=int, default=3, help="products the Host scenario launches from")
    p.add_argument("--spare-stock", type=int, default=10_000)
    p.add_argument("--out", type=Path, default=DEFAULT_RUN, help="run file to write")
    for f in fields(Knobs):
        default = getattr(Knobs(), f.name)
        kind = float if isinstance(default, (float, tuple)) else type(default)
        nargs = 2 if isinstance(default, tuple) else None
        p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, nargs=nargs, default=default)
    return p


def create_host(email: str, password: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "create-host", "--email", email, "--password", password],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 and "already has an account" not in done.stderr:
        raise SystemExit(f"prepare: create-host failed: {done.stderr.strip() or done.stdout.strip()}")


def prepare(args: argparse.Namespace) -> RunFile:
    if args.create_host:
        create_host(args.host_email, args.host_password)
    api = Api(args.base_url)
    api.login(args.host_email, args.host_password)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    broadcast = api.call("POST", "/api/v1/broadcasts", {"title": f"{args.title} {run_id}"})
    api.call("POST", f"/api/v1/broadcasts/{broadcast['id']}/start")
    offers = []
    for i in range(args.offers):
        product = api.create_product(f"Flash item {i + 1}", args.price * 2, args.quantity)
        offer = api.call(
            "POST",
            f"/api/v1/broadcasts/{broadcast['id']}/offers",
            {
                "product_id": product["id"],
                "price": args.price,
                "quantity": args.quantity,
                "per_buyer_limit": args.per_buyer_limit,
                "duration_s": args.duration,
            },
        )
        offers.append({k: offer[k] for k in ("id", "product_id", "quantity", "per_buyer_limit", "ends_at")})
    if offers:
        api.call("PUT", f"/api/v1/broadcasts/{broadcast['id']}/pin", {"product_id": offers[0]["product_id"]})
    spare = []
    for i in range(args.spare_products):
        product = api.create_product(f"Host item {i + 1}", args.price * 2, args.spare_stock)
        spare.append({k: product[k] for k in ("id", "sku", "stock")})
    auctions = []
    for i in range(args.auctions):
        product = api.create_product(f"Auction lot {i + 1}", args.price * 2, 1)
        auction = api.call(
            "POST",
            f"/api/v1/broadcasts/{broadcast['id']}/auctions",
            {
                "product_id": product["id"],
                "starting_bid": args.price,
                "increment": max(args.price // 20, 1),
                "duration_s": args.auction_duration,
                "anti_snipe_s": 15,
            },
        )
        auctions.append({k: auction[k] for k in ("id", "starting_bid", "increment", "ends_at")})
    knobs = Knobs(**{f.name: getattr(args, f.name) for f in fields(Knobs)})
    knobs.buyer_think_s = tuple(knobs.buyer_think_s)  # type: ignore[assignment]
    return RunFile(
        run_id=run_id,
        base_url=args.base_url.rstrip("/"),
        host_email=args.host_email,
        host_token=api.token or "",
        broadcast_id=broadcast["id"],
        offers=offers,
        spare_products=spare,
        auctions=auctions,
        knobs=knobs,
        created_at=datetime.now(UTC).isoformat(),
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run = prepare(args)
    except ApiError as exc:
        print(f"prepare: {exc}", file=sys.stderr)
        return 1
    run.save(args.out)
    print(
        f"run {run.run_id}: broadcast {run.broadcast_id}, {len(run.offers)} offers "
        f"({sum(o['quantity'] for o in run.offers)} units), {len(run.auctions)} auctions, "
        f"{len(run.spare_products)} spare products"
    )
    print(f"run file {args.out}")
    print(f"knobs {asdict(run.knobs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
