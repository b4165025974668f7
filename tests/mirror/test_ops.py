"""Operations: the outbox fan-out never skips a committed row, holds reach the platforms through
reconciliation, dead letters show in status and /metrics and come back with replay, `liveshop mirror
status` works, and SQLite runs a single worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from server.api.context import DB, INVENTORY
from server.config import Settings
from server.db.outbox import OutboxEvent
from server.events import STOCK_CHANGED, EventBus
from server.mirror.models import MirrorJob
from server.mirror.outbox import fan_out
from server.mirror.sandbox.common import STATE
from server.mirror.sandbox.run import Sandboxes
from server.mirror.state import MIRROR
from server.mirror.worker import Worker
from tests.api_client import Api
from tests.mirror.conftest import config_for, eventually, sku
from tests.services import ROOT, TEST_SECRET, server_env


async def _generation(app: web.Application, name: str) -> int:
    async with app[DB]() as session:
        job = (
            await session.execute(
                select(MirrorJob).where(
                    MirrorJob.channel == "tiktok", MirrorJob.kind == "stock", MirrorJob.key == name
                )
            )
        ).scalar_one_or_none()
        return job.generation if job else 0


async def test_an_outbox_row_committed_late_with_a_lower_id_is_still_fanned_out(
    mirror_node: tuple[web.Application, TestServer],
) -> None:
    app = mirror_node[0]
    early, late = sku(), sku()
    async with app[DB]() as slow:
        await slow.begin()
        EventBus.record(slow, STOCK_CHANGED, early, {"product_id": None, "sku": early})
        await slow.flush()  # takes the lower id, commits later
        async with app[DB]() as fast, fast.begin():
            EventBus.record(fast, STOCK_CHANGED, late, {"product_id": None, "sku": late})
        async with app[DB]() as s, s.begin():
            while await fan_out(s, ["tiktok"], []):
                pass
        assert await _generation(app, late) == 1 and await _generation(app, early) == 0
        await slow.commit()
    async with app[DB]() as s, s.begin():
        await fan_out(s, ["tiktok"], [])
    async with app[DB]() as s, s.begin():
        await fan_out(s, ["tiktok"], [])  # nothing twice
    assert await _generation(app, early) == 1 and await _generation(app, late) == 1


async def test_holds_without_an_outbox_row_reach_the_platforms_by_reconciliation(
    mirror_node: tuple[web.Application, TestServer], mapi: Api, mhost: str, worker: Worker, calm: Sandboxes
) -> None:
    from tests.mirror.conftest import viewer_token

    app = mirror_node[0]
    product = await mapi.product(mhost, stock=10)
    b = await mapi.broadcast(mhost)
    offer = await mapi.offer(mhost, b["id"], product["id"], quantity=10, per_buyer_limit=5)
    tiktok = calm.apps["tiktok"][STATE]
    await eventually(lambda: _const(tiktok.stock.get(product["sku"]) == 10), within=15)
    hold = await mapi.reserve(viewer_token(app), offer["id"], 3)
    assert hold.status == 201  # a hold changes what can be sold, with no outbox row
    await eventually(lambda: _const(tiktok.stock.get(product["sku"]) == 7), within=15)


async def test_dead_letters_show_in_status_and_metrics_and_replay_delivers_them(
    mirror_node: tuple[web.Application, TestServer],
    mapi: Api,
    mhost: str,
    calm: Sandboxes,
    http: aiohttp.ClientSession,
) -> None:
    app = mirror_node[0]
    broken = Worker(app[DB], app[INVENTORY], config_for(calm, google_access_token="expired-token"))
    await broken.start()
    try:
        product = await mapi.product(mhost, stock=3)

        async def dead() -> bool:
            r = await mapi.call("GET", "/api/v1/mirror/status", token=mhost)
            return r.body["platforms"]["google"]["dead_letters"] > 0

        await eventually(dead, within=20)
    finally:
        await broken.stop()
    status = (await mapi.call("GET", "/api/v1/mirror/status", token=mhost)).body
    assert "UNAUTHENTICATED" in status["platforms"]["google"]["last_error"]["error"]
    assert status["platforms"]["tiktok"]["dead_letters"] == 0
    metrics = (await mapi.call("GET", "/metrics")).body
    assert 'liveshop_mirror_dead_letters{platform="google"}' in metrics
    assert (await mapi.call("GET", "/api/v1/mirror/status")).status == 401
    replayed = await mapi.call("POST", "/api/v1/mirror/replay", token=mhost, json={"platform": "google"})
    assert replayed.status == 200 and replayed.body["replayed"] >= 1
    healthy = Worker(app[DB], app[INVENTORY], app[MIRROR].config)
    await healthy.start()
    try:
        await eventually(
            lambda: _const(calm.apps["google"][STATE].stock.get(product["sku"]) == "IN_STOCK"), within=20
        )
    finally:
        await healthy.stop()
    r = await mapi.call("GET", "/api/v1/mirror/status", token=mhost)
    assert r.body["platforms"]["google"]["dead_letters"] == 0


def test_mirror_status_command_reports_every_platform(settings: Settings, sandboxes: Sandboxes) -> None:
    env = server_env(settings.database_url, settings.redis_url, **sandboxes.env())
    out = subprocess.run(
        [sys.executable, "-m", "server", "mirror", "status"],
        env=env,
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode in (0, 2), out.stderr
    for name in ("tiktok", "shopify", "meta", "google"):
        assert name in out.stdout
    assert "outbox cursor" in out.stdout


async def test_sqlite_runs_a_single_worker(tmp_path: Path, calm: Sandboxes) -> None:
    from server.api.models import Shop
    from server.db.engine import make_engine, make_sessionmaker
    from server.db.migrate import migrate
    from server.inventory.engine import Inventory
    from server.inventory.models import Product
    from server.redis_client import make_redis

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/mirror.db", redis_url="memory://", secret=TEST_SECRET
    )
    engine = make_engine(settings)
    redis = make_redis(settings)
    await migrate(engine)
    db = make_sessionmaker(engine)
    name = sku()
    async with db() as session, session.begin():
        session.add(Shop(id="sh_sqlite1", name="SQLite shop"))
        await session.flush()
        session.add(
            Product(
                id="pr_sqlite1", shop_id="sh_sqlite1", sku=name, title="t", price=100, currency="USD", stock=6
            )
        )
        EventBus.record(session, STOCK_CHANGED, name, {"product_id": "pr_sqlite1", "sku": name})
    w = Worker(db, Inventory(redis, hold_seconds=60), config_for(calm))
    await w.start()
    try:
        await eventually(
            lambda: _const(
                all(calm.apps[n][STATE].stock.get(name) == 6 for n in ("tiktok", "shopify", "meta"))
            ),
            within=20,
        )
        async with db() as session:
            assert (await session.execute(select(OutboxEvent))).scalars().first() is not None
    finally:
        await w.stop()
        await redis.aclose()
        await engine.dispose()


async def _const(value: bool) -> bool:
    return value
