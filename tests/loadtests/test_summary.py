"""The run summary puts the load generator's CPU next to the node's and flags a generator-limited run."""

from __future__ import annotations

import csv
from pathlib import Path

from loadtests.summary import CPU_FIELDS, GENERATOR_LIMIT_PCT, format_summary, summarize

STATS = ["Type", "Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%"]


def write_run(prefix: Path, generator: list[list[float]], node: list[float | None]) -> str:
    with open(f"{prefix}_stats.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(STATS)
        w.writerow(["POST", "reserve", 100, 0, 10.0, 20, 80, 120])
        w.writerow(["sio", "chat delivered", 50, 0, 5.0, 200, 400, 900])
        w.writerow(["sio", "frames chat", 9000, 0, 900.0, 0, 0, 0])
        w.writerow(["", "Aggregated", 9150, 0, 915.0, 0, 0, 0])
    with open(f"{prefix}_cpu.csv", "w", newline="") as f:
        w = csv.DictWriter(f, CPU_FIELDS)
        w.writeheader()
        for i, (pcts, cores) in enumerate(zip(generator, node, strict=True)):
            w.writerow(
                {
                    "timestamp": 1000 + 5 * i,
                    "elapsed_s": 5 * (i + 1),
                    "users": 5000,
                    "generator_max_pct": max(pcts),
                    "generator_mean_pct": sum(pcts) / len(pcts),
                    "generator_pcts": " ".join(str(p) for p in pcts),
                    "node_cores": "" if cores is None else cores,
                }
            )
    return str(prefix)


def test_a_run_whose_generator_passed_the_limit_is_flagged_with_the_node_beside_it(tmp_path: Path) -> None:
    over = GENERATOR_LIMIT_PCT + 5
    prefix = write_run(
        tmp_path / "hot", [[3.0, 40.0, 45.0], [3.0, over, 50.0], [2.0, 60.0, 55.0]], [0.8, 1.1, 0.9]
    )
    s = summarize(prefix)
    cpu = s["cpu"]
    assert cpu["generator_limited"] and cpu["over_limit_samples"] == 1 and cpu["processes"] == 3
    assert cpu["generator_peak_pct"] == over
    assert abs(cpu["node_mean_cores"] - (0.8 + 1.1 + 0.9) / 3) < 1e-9 and cpu["node_peak_cores"] == 1.1
    text = format_summary(s)
    assert "GENERATOR-LIMITED" in text and "1 of 3 samples" in text
    assert "node 0.93 cores mean, 1.10 peak" in text


def test_a_run_under_the_limit_is_not_flagged_and_its_rows_show_p99(tmp_path: Path) -> None:
    prefix = write_run(tmp_path / "cool", [[12.0], [GENERATOR_LIMIT_PCT]], [None, 0.5])
    s = summarize(prefix)
    assert not s["cpu"]["generator_limited"] and s["cpu"]["node_mean_cores"] == 0.5
    text = format_summary(s)
    assert "GENERATOR-LIMITED" not in text
    assert s["key"]["chat delivered"] == (50, 0, "200", "400", "900")
    assert s["sio_received_per_s"] == 900.0  # counted frames are events received, not emits


def test_a_run_without_cpu_samples_says_so(tmp_path: Path) -> None:
    prefix = write_run(tmp_path / "old", [], [])
    Path(f"{prefix}_cpu.csv").unlink()
    s = summarize(prefix)
    assert s["cpu"] is None and "CPU: no samples" in format_summary(s)
