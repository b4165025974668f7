"""The post-run audit over HTTP: it passes a clean sale and fails loudly on every kind of violation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from loadtests import audit
from loadtests.runfile import RunFile
from server.api.context import DB
from server.db.base import new_id
from server.db.models import Order
from tests.api_client import Api
from tests.conftest import new_host

Node = tuple[web.Application, TestServer]


async def sell(api: Api, host: str, quantity: int, buy: int) -> tuple[dict[str, Any], dict[str, Any], list]:
    product = await api.product(host, stock=100)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=quantity)
    orders = []
    for _ in range(buy):
        viewer = await api.guest("buyer")
        hold = await api.reserve(viewer, offer["id"], 1)
        order = await api.checkout(viewer, hold.body["id"])
        assert order.status == 201, order.body
        orders.append(order.body)
    return broadcast, offer, orders


def write_run(tmp_path: Path, api: Api, host: str, broadcast: dict[str, Any], ledger: list[dict]) -> Path:
    run = RunFile("t1", api.base, "h@example.com", host, broadcast["id"], [], [])
    path = tmp_path / "run.json"
    run.save(path)
    (tmp_path / "orders-t1.jsonl").write_text("".join(json.dumps(line) + "\n" for line in ledger))
    return path


async def run_audit_cli(path: Path, capsys: Any) -> tuple[int, str]:
    code = await asyncio.to_thread(audit.main, ["--run", str(path), "--sample", "50", "--settle", "0"])
    return code, capsys.readouterr().out


async def test_audit_passes_a_clean_sale_whose_orders_match_the_ledger(
    api: Api, host: str, tmp_path: Path, capsys: Any
) -> None:
    broadcast, offer, orders = await sell(api, host, quantity=3, buy=2)
    ledger = [{"order_id": o["id"], "offer_id": offer["id"], "quantity": 1} for o in orders]
    code, out = await run_audit_cli(write_run(tmp_path, api, host, broadcast, ledger + ledger[:1]), capsys)
    assert code == 0, out
    assert "OK, oversold 0" in out
    row = next(line for line in out.splitlines() if line.startswith(offer["id"]))
    assert row.split()[1:7] == ["active", "3", "2", "0", "1", "0"]  # status qty sold held avail oversold


async def test_audit_fails_when_a_client_was_confirmed_an_order_the_database_lacks(
    api: Api, host: str, tmp_path: Path, capsys: Any
) -> None:
    broadcast, offer, orders = await sell(api, host, quantity=3, buy=1)
    ledger = [{"order_id": o["id"], "offer_id": offer["id"], "quantity": 1} for o in orders]
    ledger.append({"order_id": "or_ghost", "offer_id": offer["id"], "quantity": 1})
    code, out = await run_audit_cli(write_run(tmp_path, api, host, broadcast, ledger), capsys)
    assert code == 2, out
    assert "clients were confirmed 2 orders, database has 1" in out
    assert "VIOLATIONS FOUND" in out


async def test_audit_reports_an_oversold_offer_and_exits_non_zero(
    node: Node, api: Api, host: str, tmp_path: Path, capsys: Any
) -> None:
    broadcast, offer, _ = await sell(api, host, quantity=1, buy=1)
    async with node[0][DB]() as session, session.begin():  # an order that bypassed the inventory
        session.add(
            Order(
                id=new_id("or"),
                offer_id=offer["id"],
                product_id=offer["product_id"],
                quantity=1,
                unit_price=999,
                total=999,
                currency="USD",
                status="confirmed",
                buyer={},
            )
        )
    code, out = await run_audit_cli(write_run(tmp_path, api, host, broadcast, []), capsys)
    assert code == 2, out
    row = next(line for line in out.splitlines() if line.startswith(offer["id"]))
    assert "OVERSOLD by 1" in row and row.split()[6] == "1"


async def test_audit_endpoint_is_for_hosts_and_shows_only_their_own_offers(
    node: Node, api: Api, host: str
) -> None:
    broadcast, offer, _ = await sell(api, host, quantity=2, buy=1)
    viewer = await api.guest("nosy")
    assert (await api.call("GET", "/api/v1/audit", token=viewer)).status == 403
    assert (await api.call("GET", "/api/v1/audit")).status == 401
    other = await new_host(node[0], api)
    mine = await api.call("GET", f"/api/v1/audit?broadcast_id={broadcast['id']}", token=host)
    assert mine.status == 200 and [o["offer_id"] for o in mine.body["offers"]] == [offer["id"]]
    assert mine.body["offers"][0]["orders"] == 1 and mine.body["offers"][0]["sold_db"] == 1
    theirs = await api.call("GET", f"/api/v1/audit?broadcast_id={broadcast['id']}", token=other)
    assert theirs.status == 200 and theirs.body["offers"] == []
    named = await api.call("GET", f"/api/v1/audit?offer_id={offer['id']}", token=other)
    assert named.status == 404
