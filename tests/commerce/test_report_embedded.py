"""The sale report on the embedded default (SQLite, the in-process Redis running the same Lua): the
audience script, the claim counters, attribution on the order and the fold at the end all work there."""

from __future__ import annotations

import asyncio
import os
import tempfile

import aiohttp

from tests.api_client import Api
from tests.live.conftest import RoomClient
from tests.services import ROOT, ServerProcess


async def test_the_report_folds_and_reads_back_on_sqlite_and_the_in_process_redis() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESHOP_")}
    env["PYTHONPATH"] = str(ROOT)
    env["LIVESHOP_RUN_WORKER"] = "false"
    with tempfile.TemporaryDirectory() as cwd:
        proc = ServerProcess(env, ("--demo",), cwd=cwd)
        await asyncio.to_thread(proc.start)
        try:
            async with aiohttp.ClientSession() as http:
                api = Api(http, proc.url)
                for _ in range(100):
                    if (await api.call("GET", "/readyz")).status == 200:
                        break
                    await asyncio.sleep(0.1)
                host = await api.login("host@demo.liveshop", "liveshop-demo")
                product = (await api.call("GET", "/api/v1/products")).body["items"][0]
                b = await api.broadcast(host, "Embedded report")
                assert (
                    await api.call("POST", f"/api/v1/broadcasts/{b['id']}/start", token=host)
                ).status == 200
                offer = await api.offer(host, b["id"], product["id"], 2, price=900)
                token = await api.guest("ig viewer")
                viewer = await RoomClient(proc.url, token).connect()
                try:
                    snap = await viewer.call(
                        "join", {"broadcast_id": b["id"], "attribution": {"ref": "l.instagram.com"}}
                    )
                    assert "error" not in snap, snap
                    assert (await viewer.call("chat", {"text": "hi"})).get("ok")
                    header = {"Liveshop-Attribution": "ref=l.instagram.com"}
                    hold = await api.call(
                        "POST",
                        f"/api/v1/offers/{offer['id']}/reservations",
                        token=token,
                        json={"quantity": 1},
                        headers={"Idempotency-Key": "emb-1", **header},
                    )
                    assert hold.status == 201, hold.body
                    order = await api.call(
                        "POST",
                        "/api/v1/orders",
                        token=token,
                        headers={"Idempotency-Key": "emb-order", **header},
                        json={
                            "reservation_id": hold.body["id"],
                            "buyer": {"name": "Ig", "email": "ig@example.com", "address": "3 Reel Lane"},
                        },
                    )
                    assert order.status == 201, order.body  # pending: the demo takes payments
                    assert (
                        await api.call("POST", f"/api/v1/broadcasts/{b['id']}/end", token=host)
                    ).status == 200
                finally:
                    await viewer.close()
                r = await api.call("GET", f"/api/v1/broadcasts/{b['id']}/report", token=host)
                assert r.status == 200, r.body
                got = r.body
                assert got["report"] == "final"
                assert got["funnel"] == {"viewers": 1, "reserved": 1, "ordered": 1, "paid": 0}
                assert (got["audience"]["peak_viewers"], got["audience"]["unique_chatters"]) == (1, 1)
                assert [(s["source"], s["viewers"], s["reserved"], s["orders"]) for s in got["sources"]] == [
                    ("instagram", 1, 1, 1)
                ]
                csv = await api.call("GET", f"/api/v1/broadcasts/{b['id']}/report?format=csv", token=host)
                assert csv.status == 200 and "source,instagram,instagram,orders,1" in csv.body
        finally:
            await asyncio.to_thread(proc.stop)
