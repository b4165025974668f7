"""The load generator's CPU next to the node's, sampled through a run into `<csv prefix>_cpu.csv`.

A generator that ran out of CPU measures its own backlog, not the node (its timers fire late, its
reads queue up): `python -m loadtests.summary` flags such a run. Generator: psutil's figure for each
Locust process over each interval (the local one, or the master's and each worker's, which a worker
sends its master as a Locust message); Locust's own "CPU usage above 90%" warning averages 10 s.
Node: `process_cpu_seconds_total` from the node's `/metrics` (one process: behind a load balancer,
whichever answered), or psutil for `--node-pid` when the node runs on this machine (several pids are
summed: a node of several processes).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import gevent
import psutil
import requests
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from prometheus_client.parser import text_string_to_metric_families

from loadtests.summary import CPU_FIELDS

NODE_METRIC = "process_cpu_seconds"  # the family name of process_cpu_seconds_total
CPU_MESSAGE = "liveshop_cpu"  # worker -> master: its CPU percent over the last interval

_sampler: gevent.Greenlet | None = None
_workers: dict[str, float] = {}  # worker id -> its last CPU percent


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--node-pid", default="", help="the node's pid(s), comma-separated (a local node)")
    parser.add_argument("--node-metrics-url", default="", help="the node's /metrics (default: HOST/metrics)")
    parser.add_argument("--cpu-every-s", type=float, default=5.0, help="CPU sample interval")


class NodeCpu:
    """CPU seconds the node has used so far, from psutil (local pids) or its /metrics."""

    def __init__(self, pids: list[int], metrics_url: str) -> None:
        self.procs = [psutil.Process(pid) for pid in pids]
        self.metrics_url = metrics_url
        self.source = "psutil" if self.procs else "metrics"

    def seconds(self) -> float | None:
        if self.procs:
            total = 0.0
            for proc in self.procs:
                times = proc.cpu_times()
                total += times.user + times.system
            return total
        try:
            text = requests.get(self.metrics_url, timeout=5).text
        except requests.RequestException:
            return None
        for family in text_string_to_metric_families(text):
            if family.name == NODE_METRIC and family.samples:
                return float(family.samples[0].value)
        return None


def sample_forever(environment: Environment, path: Path, node: NodeCpu, every_s: float) -> None:
    own = psutil.Process()
    own.cpu_percent()  # the first call starts the interval
    started = time.monotonic()
    last = (time.monotonic(), node.seconds())
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, CPU_FIELDS)
        writer.writeheader()
        while True:
            gevent.sleep(every_s)
            now, used = time.monotonic(), node.seconds()
            cores = (used - last[1]) / (now - last[0]) if used is not None and last[1] is not None else None
            last = (now, used)
            pcts = [own.cpu_percent(), *_workers.values()]  # this process, then each worker
            runner = environment.runner
            writer.writerow(
                {
                    "timestamp": round(time.time(), 1),
                    "elapsed_s": round(now - started, 1),
                    "users": runner.user_count if runner is not None else 0,
                    "generator_max_pct": round(max(pcts, default=0.0), 1),
                    "generator_mean_pct": round(sum(pcts) / len(pcts), 1) if pcts else 0.0,
                    "generator_pcts": " ".join(f"{p:.1f}" for p in pcts),
                    "node_cores": "" if cores is None else round(cores, 3),
                }
            )
            out.flush()


def report_forever(environment: Environment, every_s: float) -> None:
    """A worker's own CPU, sent to its master each interval."""
    own = psutil.Process()
    own.cpu_percent()
    wait = min(1.0, every_s)  # the first report soon: the master's first sample counts this worker
    while True:
        gevent.sleep(wait)
        wait = every_s
        if environment.runner is not None:
            environment.runner.send_message(CPU_MESSAGE, own.cpu_percent())


def _on_worker_cpu(msg: Any, **_: Any) -> None:
    _workers[msg.node_id] = float(msg.data)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    runner, options = environment.runner, environment.parsed_options
    if isinstance(runner, WorkerRunner) and options is not None:
        gevent.spawn(report_forever, environment, options.cpu_every_s)
    elif isinstance(runner, MasterRunner):
        runner.register_message(CPU_MESSAGE, _on_worker_cpu)


@events.test_start.add_listener
def _on_start(environment: Environment, **_: Any) -> None:
    global _sampler
    options = environment.parsed_options
    prefix = getattr(options, "csv_prefix", None) if options is not None else None
    if not prefix or isinstance(environment.runner, WorkerRunner) or _sampler is not None:
        return
    pids = [int(p) for p in str(options.node_pid).split(",") if p.strip()]
    url = options.node_metrics_url or f"{(environment.host or '').rstrip('/')}/metrics"
    node = NodeCpu(pids, url)
    _sampler = gevent.spawn(sample_forever, environment, Path(f"{prefix}_cpu.csv"), node, options.cpu_every_s)


@events.quitting.add_listener
def _on_quit(environment: Environment, **_: Any) -> None:
    global _sampler
    if _sampler is not None:
        _sampler.kill(block=True, timeout=2)
        _sampler = None
