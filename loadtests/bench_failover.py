"""`liveshop bench failover`: a Redis Sentinel failover that loses acknowledged writes, mid-rush.

Everything is real and private to the run: a primary, a replica and three Sentinels on loopback ports
(down-after-milliseconds 1000), two liveshop nodes as `python -m server serve` child processes, a
private PostgreSQL instance, and 1,500 buyers (aiohttp clients) reserving and checking out 300 units.
After 100 confirmed orders the replica is paused and cut off, 30 more orders go through, the primary
is SIGKILLed and Sentinel promotes the replica, which never saw those writes.

Figures: seconds without service per node (the primary's death to the first claim served) next to
the floor measured in the same run (when the Sentinels named the new primary: no node can serve
before that), holds lost (told 410 at checkout) and kept, sold units kept (every order confirmed to a
buyer is in PostgreSQL and counted as sold again), oversold units. Exit status 1 on any oversell.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from tests.api_client import Api  # noqa: E402
from tests.survival import failover_rush, orders_of, settled_audit, start_nodes  # noqa: E402
from tests.topologies import PrivatePostgres, SentinelSet  # noqa: E402

KEPT = re.compile(r"holds_kept=(\d+) holds_dropped=(\d+)")


async def bench(cfg: argparse.Namespace) -> int:
    pg = PrivatePostgres()  # the nodes' pools never crowd a shared PostgreSQL
    pg.start()
    topology = SentinelSet(down_after_ms=cfg.down_after_ms, failover_timeout_ms=3000)
    nodes = []
    try:
        topology.wait_ready()
        nodes = start_nodes(pg.url, topology.url)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200), timeout=aiohttp.ClientTimeout(total=20)
        ) as http:
            apis = [Api(http, n.url) for n in nodes]
            run = await failover_rush(
                apis,
                pg.url,
                topology,
                quantity=cfg.units,
                buyers=cfg.buyers,
                cut_at=cfg.units // 3,
                writes_while_cut=cfg.units // 10,
            )
        orders = await orders_of(pg.url, run.offer_id)
        report = await settled_audit(pg.url, topology.url, [run.offer_id])
        offer = report.offers[0]
        kept = dropped = 0
        for node in nodes:
            for k, d in KEPT.findall(node.output()):
                kept, dropped = kept + int(k), dropped + int(d)
        log = run.log
        confirmed_kept = sum(1 for o in log.confirmed if o in orders)
        outage = run.outage_s()
        print(
            f"\nRedis Sentinel failover mid-rush: {cfg.buyers} buyers, {cfg.units} units, 2 nodes; "
            f"down-after-milliseconds {cfg.down_after_ms}; the key written last on the old primary "
            f"{'is missing' if run.last_write_lost else 'SURVIVED (no writes lost?)'} on the new one"
        )
        print(
            f"  orders confirmed before the replica was cut: {run.confirmed_before_cut}, at the kill: "
            f"{run.confirmed_at_kill}, in all: {len(log.confirmed)}"
        )
        print(
            "  seconds without service (SIGKILL -> first claim served): "
            + ", ".join(f"node {chr(65 + i)} {s:.2f}" for i, s in enumerate(outage))
            + f"; floor (Sentinel names the new primary) {run.promoted - run.killed:.2f}; "
            f"the rebuild adds {max(outage) - (run.promoted - run.killed):.2f}"
        )
        print(
            f"  holds lost: {log.holds_lost} told 410 reservation_expired at checkout (their buyers claimed "
            f"again); counters rewritten from PostgreSQL kept {kept} holds and dropped {dropped}"
        )
        print(
            f"  sold units kept: {confirmed_kept} of {len(log.confirmed)} confirmed orders in PostgreSQL; "
            f"units sold {sum(orders.values())} of {cfg.units}; Redis sold {offer.sold_redis} == "
            f"PostgreSQL {offer.sold_db}; oversold {offer.oversold}; "
            f"audit {'OK' if report.ok else report.as_dict()}"
        )
        return 0 if report.ok and confirmed_kept == len(log.confirmed) else 1
    finally:
        for node in nodes:
            node.stop()
        topology.stop()
        pg.destroy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liveshop bench failover", description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--buyers", type=int, default=1500)
    parser.add_argument("--down-after-ms", type=int, default=1000, help="Sentinel down-after-milliseconds")
    parser.add_argument("--quick", action="store_true", help="the default size already runs in ~20 s")
    cfg = parser.parse_args(list(argv or []))
    return asyncio.run(bench(cfg))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
