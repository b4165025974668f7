"""A recording store that is down loses nothing (server/media/hls/spool.py): the writes it refuses wait
on the node's disk in order, reads find them there, a restarted node picks them up, and when a real S3
server (moto's, on loopback) answers again it receives every write in the order made, each playlist
after the segments it lists."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from server.media.hls.recorder import Recorder
from server.media.hls.spool import Spool, SpoolBusy
from server.media.hls.store import S3Store, StoreUnavailable, s3_client
from tests.services import free_port

BUCKET = "liveshop-spool"
RETRY_S = 0.2


class WatchedStore(S3Store):
    """The real S3 store, noting the order in which the bucket took each key."""

    def __init__(self, url: str, client: Any) -> None:
        super().__init__(url, client)
        self.taken: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        super().put(key, data)
        self.taken.append(key)


def _store(port: int) -> WatchedStore:
    endpoint = f"http://127.0.0.1:{port}"
    return WatchedStore(f"s3://{BUCKET}/rec", s3_client(endpoint, "us-east-1", "k", "s", 0.3))


def _record(recorder: Recorder, bid: str, segments: range) -> None:
    """What a stream writes: each segment, then the playlist of all so far (rewritten each time)."""
    for n in segments:
        recorder.write_segment(bid, n, f"segment {n}".encode() * 100)
        recorder.write_playlist(bid, "".join(f"s{i}.m4s\n" for i in range(n + 1)), final=False)


def _until(check: Any, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_writes_a_down_store_refused_wait_in_order_survive_a_restart_and_reach_it_when_it_answers(
    tmp_path: Path,
) -> None:
    port = free_port()  # nothing listens yet: the store refuses
    bid = "bc_spooltest"
    first = Recorder(_store(port), spool=Spool(tmp_path / "spool", 10 * 1024 * 1024), retry_s=RETRY_S)
    _record(first, bid, range(0, 4))
    _until(lambda: first._pending == 0)
    assert first.stats["written"] == 0 and first.stats["failed"] >= 1 and first.stats["dropped"] == 0
    assert first.read(bid, "s2.m4s") == b"segment 2" * 100  # read from the node's disk meanwhile
    assert first.spool is not None and len(first.spool) == 5  # four segments, one (the newest) playlist
    first.close(timeout=2)

    # a restarted node finds what waited, and adds to it behind the rest
    store = _store(port)
    spool = Spool(tmp_path / "spool", 10 * 1024 * 1024)
    assert len(spool) == 5
    again = Recorder(store, spool=spool, retry_s=RETRY_S)
    _record(again, bid, range(4, 6))
    _until(lambda: again._pending == 0)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
        ).create_bucket(Bucket=BUCKET)

        def sent() -> bool:
            again.retry_spooled()
            return len(spool) == 0

        _until(sent)
        playlist = f"{bid}/recording.m3u8"
        segments = [f"{bid}/s{n}.m4s" for n in range(6)]
        # in the order made, each playlist once and after every segment it lists
        assert store.taken == [*segments, playlist]
        assert store.get(playlist) == b"".join(f"s{i}.m4s\n".encode() for i in range(6))
        for n in range(6):
            assert store.get(segments[n]) == f"segment {n}".encode() * 100
        assert [p.name for p in (tmp_path / "spool").iterdir()] == [".lock"]  # nothing left on disk
        assert again.stats["dropped"] == 0 and not again.failing
    finally:
        again.close(timeout=2)
        server.stop()


def test_a_full_spool_drops_what_does_not_fit_and_counts_it(tmp_path: Path) -> None:
    recorder = Recorder(_store(free_port()), spool=Spool(tmp_path, 2500), retry_s=60)
    for n in range(5):
        recorder.write_segment("bc_full", n, b"x" * 1000)
    _until(lambda: recorder._pending == 0)
    assert (recorder.stats["spooled"], recorder.stats["dropped"]) == (2, 3)
    assert recorder.read("bc_full", "s1.m4s") == b"x" * 1000
    with pytest.raises(StoreUnavailable):  # never kept: only the store could have it
        recorder.read("bc_full", "s2.m4s")
    recorder.close(timeout=2)


@pytest.mark.parametrize("junk", ["7-", "7-!!", "x-" + "a" * 10, "000000000009-YmNfYS9zOS5tNHM=.tmp"])
def test_a_spool_left_with_junk_keeps_only_whole_writes(tmp_path: Path, junk: str) -> None:
    before = Spool(tmp_path, 1 << 20)
    assert before.add("bc_a/s0.m4s", b"whole")
    before.close()
    (tmp_path / junk).write_bytes(b"half")  # a write cut short by a crash, or a stranger's file
    reopened = Spool(tmp_path, 1 << 20)
    assert len(reopened) == 1 and reopened.get("bc_a/s0.m4s") == b"whole" and reopened.bytes == 5
    assert [p.name for p in tmp_path.iterdir() if p.name != ".lock"] == ["000000000001-YmNfYS9zMC5tNHM="]
    reopened.close()


def test_one_node_owns_a_spool_directory_until_it_closes(tmp_path: Path) -> None:
    owner = Spool(tmp_path, 1 << 20)
    with pytest.raises(SpoolBusy):
        Spool(tmp_path, 1 << 20)  # a second node on the same recordings_dir runs without one
    owner.close()
    Spool(tmp_path, 1 << 20).close()
