"""Protocol compatibility: the official socket.io JavaScript client (npm socket.io-client under Node)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api_client import Api
from tests.live.conftest import Clients, Room

JS = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def node_client() -> Path:
    """socket.io-client installed from npm on first use (package.json pins the major version)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node 20 and npm are required for the JavaScript client test")
    if not (JS / "node_modules" / "socket.io-client").exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=JS,
            check=True,
            capture_output=True,
            timeout=180,
        )
    return JS / "client.mjs"


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_official_js_client_joins_chats_and_receives_a_batch(
    node_client: Path, room: Room, api: Api, clients: Clients, node_url: str, transport: str
) -> None:
    python_viewer = await clients(node_url, await api.guest("py"))
    await python_viewer.join(room.id)
    text = f"hello from node over {transport}"
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(node_client),
        node_url,
        await api.guest("js"),
        room.id,
        text,
        transport,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, (out, err)
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["snapshot"]["broadcast"]["id"] == room.id
    assert result["ack"]["ok"] is True
    assert isinstance(result["batch"], list)
    assert result["batch"][0]["user"]["nickname"] == "js"
    await python_viewer.wait(lambda: text in python_viewer.chat_texts(), what="the JS client's message")
