"""The cheap Viewer against a real node: it joins, counts frames, samples latency, reports into Locust.

The viewers run in a child process: Locust monkey-patches the interpreter with gevent on import, which
must not happen inside the pytest process that runs asyncio tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from loadtests.wire import RoomConnection
from tests.loadtests.conftest import Deployment, prepare
from tests.services import ROOT

VIEWERS, SAMPLE_EVERY, CHATS = 6, 3, 4

PROBE = """
import json, sys, time, types
import gevent
from locust.env import Environment
from loadtests.runfile import RunFile
from loadtests.viewer import Viewer

run_path, n, chats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
run = RunFile.load(run_path)
env = Environment(user_classes=[Viewer], host=run.base_url)
env.parsed_options = types.SimpleNamespace(run_file=run_path, run_data="")
Viewer.host = run.base_url  # what a runner does with --host
env.create_local_runner()  # hooks request events to env.stats
viewers = [Viewer(env) for _ in range(n)]
gevent.joinall([gevent.spawn(v.on_start) for v in viewers], timeout=60)
sender = next(v for v in viewers if not v.sampled)
for _ in range(chats):
    sender.chat()
    gevent.sleep(0.4)  # inside the node's chat rate limit (1/s sustained, bursts of 5)

def entry(name):
    return env.stats.entries.get((name, "sio"))

def settled():
    delivered, seen = entry("chat delivered"), entry("recv chat")
    return (
        delivered is not None and delivered.num_requests == chats
        and seen is not None and seen.total_content_length == chats * sum(v.sampled for v in viewers)
        and all(v.frames[b"chat"] > 0 for v in viewers)
    )

deadline = time.monotonic() + 20
while not settled() and time.monotonic() < deadline:
    gevent.sleep(0.1)
viewers[0].tally.flush()
stats = {
    name: {"count": e.num_requests, "fails": e.num_failures, "bytes": e.total_content_length,
           "avg_ms": e.avg_response_time, "min_ms": e.min_response_time}
    for (name, _), e in env.stats.entries.items()
}
out = {"in_room": [v.in_room for v in viewers], "sampled": [v.sampled for v in viewers],
       "frames": [{k.decode(): n for k, n in v.frames.items()} for v in viewers], "stats": stats,
       "errors": {str(k): e.occurrences for k, e in env.stats.errors.items()}}
for v in viewers:
    v.on_stop()
print(json.dumps(out))
"""


def test_cheap_viewers_join_count_frames_and_sample_latency_into_locust_stats(
    deployment: Deployment, tmp_path: Path
) -> None:
    run_file = tmp_path / "run.json"
    prepare(
        deployment.url,
        run_file,
        "--offers",
        "1",
        "--quantity",
        "10",
        "--viewer-sample-every",
        str(SAMPLE_EVERY),
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(run_file), str(VIEWERS), str(CHATS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    stats = out["stats"]
    assert out["errors"] == {}
    assert all(out["in_room"]), out
    assert stats["connect"]["count"] == VIEWERS and stats["join"]["count"] == VIEWERS
    assert out["sampled"] == [i % SAMPLE_EVERY == 0 for i in range(VIEWERS)]

    # every frame a counting viewer received is in Locust's stats, under its event's name, and nothing else is
    counting = [f for f, s in zip(out["frames"], out["sampled"], strict=True) if not s]
    sampled = [f for f, s in zip(out["frames"], out["sampled"], strict=True) if s]
    frame_rows = {name: row for name, row in stats.items() if name.startswith("frames ")}
    assert frame_rows == {f"frames {k}": frame_rows[f"frames {k}"] for f in counting for k in f}
    for name in {k for f in counting for k in f}:
        assert frame_rows[f"frames {name}"]["count"] == sum(f.get(name, 0) for f in counting)
    assert all(1 <= f["chat"] <= CHATS for f in counting)  # every message, batched per tick
    assert frame_rows["frames chat"]["bytes"] > 0

    # the sampled viewers decoded every frame they got, saw every message, and timed its delivery
    for name in {k for f in sampled for k in f}:
        assert stats[f"recv {name}"]["count"] == sum(f.get(name, 0) for f in sampled)
    assert stats["recv chat"]["bytes"] == CHATS * sum(out["sampled"])  # messages, per sampled viewer
    assert stats["recv chat"]["min_ms"] >= 0 and stats["recv chat"]["avg_ms"] > 0

    # the chatting viewer's own messages came back to it: emit to receipt
    assert stats["chat"]["count"] == CHATS and stats["chat"]["fails"] == 0
    assert stats["chat delivered"]["count"] == CHATS


RECONNECT_PROBE = """
import json, socket, sys, time, types
import gevent
from locust.env import Environment
from loadtests.runfile import RunFile
from loadtests.viewer import Viewer

run = RunFile.load(sys.argv[1])
env = Environment(user_classes=[Viewer], host=run.base_url)
env.parsed_options = types.SimpleNamespace(run_file=sys.argv[1], run_data="")
Viewer.host = run.base_url
env.create_local_runner()
viewer = Viewer(env)
viewer.on_start()
joined = viewer.in_room
viewer.conn.sock.shutdown(socket.SHUT_RDWR)  # the connection drops under the viewer
deadline = time.monotonic() + 10
while viewer.conn.open and time.monotonic() < deadline:
    gevent.sleep(0.05)
dropped = not viewer.in_room
backoff = viewer.wait_time()
viewer.watch()  # the next task comes back to the room
stats = {name: [e.num_requests, e.num_failures] for (name, _), e in env.stats.entries.items()}
print(json.dumps({"joined": joined, "dropped": dropped, "back": viewer.in_room, "backoff": backoff,
                  "failures_in_a_row": viewer.failures, "stats": stats}))
viewer.on_stop()
"""


def test_a_dropped_viewer_is_reported_and_comes_back_to_the_room(
    deployment: Deployment, tmp_path: Path
) -> None:
    run_file = tmp_path / "run.json"
    prepare(deployment.url, run_file, "--offers", "0")
    done = subprocess.run(
        [sys.executable, "-c", RECONNECT_PROBE, str(run_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["joined"] and out["dropped"] and out["back"], out
    assert 0 <= out["backoff"] <= 1.0  # out of the room: back soon (jittered), not after a chat interval
    assert out["stats"]["connection lost"] == [1, 1]  # in the failures table
    assert out["stats"]["connect"] == [2, 0] and out["stats"]["join"] == [2, 0]
    assert out["stats"]["guest session"] == [1, 0]  # the same viewer: its session is kept
    assert out["failures_in_a_row"] == 0


class _Sink:
    def __init__(self) -> None:
        self.events: list[bytes] = []

    def on_event(self, conn: RoomConnection, buf: bytes, start: int, end: int) -> None:
        self.events.append(buf[start:end])

    def on_closed(self, conn: RoomConnection, reason: str) -> None:
        self.events.append(b"closed: " + reason.encode())


def _frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes([0x81, n]) + payload
    if n < 1 << 16:
        return bytes([0x81, 126]) + n.to_bytes(2, "big") + payload
    return bytes([0x81, 127]) + n.to_bytes(8, "big") + payload


def test_frames_split_anywhere_across_reads_arrive_whole_and_in_order() -> None:
    payloads = [
        b'42/live,["viewers",{"count":3}]',
        b'42/live,["chat",[{"text":"' + b"x" * 300 + b'"}]]',  # 16-bit length
        b'42/live,["offer",{"id":"' + b"y" * 70_000 + b'"}]',  # 64-bit length
    ]
    stream = b"".join(_frame(p) for p in payloads)
    for step in (1, 7, 4096, len(stream)):
        sink = _Sink()
        conn = RoomConnection("http://127.0.0.1:1", "token", sink)
        conn.open = True
        for at in range(0, len(stream), step):
            conn._consume(stream[at : at + step])
        assert sink.events == payloads, step


KEYWORD_PROBE = """
import json, sys, time, types
import gevent
from locust.env import Environment
from loadtests.runfile import RunFile
from loadtests.viewer import Viewer

run_path, n = sys.argv[1], int(sys.argv[2])
run = RunFile.load(run_path)
env = Environment(user_classes=[Viewer], host=run.base_url)
env.parsed_options = types.SimpleNamespace(run_file=run_path, run_data="")
Viewer.host = run.base_url
env.create_local_runner()
viewers = [Viewer(env) for _ in range(n)]
gevent.joinall([gevent.spawn(v.on_start) for v in viewers], timeout=60)
# a keyword buyer with an offer on the pinned product sends the keyword instead of a chat line
gevent.joinall([gevent.spawn(v.chat) for v in viewers], timeout=30)
for v in viewers:
    v.chat()  # once per offer: the second time it chats as usual
def answered():
    return all(sum(v.keyword_answers.values()) >= v.keywords_sent for v in viewers)
deadline = time.monotonic() + 20
while not answered() and time.monotonic() < deadline:
    gevent.sleep(0.1)
stats = {name: [e.num_requests, e.num_failures] for (name, _), e in env.stats.entries.items()}
out = {"buyers": [v.keyword_buyer for v in viewers], "answers": [v.keyword_answers for v in viewers],
       "sent": [v.keywords_sent for v in viewers], "stats": stats}
out["errors"] = {str(k): e.occurrences for k, e in env.stats.errors.items()}
print(json.dumps(out))
for v in viewers:
    v.on_stop()
"""


def test_keyword_buyers_claim_the_pinned_offer_in_the_chat_and_count_their_answers(
    deployment: Deployment, tmp_path: Path
) -> None:
    """Five keyword buyers, three units: three `keyword reservation` rows; a buyer who still saw units
    left when it spoke is answered `keyword error [sold_out]`; one keyword per offer, each answered."""
    run_file = tmp_path / "run.json"
    args = ["--offers", "1", "--quantity", "3", "--viewer-keyword-share", "1", "--viewer-sample-every", "2"]
    prepare(deployment.url, run_file, *args)
    done = subprocess.run(
        [sys.executable, "-c", KEYWORD_PROBE, str(run_file), "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(out["buyers"]), out
    assert set(out["sent"]) <= {0, 1} and sum(out["sent"]) >= 3, out  # once per offer at most
    assert [sum(a.values()) for a in out["answers"]] == out["sent"], out  # each answered, to them alone
    stats = out["stats"]
    assert stats["keyword reservation"] == [3, 0], stats
    assert stats.get("keyword error [sold_out]", [0, 0]) == [sum(out["sent"]) - 3, 0], stats
    assert out["errors"] == {}, out
