"""Recordings in an S3-compatible store: a real one (moto's server, on loopback) gets a GStreamer-
published broadcast's segments, playlists, timeline and poster, serves its replay (ffprobe decodes it)
and loses them to retention; a store that refuses or never answers costs the recording only: live HLS
keeps serving, the failures are counted and logged, and the replay answers 503, never 500."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from loadtests.media_clients import Publisher
from server.clock import ShiftedClock
from server.config import Settings
from server.media.hls.routes import ORIGIN
from tests.api_client import Api
from tests.conftest import new_host, start_app
from tests.media.hls.test_cmaf import ffprobe
from tests.media.test_gstreamer import MISSING, SCRIPT, SYSTEM_PYTHON
from tests.media.test_hls import until_playlist
from tests.services import free_port

pytestmark = pytest.mark.media
BUCKET = "liveshop-recordings"


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (its own thread), with one bucket; yields the endpoint."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    _client(endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )


def _keys(endpoint: str, prefix: str) -> list[str]:
    listed = _client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"][len(prefix) :] for o in listed.get("Contents", []))


def _store_settings(settings: Settings, endpoint: str, **extra: Any) -> Settings:
    media = settings.media.model_copy(
        update={
            "recordings_url": f"s3://{BUCKET}/recordings",
            "recordings_s3_endpoint": endpoint,
            "recordings_s3_access_key": SecretStr("test-key"),
            "recordings_s3_secret_key": SecretStr("test-secret"),
            **extra,
        }
    )
    return settings.model_copy(update={"media": media})


async def _node(settings: Settings) -> AsyncIterator[tuple[web.Application, TestServer, ShiftedClock]]:
    clock = ShiftedClock()
    app, server = await start_app(settings, clock=clock)
    try:
        yield app, server, clock
    finally:
        await server.close()


@pytest.fixture
async def s3_node(
    settings: Settings, s3: str
) -> AsyncIterator[tuple[web.Application, TestServer, ShiftedClock]]:
    async for node in _node(_store_settings(settings, s3)):
        yield node


@pytest.mark.skipif(bool(MISSING), reason=MISSING or "ok")
async def test_a_gstreamer_broadcast_is_recorded_to_the_bucket_replayed_from_it_and_deleted_by_retention(
    s3_node: tuple[web.Application, TestServer, ShiftedClock],
    http: aiohttp.ClientSession,
    s3: str,
    settings: Settings,
) -> None:
    app, server, clock = s3_node
    base = str(server.make_url("")).rstrip("/")
    api = Api(http, base)
    host = await new_host(app, api)
    broadcast = await api.broadcast(host, "Recorded to S3")
    bid = broadcast["id"]
    proc = await asyncio.create_subprocess_exec(
        SYSTEM_PYTHON,
        str(SCRIPT),
        f"{base}/whip/{bid}",
        broadcast["stream_key"],
        "9",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await until_playlist(http, f"{base}/hls/{bid}/index.m3u8", r"s2\.m4s", within=30)
        product = await api.product(host)
        await api.offer(host, bid, product["id"], quantity=2, per_buyer_limit=1)
    finally:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, (out.decode()[-500:], err.decode()[-1500:])
    assert (await api.call("POST", f"/api/v1/broadcasts/{bid}/end", token=host)).status == 200
    recorder = app[ORIGIN].recorder
    await asyncio.to_thread(recorder.drain)
    stored = _keys(s3, f"recordings/{bid}/")
    assert {"init0.mp4", "s0.m4s", "s1.m4s", "s2.m4s", "replay.m3u8", "timeline.json", "poster.jpg"} <= set(
        stored
    ), stored
    assert recorder.stats["failed"] == recorder.stats["dropped"] == 0

    # the replay is served from the bucket: a fresh node (nothing of it in memory) answers it
    async for _, other_server, _ in _node(_store_settings(settings, s3)):
        other_base = str(other_server.make_url("")).rstrip("/")
        replay = await Api(http, other_base).call("GET", f"/api/v1/broadcasts/{bid}/replay")
        assert replay.status == 200, replay.body
        assert any(item["type"] == "offer" for item in replay.body["timeline"])
        frames = await asyncio.to_thread(ffprobe, f"{other_base}/hls/{bid}/index.m3u8")
        assert frames["h264"] >= 120
        async with http.get(f"{other_base}/hls/{bid}/poster.jpg") as resp:
            assert resp.status == 200 and (await resp.read())[:2] == b"\xff\xd8"

    # retention: nothing is old enough yet; two days on, the recording's objects are gone
    assert await asyncio.to_thread(recorder.delete_older_than, 1) == []
    clock.advance(2 * 86400)
    assert await asyncio.to_thread(recorder.delete_older_than, 1) == [bid]
    assert _keys(s3, f"recordings/{bid}/") == []
    gone = await api.call("GET", f"/api/v1/broadcasts/{bid}/replay")
    assert (gone.status, gone.body["code"]) == (404, "no_replay")


class _Silent:
    """A TCP server on loopback that accepts and never answers: a store that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(2)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize(("fault", "spool_mb"), [("refused", 64), ("silent", 64), ("refused", 0)])
async def test_a_store_that_refuses_or_hangs_never_costs_the_live_stream(
    settings: Settings,
    http: aiohttp.ClientSession,
    fault: str,
    spool_mb: int,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """With a spool the refused writes wait on the node's disk (the next test sends them on); without
    one they are lost. Either way the live stream is whole and the replay answers 503, never 500."""
    silent = _Silent() if fault == "silent" else None
    endpoint = f"http://127.0.0.1:{silent.port if silent else free_port()}"  # a free port refuses
    faulty = _store_settings(
        settings,
        endpoint,
        recordings_s3_timeout_s=0.3,
        recordings_spool_mb=spool_mb,
        recordings_dir=str(tmp_path),
    )
    try:
        async for app, server, _ in _node(faulty):
            base = str(server.make_url("")).rstrip("/")
            api = Api(http, base)
            host = await new_host(app, api)
            broadcast = await api.broadcast(host, f"Store {fault}")
            bid = broadcast["id"]
            publisher = Publisher(http, base, bid, broadcast["stream_key"], width=160, height=90)
            url = f"{base}/hls/{bid}/index.m3u8"
            try:
                assert (await publisher.start()).status == 201
                live = await until_playlist(http, url, r"s3\.m4s", within=30)
                # live HLS is served from memory: parts, segments, blocking reloads all answer
                async with http.get(f"{base}/hls/{bid}/s1.m4s") as resp:
                    assert resp.status == 200 and len(await resp.read()) > 1000
                assert "p" in live
                async with http.get(f"{url}?_HLS_msn=4&_HLS_part=0") as resp:
                    assert resp.status == 200
            finally:
                await publisher.stop()
            recorder = app[ORIGIN].recorder
            assert recorder.stats["failed"] > 0 and recorder.stats["written"] == 0
            if spool_mb:
                assert recorder.stats["spooled"] > 0
                assert recorder.spool is not None and len(recorder.spool) > 0
            else:
                assert recorder.stats["spooled"] == 0 and recorder.spool is None
            assert "recording write failed" in caplog.text
            async with http.get(f"{base}/metrics") as resp:
                metrics = await resp.text()
            assert 'liveshop_recording_writes_total{result="failed"}' in metrics
            assert (await api.call("POST", f"/api/v1/broadcasts/{bid}/end", token=host)).status == 200
            # the replay cannot be read: a clear 503 with Retry-After, never a 500
            replay = await api.call("GET", f"/api/v1/broadcasts/{bid}/replay")
            assert (replay.status, replay.body["code"]) == (503, "service_unavailable"), replay.body
            for path in (f"/hls/{bid}/s0.m4s", f"/hls/{bid}/index.m3u8"):
                async with http.get(base + path) as resp:
                    assert resp.status in (200, 503), (path, resp.status)
                    if resp.status == 503:
                        assert resp.headers["Retry-After"] == "2"
                        assert (await resp.json())["code"] == "service_unavailable"
            hide = {"published": False}
            hidden = await api.call("PUT", f"/api/v1/broadcasts/{bid}/replay", token=host, json=hide)
            assert hidden.status == 503, hidden.body
    finally:
        if silent is not None:
            silent.close()


async def test_a_store_that_comes_back_gets_the_whole_recording_and_serves_its_replay(
    settings: Settings, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """A broadcast recorded while the store refused every write: when a real S3 server answers on that
    address, the node's spool sends it everything in order, and the replay plays from the bucket."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    down = _store_settings(settings, endpoint, recordings_s3_timeout_s=0.3, recordings_dir=str(tmp_path))
    moto: ThreadedMotoServer | None = None
    try:
        async for app, server, _ in _node(down):
            base = str(server.make_url("")).rstrip("/")
            api = Api(http, base)
            host = await new_host(app, api)
            broadcast = await api.broadcast(host, "Recorded while the store was down")
            bid = broadcast["id"]
            publisher = Publisher(http, base, bid, broadcast["stream_key"], width=160, height=90)
            try:
                assert (await publisher.start()).status == 201
                await until_playlist(http, f"{base}/hls/{bid}/index.m3u8", r"s3\.m4s", within=30)
            finally:
                await publisher.stop()
            assert (await api.call("POST", f"/api/v1/broadcasts/{bid}/end", token=host)).status == 200
            recorder = app[ORIGIN].recorder
            assert recorder.spool is not None
            await asyncio.to_thread(recorder.drain)  # every write so far is on the node's disk
            waiting = len(recorder.spool)
            assert waiting >= 6 and recorder.stats["written"] == 0  # inits, segments, playlists, timeline

            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            moto.start()
            _client(endpoint).create_bucket(Bucket=BUCKET)
            for _ in range(200):  # the node's own retry loop sends it (every RETRY_S): 20 s at most
                if len(recorder.spool) == 0:
                    break
                await asyncio.sleep(0.1)
            assert len(recorder.spool) == 0 and not recorder.failing
            stored = set(_keys(endpoint, f"recordings/{bid}/"))
            expected = {"init0.mp4", "s0.m4s", "s1.m4s", "s2.m4s", "s3.m4s", "replay.m3u8", "timeline.json"}
            assert expected <= stored, stored
            replay_text = (await asyncio.to_thread(recorder.read, bid, "replay.m3u8") or b"").decode()
            listed = {line for line in replay_text.splitlines() if line.endswith(".m4s")}
            assert listed and listed <= stored  # every segment the replay lists is in the bucket
            replay = await api.call("GET", f"/api/v1/broadcasts/{bid}/replay")
            assert replay.status == 200, replay.body
            frames = await asyncio.to_thread(ffprobe, f"{base}/hls/{bid}/index.m3u8")
            assert frames["h264"] > 0
    finally:
        if moto is not None:
            moto.stop()
