"""One-screen summary of a Locust CSV report: rates, latencies, failures, and whose CPU ran out.

python -m loadtests.summary loadtests/results/run      # the --csv prefix of a run

With the run's `<prefix>_cpu.csv` (loadtests/cpu.py) it prints the load generator's CPU next to the
node's and flags a run whose generator went above `GENERATOR_LIMIT_PCT` of a core in any interval:
its latencies are the generator's backlog, not the node's.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

KEY_ROWS = (
    "reserve",
    "reserve [sold_out]",
    "checkout",
    "guest session",
    "connect",
    "join",
    "chat",
    "chat delivered",
    "recv chat",
)
GENERATOR_LIMIT_PCT = 80.0
CPU_FIELDS = [  # <prefix>_cpu.csv, written by loadtests/cpu.py during the run
    "timestamp",
    "elapsed_s",
    "users",
    "generator_max_pct",  # the busiest generator process, % of one core
    "generator_mean_pct",
    "generator_pcts",  # every process: this one first, then each worker
    "node_cores",
]


def read_rows(prefix: str) -> list[dict[str, Any]]:
    with open(f"{prefix}_stats.csv") as f:
        return list(csv.DictReader(f))


def _float(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def cpu_figures(prefix: str) -> dict[str, Any] | None:
    """Generator and node CPU over the run's samples, or None when the run kept none."""
    path = Path(f"{prefix}_cpu.csv")
    if not path.exists():
        return None
    with path.open() as f:
        samples = list(csv.DictReader(f))
    if not samples:
        return None
    generator = [float(s["generator_max_pct"]) for s in samples]
    node = [v for v in (_float(s["node_cores"]) for s in samples) if v is not None]
    over = [g for g in generator if g > GENERATOR_LIMIT_PCT]
    return {
        "samples": len(samples),
        "processes": max(len(s["generator_pcts"].split()) for s in samples),
        "generator_peak_pct": max(generator),
        "generator_total_cores": sum(sum(map(float, s["generator_pcts"].split())) for s in samples)
        / len(samples)
        / 100,
        "node_peak_cores": max(node) if node else None,
        "node_mean_cores": sum(node) / len(node) if node else None,
        "over_limit_samples": len(over),
        "generator_limited": bool(over),
    }


def summarize(prefix: str) -> dict[str, Any]:
    rows = [r for r in read_rows(prefix) if r["Name"] != "Aggregated"]
    http = [r for r in rows if r["Type"] not in ("sio", "CHECK")]
    sio = [r for r in rows if r["Type"] == "sio"]
    received = [r for r in sio if r["Name"].startswith(("recv ", "frames "))]

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
        "sio_emits_per_s": rate([r for r in sio if r not in received and r["Name"] != "chat delivered"]),
        "sio_received_per_s": rate(received),
        "failures": sum(int(r["Failure Count"]) for r in rows),
        "requests": sum(int(r["Request Count"]) for r in rows),
        "key": {
            r["Name"]: (int(r["Request Count"]), int(r["Failure Count"]), r["50%"], r["95%"], r["99%"])
            for r in rows
            if r["Name"] in KEY_ROWS
        },
        "cpu": cpu_figures(prefix),
    }


def format_cpu(cpu: dict[str, Any] | None) -> list[str]:
    if cpu is None:
        return ["CPU: no samples (run with --csv and loadtests/cpu.py loaded)"]
    node = (
        f"node {cpu['node_mean_cores']:.2f} cores mean, {cpu['node_peak_cores']:.2f} peak"
        if cpu["node_mean_cores"] is not None
        else "node CPU unknown (no process_cpu_seconds_total at /metrics; pass --node-pid)"
    )
    lines = [
        f"CPU over {cpu['samples']} samples: load generator {cpu['processes']} process(es), busiest "
        f"{cpu['generator_peak_pct']:.0f}% of a core at peak, {cpu['generator_total_cores']:.2f} cores "
        f"together on average; {node}"
    ]
    if cpu["generator_limited"]:
        lines.append(
            f"GENERATOR-LIMITED: a load generator process went above {GENERATOR_LIMIT_PCT:.0f}% of a core "
            f"in {cpu['over_limit_samples']} of {cpu['samples']} samples: these latencies are the "
            "generator's, not the node's (add --processes, or more load machines)"
        )
    return lines


def format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"peak users {s['peak_users']}   HTTP {s['http_rps']:.0f} req/s   socket.io emits "
        f"{s['sio_emits_per_s']:.0f}/s   events received {s['sio_received_per_s']:.0f}/s   "
        f"failures {s['failures']} of {s['requests']}",
        *format_cpu(s.get("cpu")),
        f"{'entry':<22} {'count':>8} {'fails':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}",
    ]
    for name, (count, fails, p50, p95, p99) in s["key"].items():
        lines.append(f"{name:<22} {count:>8} {fails:>6} {p50:>7} {p95:>7} {p99:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.summary", description=__doc__.splitlines()[0])
    parser.add_argument("prefix", help="the --csv prefix given to locust")
    print(format_summary(summarize(parser.parse_args(argv).prefix)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
