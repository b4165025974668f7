"""The post-run audit over HTTP: it passes a clean sale and fails loudly on every kind of violation."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from loadtests import audit
from loadtests.api import Api, ApiError
from loadtests.runfile import RunFile
from tests.loadtests.conftest import Deployment
from tests.services import psql

BUYER = {"name": "Test Buyer", "email": "buyer@example.com", "address": "1 Test Street"}


def sell(d: Deployment, quantity: int, buy: int) -> tuple[Api, dict[str, Any], dict[str, Any], list]:
    host = d.host()
    product = host.create_product("Audited item", 1999, 100)
    broadcast = host.call("POST", "/api/v1/broadcasts", {"title": "Audit"})
    offer = host.call(
        "POST",
        f"/api/v1/broadcasts/{broadcast['id']}/offers",
        {
            "product_id": product["id"],
            "price": 999,
            "quantity": quantity,
            "per_buyer_limit": 1,
            "duration_s": 600,
        },
    )
    orders = []
    for _ in range(buy):
        buyer = Api(d.url)
        buyer.token = buyer.call("POST", "/api/v1/auth/guest", {"nickname": "buyer"})["token"]
        hold = buyer.call(
            "POST",
            f"/api/v1/offers/{offer['id']}/reservations",
            {"quantity": 1},
            idempotency_key=uuid.uuid4().hex,
        )
        orders.append(
            buyer.call(
                "POST",
                "/api/v1/orders",
                {"reservation_id": hold["id"], "buyer": BUYER},
                idempotency_key=uuid.uuid4().hex,
            )
        )
    return host, broadcast, offer, orders


def write_run(
    tmp_path: Path, d: Deployment, host: Api, broadcast: dict[str, Any], ledger: list[dict]
) -> Path:
    run = RunFile("t1", d.url, "h@example.com", host.token or "", broadcast["id"], [], [])
    path = tmp_path / "run.json"
    run.save(path)
    (tmp_path / "orders-t1.jsonl").write_text("".join(json.dumps(line) + "\n" for line in ledger))
    return path


def run_audit(path: Path, capsys: Any) -> tuple[int, str]:
    code = audit.main(["--run", str(path), "--sample", "50", "--settle", "0"])
    return code, capsys.readouterr().out


def offer_row(out: str, offer_id: str) -> list[str]:
    return next(line for line in out.splitlines() if line.startswith(offer_id)).split()


def confirmed(offer_id: str, order: dict[str, Any], key: str = "") -> dict[str, Any]:
    return {"checkout": key or order["id"], "offer_id": offer_id, "order_id": order["id"], "quantity": 1}


def test_audit_passes_a_clean_sale_whose_orders_match_the_ledger(
    deployment: Deployment, tmp_path: Path, capsys: Any
) -> None:
    host, broadcast, offer, orders = sell(deployment, quantity=3, buy=2)
    ledger = [confirmed(offer["id"], o) for o in orders]
    ledger.append(ledger[0])  # a client told twice (an idempotent replay) is still one order
    ledger.append({"checkout": "k-refused", "offer_id": offer["id"]})
    ledger.append({"checkout": "k-refused", "offer_id": offer["id"], "refused": True})
    code, out = run_audit(write_run(tmp_path, deployment, host, broadcast, ledger), capsys)
    assert code == 0, out
    assert "OK, oversold 0" in out
    # offer status qty sold held avail oversold orders clients
    assert offer_row(out, offer["id"])[1:9] == ["active", "3", "2", "0", "1", "0", "2", "2"]


def test_audit_allows_unanswered_checkouts_but_not_unknown_orders(
    deployment: Deployment, tmp_path: Path, capsys: Any
) -> None:
    host, broadcast, offer, orders = sell(deployment, quantity=3, buy=2)
    sent_only = [{"checkout": "k1", "offer_id": offer["id"]}]  # the answer never came back
    code, out = run_audit(
        write_run(tmp_path, deployment, host, broadcast, [confirmed(offer["id"], orders[0]), *sent_only]),
        capsys,
    )
    assert code == 0, out
    code, out = run_audit(
        write_run(tmp_path, deployment, host, broadcast, [confirmed(offer["id"], orders[0])]), capsys
    )
    assert code == 2, out
    assert "database has 1 orders no client was told about (only 0 unanswered checkouts)" in out


def test_audit_fails_when_a_client_was_confirmed_an_order_the_database_lacks(
    deployment: Deployment, tmp_path: Path, capsys: Any
) -> None:
    host, broadcast, offer, orders = sell(deployment, quantity=3, buy=1)
    ghost = {"id": "or_ghost"}
    ledger = [confirmed(offer["id"], orders[0]), confirmed(offer["id"], ghost)]
    code, out = run_audit(write_run(tmp_path, deployment, host, broadcast, ledger), capsys)
    assert code == 2, out
    assert "clients were confirmed 2 orders, database has 1" in out
    assert "order or_ghost confirmed to a client" in out
    assert "VIOLATIONS FOUND" in out


def test_audit_reports_an_oversold_offer_and_exits_non_zero(
    deployment: Deployment, tmp_path: Path, capsys: Any
) -> None:
    host, broadcast, offer, orders = sell(deployment, quantity=1, buy=1)
    db = deployment.pg.name
    psql(  # an order that bypassed the inventory: one unit more than the offer had
        "INSERT INTO orders (id, shop_id, channel, offer_id, product_id, buyer, quantity, unit_price, total,"
        f" currency, status, created_at) VALUES ('or_bypass{uuid.uuid4().hex[:8]}',"
        f" (SELECT shop_id FROM products WHERE id = '{offer['product_id']}'), 'liveshop', '{offer['id']}',"
        f" '{offer['product_id']}', '{{}}', 1, 999, 999, 'USD', 'confirmed', now())",
        db=db,
    )
    code, out = run_audit(
        write_run(tmp_path, deployment, host, broadcast, [confirmed(offer["id"], orders[0])]), capsys
    )
    assert code == 2, out
    row = offer_row(out, offer["id"])
    assert row[6] == "1" and "OVERSOLD by 1" in " ".join(row)
    assert "VIOLATIONS FOUND (oversold units: 1)" in out


def test_audit_endpoint_is_for_hosts_and_shows_only_their_own_offers(deployment: Deployment) -> None:
    host, broadcast, offer, _ = sell(deployment, quantity=2, buy=1)
    viewer = Api(deployment.url)
    viewer.token = viewer.call("POST", "/api/v1/auth/guest", {"nickname": "nosy"})["token"]
    with pytest.raises(ApiError) as denied:
        viewer.call("GET", "/api/v1/audit")
    assert denied.value.status == 403
    assert requests.get(f"{deployment.url}/api/v1/audit", timeout=10).status_code == 401
    mine = host.call("GET", "/api/v1/audit", params={"broadcast_id": broadcast["id"]})
    assert [o["offer_id"] for o in mine["offers"]] == [offer["id"]]
    assert mine["offers"][0]["orders"] == 1 and mine["offers"][0]["sold_db"] == 1

    subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "create-host",
            "--email",
            "other@loadtest.example",
            "--password",
            "other-password-1",
        ],
        env=deployment.env,
        capture_output=True,
        timeout=60,
    )
    other = Api(deployment.url)
    other.login("other@loadtest.example", "other-password-1")
    assert other.call("GET", "/api/v1/audit", params={"broadcast_id": broadcast["id"]})["offers"] == []
    with pytest.raises(ApiError) as hidden:
        other.call("GET", "/api/v1/audit", params={"offer_id": offer["id"]})
    assert hidden.value.status == 404
