"""One-screen summary of a Locust CSV report: HTTP requests/s, socket.io events/s, latencies, failures.

python -m loadtests.summary loadtests/results/run      # the --csv prefix of a run
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

KEY_ROWS = ("reserve", "reserve [sold_out]", "checkout", "guest session", "join", "chat", "chat delivered")


def read_rows(prefix: str) -> list[dict[str, Any]]:
    with open(f"{prefix}_stats.csv") as f:
        return list(csv.DictReader(f))


def summarize(prefix: str) -> dict[str, Any]:
    rows = [r for r in read_rows(prefix) if r["Name"] != "Aggregated"]
    http = [r for r in rows if r["Type"] not in ("sio", "CHECK")]
    sio = [r for r in rows if r["Type"] == "sio"]
    received = [r for r in sio if r["Name"].startswith("recv ") or r["Name"] == "chat delivered"]

    def rate(group: list[dict[str, Any]]) -> float:
        return sum(float(r["Requests/s"]) for r in group)

    history = Path(f"{prefix}_stats_history.csv")
    peak_users = 0
    if history.exists():
        with history.open() as f:
            peak_users = max((int(r["User Count"]) for r in csv.DictReader(f)), default=0)
    return {
        "peak_users": peak_users,
        "http_rps": rate(http),
        "sio_emits_per_s": rate([r for r in sio if r not in received]),
        "sio_received_per_s": rate(received),
        "failures": sum(int(r["Failure Count"]) for r in rows),
        "requests": sum(int(r["Request Count"]) for r in rows),
        "key": {
            r["Name"]: (int(r["Request Count"]), r["50%"], r["95%"]) for r in rows if r["Name"] in KEY_ROWS
        },
    }


def format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"peak users {s['peak_users']}   HTTP {s['http_rps']:.0f} req/s   socket.io emits "
        f"{s['sio_emits_per_s']:.0f}/s   events received {s['sio_received_per_s']:.0f}/s   "
        f"failures {s['failures']} of {s['requests']}",
        f"{'entry':<22} {'count':>7} {'p50 ms':>7} {'p95 ms':>7}",
    ]
    for name, (count, p50, p95) in s["key"].items():
        lines.append(f"{name:<22} {count:>7} {p50:>7} {p95:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.summary", description=__doc__.splitlines()[0])
    parser.add_argument("prefix", help="the --csv prefix given to locust")
    print(format_summary(summarize(parser.parse_args(argv).prefix)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
