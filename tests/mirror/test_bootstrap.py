"""One bootstrap per process: a node that runs the worker has one connector set, so one throttle gate
per platform that webhooks and every delivery lane share; the mirror CLI runs over the same services."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import orjson
import pytest
from aiohttp.test_utils import TestServer

from server.app import build_app
from server.config import Settings
from server.mirror.backoff import Gate
from server.mirror.sandbox.run import Sandboxes
from server.mirror.state import MIRROR
from tests.mirror.conftest import config_for
from tests.services import ROOT, server_env


async def test_a_node_running_the_worker_builds_one_connector_set_and_one_gate_per_platform(
    settings: Settings, calm: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates: list[Gate] = []
    made = Gate.__init__

    def counted(self: Gate) -> None:
        made(self)
        gates.append(self)

    monkeypatch.setattr(Gate, "__init__", counted)
    app = build_app(settings.model_copy(update={"run_worker": True, "db_pool_size": 4}), background=True)
    app[MIRROR].config = config_for(calm)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        state = app[MIRROR]
        assert state.worker is not None
        assert sorted(state.connectors) == ["google", "meta", "shopify", "tiktok"]
        assert state.worker.connectors is state.connectors
        assert len(gates) == 4
        assert {id(c.gate) for c in state.connectors.values()} == {id(g) for g in gates}
    finally:
        await server.close()


async def test_mirror_status_runs_from_the_cli_over_the_configured_services(settings: Settings) -> None:
    env = server_env(settings.database_url, settings.redis_url)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "mirror", "status", "--json"],
        env=env,
        cwd=str(ROOT),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode in (0, 2), done.stderr.decode()
    report = orjson.loads(done.stdout)
    assert "platforms" in report and "flagged_orders" in report
