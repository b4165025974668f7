"""`liveshop worker` killed (SIGKILL) while its requests are in flight, then restarted: every sale is
recorded on Shopify exactly once and every platform ends with liveshop's stock."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.config import Settings
from server.mirror.sandbox.common import STATE, Faults
from server.mirror.sandbox.run import Sandboxes
from tests.api_client import Api
from tests.mirror.conftest import FAST, buy, eventually, viewer_token
from tests.services import ROOT, server_env

SALES = 12


def worker_process(settings: Settings, boxes: Sandboxes, log: Path) -> subprocess.Popen[bytes]:
    knobs = {f"LIVESHOP_{k.upper()}": str(v) for k, v in FAST.items()}
    knobs["LIVESHOP_MIRROR_LEASE_S"] = "2"
    env = server_env(
        settings.database_url, settings.redis_url, **boxes.env(), **knobs, LIVESHOP_DB_POOL_SIZE="4"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "server", "worker"],
        env=env,
        cwd=str(ROOT),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def test_worker_killed_mid_delivery_loses_nothing_and_applies_nothing_twice(
    mirror_settings: Settings,
    mirror_node: tuple[web.Application, TestServer],
    mapi: Api,
    mhost: str,
    calm: Sandboxes,
) -> None:
    app = mirror_node[0]
    product = await mapi.product(mhost, stock=50)
    sku = product["sku"]
    b = await mapi.broadcast(mhost)
    offer = await mapi.offer(mhost, b["id"], product["id"], quantity=30)
    for _ in range(SALES):
        assert await buy(mapi, viewer_token(app), offer["id"]) == 1
    shop = calm.apps["shopify"][STATE]
    # Every platform answers slowly: the worker will be killed with requests in flight, which the
    # platforms still apply (the worst case: done there, not known here).
    for box in calm.apps.values():
        box[STATE].faults = Faults(latency_s=0.6)
    log = Path(tempfile.mkstemp(prefix="liveshop-worker-", suffix=".log")[1])
    first = worker_process(mirror_settings, calm, log)
    try:
        arrived = shop.answered["received-orderCreate"]
        try:
            await eventually(_later(lambda: shop.answered["received-orderCreate"] >= arrived + 2), within=30)
        except AssertionError:
            raise AssertionError(f"{shop.answered} {shop.requests} {log.read_text()[-2000:]}") from None  # noqa: ASYNC240
        await asyncio.sleep(0.3)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)

    async def landed() -> bool:  # requests the dead worker left in flight still land on Shopify
        return any(sku in o.get("skus", []) for o in shop.orders.values())

    # the hard case: recorded on Shopify, never acknowledged to the worker
    await eventually(landed, within=10)
    in_flight_done = sum(1 for o in shop.orders.values() if sku in o.get("skus", []))
    for box in calm.apps.values():
        box[STATE].faults = Faults()
    second = worker_process(mirror_settings, calm, log)
    try:

        async def all_recorded() -> bool:
            return sum(1 for o in shop.orders.values() if sku in o.get("skus", [])) >= SALES

        await eventually(all_recorded, within=40)
        final = 50 - SALES

        async def converged() -> bool:
            values = [calm.apps[n][STATE].stock.get(sku) for n in ("tiktok", "shopify", "meta")]
            return values == [final] * 3 and calm.apps["google"][STATE].stock.get(sku) == "IN_STOCK"

        await eventually(converged, within=30)
        await asyncio.sleep(2.5)  # past a lease: a late redelivery would show up now
        mine = [o for o in shop.orders.values() if sku in o.get("skus", [])]
        assert len(mine) == SALES, log.read_text()[-3000:]  # noqa: ASYNC240
        assert len({o["sourceIdentifier"] for o in mine}) == SALES
        print(
            f"\nworker killed: {in_flight_done} of {SALES} sales had reached Shopify; "
            f"after restart {len(mine)}"
        )
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait(5)


def _later(check):  # type: ignore[no-untyped-def]
    async def run() -> bool:
        return bool(check())

    return run
