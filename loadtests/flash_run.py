"""One flash-sale load test, start to verdict: prepare, room-then-spike on every core, summary, audit.

    python -m loadtests.flash_run --base-url http://127.0.0.1:8080 --host-email ops@shop.example \
        --host-password '...' --viewers 5000 --buyers 500 --offer-quantity 1000

A quiet room of `--viewers` (they arrive at `--arrive-rate`/s during `--quiet-s`), then the Host
launches an offer of `--offer-quantity` units and `--buyers` Buyers arrive within `--ramp-s`, stay for
`--spike-s`, and leave over `--decay-s`. Locust runs with `--processes` (default: one worker per core,
forked by Locust itself, with a master that aggregates). Then the one-screen summary (with the load
generator's CPU next to the node's, and the flag when the generator was the limit) and the audit.
Every run is bounded: the shape ends it, and a timeout stops it in any case.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from loadtests.runfile import RESULTS

ROOT = Path(__file__).resolve().parents[1]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loadtests.flash_run", description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--host-email", required=True)
    p.add_argument("--host-password", required=True)
    p.add_argument("--create-host", action="store_true", help="passed to prepare (local database only)")
    p.add_argument("--viewers", type=int, default=5000)
    p.add_argument("--buyers", type=int, default=500)
    p.add_argument("--offer-quantity", type=int, default=1000, help="units in the Host's first offer")
    p.add_argument("--arrive-rate", type=float, default=50, help="viewers joining per second")
    p.add_argument("--quiet-s", type=float, default=0, help="the quiet room (0: viewers/rate + 15 s)")
    p.add_argument("--spike-s", type=float, default=40)
    p.add_argument("--ramp-s", type=float, default=5)
    p.add_argument("--decay-s", type=float, default=20)
    p.add_argument(
        "--chat-every-s", type=float, default=300, help="a viewer's mean task interval (1 in 3 chats)"
    )
    p.add_argument("--sample-every", type=int, default=50, help="1 viewer in N decodes for latency")
    p.add_argument("--processes", type=int, default=-1, help="Locust worker processes (-1: one per core)")
    p.add_argument("--node-pid", default="", help="the node's pid(s) when local (else its /metrics)")
    p.add_argument("--out", type=Path, default=RESULTS / "flash", help="CSV/HTML prefix")
    return p


def run(cmd: list[str], timeout: float = 120, log: Path | None = None) -> int:
    print("$ " + " ".join(cmd), flush=True)
    if log is None:
        return subprocess.call(cmd, cwd=ROOT, timeout=timeout)
    with log.open("w") as out:
        return subprocess.call(cmd, cwd=ROOT, timeout=timeout, stdout=out, stderr=subprocess.STDOUT)


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.quiet_s = a.quiet_s or round(a.viewers / a.arrive_rate + 15)
    run_file = a.out.parent / f"{a.out.name}-run.json"
    py = sys.executable
    prepare = [
        py, "-m", "loadtests.prepare", "--base-url", a.base_url, "--host-email", a.host_email,
        "--host-password", a.host_password, "--offers", "0", "--out", str(run_file),
        "--spare-stock", str(max(10_000, a.offer_quantity * 3)),
        "--host-first-offer-s", str(a.quiet_s), "--host-offer-every-s", str(a.spike_s + a.decay_s + 60),
        "--host-offer-quantity", str(a.offer_quantity), "--viewer-chat-every-s", str(a.chat_every_s),
        "--viewer-sample-every", str(a.sample_every),
    ]  # fmt: skip
    if a.create_host:
        prepare.append("--create-host")
    if run(prepare) != 0:
        return 1
    total_s = a.quiet_s + a.spike_s + a.decay_s
    locust = [
        py, "-m", "locust", "-f", "loadtests/locustfile.py,loadtests/flash_sale.py", "--headless",
        "--processes", str(a.processes), "--host", a.base_url, "--run-file", str(run_file),
        "--room-viewers", str(a.viewers), "--peak-buyers", str(a.buyers), "--arrive-rate", str(a.arrive_rate),
        "--quiet-s", str(a.quiet_s), "--spike-s", str(a.spike_s), "--ramp-s", str(a.ramp_s),
        "--decay-s", str(a.decay_s), "--stop-timeout", "5", "--csv", str(a.out), "--csv-full-history",
        "--html", f"{a.out}.html", "--only-summary", "--loglevel", "INFO",
    ]  # fmt: skip
    if a.node_pid:
        locust += ["--node-pid", a.node_pid]
    started = time.monotonic()
    try:
        code = run(
            locust, timeout=total_s + 90, log=Path(f"{a.out}.log")
        )  # the shape ends it; this bounds it
    except subprocess.TimeoutExpired:
        code = 124
    print(
        f"locust exit {code} after {time.monotonic() - started:.0f} s (its output: {a.out}.log)", flush=True
    )
    run([py, "-m", "loadtests.summary", str(a.out)])
    audit = run([py, "-m", "loadtests.audit", "--run", str(run_file)])
    return audit or (0 if code in (0, 1) else code)  # locust exits 1 when any request failed


if __name__ == "__main__":
    raise SystemExit(main())
