"""A short headless Locust run of the `Bidder` scenario (loadtests/bidder.py) against a real node: the
bids are answered with the contract's codes only, and the auction's accepted bids rise strictly."""

from __future__ import annotations

import csv
import itertools
import json
import sys
import uuid
from pathlib import Path

import requests

from tests.loadtests.test_locust_run import HOST_EMAIL, HOST_PASSWORD, count, run, stats_rows
from tests.services import PostgresDatabase, RedisServer, ServerProcess, server_env


def test_an_auction_night_bids_without_failures_and_the_bids_rise(
    pg_database: PostgresDatabase, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = server_env(pg_database.url, redis_server.url, LIVESHOP_RUN_WORKER="false")
    node = ServerProcess(env)
    node.start()
    try:
        run_file = tmp_path / "run.json"
        prepared = run(
            [
                sys.executable,
                "-m",
                "loadtests.prepare",
                "--base-url",
                node.url,
                "--create-host",
                "--host-email",
                HOST_EMAIL,
                "--host-password",
                HOST_PASSWORD,
                "--offers",
                "0",
                "--auctions",
                "1",
                "--spare-products",
                "0",
                "--out",
                str(run_file),
            ],
            env=env,
        )
        assert prepared.returncode == 0, prepared.stderr + prepared.stdout
        prefix = tmp_path / f"bid-{uuid.uuid4().hex[:6]}"
        locust = run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                "loadtests/locustfile.py,loadtests/bidder.py",
                "--headless",
                "-u",
                "60",
                "-r",
                "60",
                "-t",
                "6s",
                "--stop-timeout",
                "3",
                "--host",
                node.url,
                "--run-file",
                str(run_file),
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
                "Bidder",
            ],
            timeout=60,
        )
        with open(f"{prefix}_failures.csv") as f:
            failures = list(csv.DictReader(f))
        assert failures == [], failures
        assert locust.returncode == 0, locust.stderr[-3000:]
        rows = stats_rows(prefix)
        assert count(rows, "bid") > 0, rows.keys()
        assert count(rows, "bid [bid_too_low]") + count(rows, "bid [already_high_bidder]") > 0
        auction_id = json.loads(run_file.read_text())["auctions"][0]["id"]
        view = requests.get(f"{node.url}/api/v1/auctions/{auction_id}", timeout=10).json()
        amounts = [b["amount"] for b in reversed(view["bids"])]
        # every 201 Locust counted is a bid; bids still in flight when Locust stopped are not in its stats
        assert view["bid_count"] >= count(rows, "bid") > 0 and amounts
        assert all(b - a >= view["increment"] for a, b in itertools.pairwise(amounts))
    finally:
        node.stop()
