"""Interoperability: GStreamer's webrtcbin publishes over WHIP as an encoder would; aiortc plays it."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from loadtests.media_clients import Viewer

pytestmark = pytest.mark.media

SCRIPT = Path(__file__).parent / "gst_whip_publisher.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def _gstreamer_missing() -> str:
    probe = (
        "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstWebRTC','1.0');"
        "gi.require_version('Nice','0.1'); from gi.repository import Gst, Nice; Gst.init(None);"
        "assert all(Gst.ElementFactory.find(e) for e in "
        "['webrtcbin','x264enc','opusenc','rtph264pay','nicesrc'])"
    )
    try:
        subprocess.run([SYSTEM_PYTHON, "-c", probe], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "GStreamer webrtcbin via python3-gi is missing (scripts/install-test-deps.sh installs it)"
    return ""


MISSING = _gstreamer_missing()


@pytest.mark.skipif(bool(MISSING), reason=MISSING or "ok")
async def test_gstreamer_webrtcbin_publishes_a_non_trickle_actpass_offer_and_aiortc_viewers_decode_it(
    http: aiohttp.ClientSession, base: str, broadcast: dict[str, Any]
) -> None:
    viewer = Viewer(http, base, broadcast["id"])
    proc = await asyncio.create_subprocess_exec(
        SYSTEM_PYTHON,
        str(SCRIPT),
        f"{base}/whip/{broadcast['id']}",
        broadcast["stream_key"],
        "10",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert (await viewer.start()).status == 201
        try:
            await viewer.wait_frames(20, within=20)
        except TimeoutError as exc:
            out, err = await asyncio.wait_for(proc.communicate(), 40)
            raise AssertionError(
                f"{exc}; publisher said {out.decode()[-800:]} {err.decode()[-1500:]}"
            ) from None
        assert viewer.sizes == {(640, 360)}
        out, err = await asyncio.wait_for(proc.communicate(), 40)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await viewer.stop()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["status"] == 201, (result, err.decode()[-1500:])
    assert result["offer_setup"] == ["a=setup:actpass"]
    assert result["offer_candidates"] >= 1
    assert result["connection"] == "connected"
    assert result["deleted"] == 200
