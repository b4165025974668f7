"""`liveshop bench claims`: the flash-sale rush on the reservation endpoint, against a bare baseline.

Everything is real and private to the run: a redis-server on a free loopback port, a fresh PostgreSQL
database, liveshop nodes as `python -m server serve` child processes, and wrk (a separate C process)
as the load generator, with loadtests/wrk/claims.lua giving every request a random buyer's bearer
token and a unique Idempotency-Key.

The rush: one offer of 10,000 units, per-buyer limit 1, 20,000 buyers, 200,000 attempts in all.
Phase 1 ("while stock lasts") runs until the replies say sold_out; phase 2 ("after sell-out") spends
the rest of the attempts (capped in time). The baseline is a bare aiohttp app (baseline_claims.py)
that parses the same JSON and runs one EVALSHA of the same reserve.lua per request, measured in the
same run, the same way, on a fresh offer of the same size in the same Redis.

By default both sides run as one process and as two processes sharing the port (`serve --reuse-port`),
interleaved (baseline x1, liveshop x1, baseline x2, liveshop x2) so that noise from other work on the
machine hits both. Beside req/s and latency it reports the CPU time per request of the server
processes and of redis-server, which other work on a shared machine barely moves.

Exit status: 0 if nothing was oversold (and, with --check, some liveshop run met every target), else 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402

from server.api.auth import Principal, Tokens  # noqa: E402
from server.db.base import new_id  # noqa: E402
from server.inventory.keys import offer_keys  # noqa: E402
from server.inventory.scripts import source  # noqa: E402
from tests.services import (  # noqa: E402
    TEST_SECRET,
    PostgresDatabase,
    RedisServer,
    ServerProcess,
    free_port,
    server_env,
    wait_port,
)

LUA = ROOT / "loadtests" / "wrk" / "claims.lua"
HOST_EMAIL = "bench-host@example.com"
HOST_PASSWORD = "bench-password-1"

TARGETS = {"stock": 1.5, "soldout": 3.0}
P99_LIMIT_MS = 100.0


@dataclass
class Phase:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    codes: dict[str, int]
    errors: dict[str, int]
    app_cpu_s: float = 0.0  # CPU time the server's processes used during the phase
    redis_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def app_us(self) -> float:
        """Server CPU per request: unlike req/s, barely moved by other work on a shared machine."""
        return self.app_cpu_s / self.requests * 1e6 if self.requests else 0.0

    @property
    def redis_us(self) -> float:
        return self.redis_cpu_s / self.requests * 1e6 if self.requests else 0.0

    @property
    def cpu_us(self) -> float:
        return self.app_us + self.redis_us


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


@dataclass
class Run:
    name: str
    phases: dict[str, Phase] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------- wrk
def run_wrk(
    base: str,
    path: str,
    tokens_file: Path,
    *,
    connections: int,
    threads: int,
    cap_s: float,
    stop_on: str = "",
    quota: int = 0,
    label: str,
    pids: list[int],
    redis_pids: list[int],
) -> Phase:
    """One wrk run, ended as soon as every wrk thread met its stop condition (or at cap_s)."""
    marks = Path(tempfile.mkdtemp(prefix="liveshop-wrk-"))
    env = dict(os.environ)
    env.update(
        CLAIMS_TOKENS=str(tokens_file),
        CLAIMS_PATH=path,
        CLAIMS_QUOTA=str(quota),
        CLAIMS_STOP_ON=stop_on,
        CLAIMS_MARKS=str(marks),
        CLAIMS_RUN=label,
    )
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{math.ceil(cap_s)}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base,
    ]
    app_cpu, redis_cpu = cpu_seconds(pids), cpu_seconds(redis_pids)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while proc.poll() is None:
            if len(os.listdir(marks)) >= threads:
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.005)
        out, err = proc.communicate(timeout=30)
        app_cpu, redis_cpu = cpu_seconds(pids) - app_cpu, cpu_seconds(redis_pids) - redis_cpu
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(marks, ignore_errors=True)
    line = next((ln for ln in out.splitlines() if ln.startswith("CLAIMS_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures:\n{out}\n{err}")
    data = json.loads(line.split(" ", 1)[1])
    return Phase(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        codes=data["codes"],
        errors={k: v for k, v in data["errors"].items() if v},
        app_cpu_s=app_cpu,
        redis_cpu_s=redis_cpu,
    )


def rush(
    base: str, path: str, tokens_file: Path, cfg: argparse.Namespace, label: str, pids: list[int]
) -> dict[str, Phase]:
    """Phase 1 until sold out, then the remaining attempts (bounded in time) after sell-out."""
    stock = run_wrk(
        base,
        path,
        tokens_file,
        connections=cfg.connections,
        threads=cfg.threads,
        cap_s=cfg.phase_cap_s,
        stop_on="sold_out",
        label=label + "-p1",
        pids=pids,
        redis_pids=cfg.redis_pids,
    )
    left = max(cfg.attempts - stock.requests, cfg.threads)
    soldout = run_wrk(
        base,
        path,
        tokens_file,
        connections=cfg.connections,
        threads=cfg.threads,
        cap_s=cfg.phase_cap_s,
        quota=math.ceil(left / cfg.threads),
        label=label + "-p2",
        pids=pids,
        redis_pids=cfg.redis_pids,
    )
    return {"stock": stock, "soldout": soldout}


# ------------------------------------------------------------------------------------ HTTP setup
def call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def create_offer(base: str, host_token: str, units: int) -> str:
    sku = "BENCH-" + uuid.uuid4().hex[:8].upper()
    product = call(
        base,
        "POST",
        "/api/v1/products",
        {"sku": sku, "title": "Bench tee", "price": 1999, "currency": "USD", "stock": units},
        host_token,
    )
    broadcast = call(base, "POST", "/api/v1/broadcasts", {"title": "Bench rush"}, host_token)
    offer = call(
        base,
        "POST",
        f"/api/v1/broadcasts/{broadcast['id']}/offers",
        {
            "product_id": product["id"],
            "price": 999,
            "quantity": units,
            "per_buyer_limit": 1,
            "duration_s": 3600,
        },
        host_token,
    )
    return str(offer["id"])


def issue_tokens(count: int, nickname: str = "buyer") -> list[str]:
    """Guest tokens signed with the nodes' secret, as POST /auth/guest would issue them. Neither claims
    nor bids read the users table, so no rows are inserted."""
    signer = Tokens(TEST_SECRET)
    return [signer.issue(Principal(new_id("us"), "viewer", f"{nickname}{i}")) for i in range(count)]


def write_tokens(buyers: int, folder: Path) -> Path:
    """issue_tokens' tokens in a file, one a line, for wrk's script."""
    path = folder / "tokens.txt"
    path.write_text("\n".join(issue_tokens(buyers)) + "\n")
    return path


def create_bench_host(env: dict[str, str]) -> None:
    """The bench's host account (HOST_EMAIL), made with the CLI the way ops would."""
    cmd = [sys.executable, "-m", "server", "create-host", "--email", HOST_EMAIL, "--password", HOST_PASSWORD]
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)


def bench_env(pg_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """A bench node's environment: no background worker; asyncio's loop, on which the recorded
    figures were measured (LIVESHOP_BENCH_EVENT_LOOP=uvloop measures the serve default)."""
    loop = os.environ.get("LIVESHOP_BENCH_EVENT_LOOP", "asyncio")
    return server_env(pg_url, redis_url, LIVESHOP_RUN_WORKER="false", LIVESHOP_EVENT_LOOP=loop, **extra)


@contextmanager
def private_services(pg: Any = None) -> Iterator[tuple[RedisServer, Any]]:
    """A redis-server on a free loopback port and a fresh PostgreSQL database, gone afterwards."""
    redis_server = RedisServer()
    pg = pg if pg is not None else PostgresDatabase()
    redis_server.start()
    pg.create()
    try:
        yield redis_server, pg
    finally:
        redis_server.stop()
        pg.drop()


def start_children(cmd: list[str], port: int, procs: int = 1) -> list[subprocess.Popen[bytes]]:
    """`procs` copies of a baseline app on one port (--reuse-port for more than one), logging to a
    temporary file; each is up before the next starts."""
    log = tempfile.NamedTemporaryFile(prefix="liveshop-baseline-", suffix=".log", delete=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = []
    for _ in range(procs):
        children.append(subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env))
        wait_port(port, 20)
    return children


def stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        child.terminate()
        child.wait(10)


# ---------------------------------------------------------------------------------------- audits
def audit_redis(redis: Any, offer_id: str, quantity: int, ok_replies: int) -> dict[str, Any]:
    """Oversell checks straight from the counters: units add up, one unit per buyer, holds = units."""
    state_key, holds_key = offer_keys(offer_id)[:2]
    state = {k.decode(): v.decode() for k, v in redis.hgetall(state_key).items()}
    available, held, sold = int(state["available"]), int(state["held"]), int(state["sold"])
    holds = redis.hvals(holds_key)
    per_buyer: dict[str, int] = {}
    for h in holds:
        buyer, qty, _, _ = h.decode().rsplit("|", 3)
        per_buyer[buyer] = per_buyer.get(buyer, 0) + int(qty)
    units_in_holds = sum(per_buyer.values())
    over_limit = sum(1 for v in per_buyer.values() if v > 1)
    oversold = max(held + sold - quantity, 0) + max(units_in_holds - quantity, 0)
    problems = []
    if available + held + sold != quantity:
        problems.append(f"available+held+sold = {available + held + sold} != {quantity}")
    if units_in_holds != held:
        problems.append(f"units in holds {units_in_holds} != held {held}")
    if over_limit:
        problems.append(f"{over_limit} buyers above the per-buyer limit")
    if ok_replies > held:
        problems.append(f"{ok_replies} successful replies but only {held} units held")
    if oversold:
        problems.append(f"oversold by {oversold}")
    return {
        "available": available,
        "held": held,
        "sold": sold,
        "buyers": len(per_buyer),
        "ok_replies": ok_replies,
        "oversold": oversold,
        "problems": problems,
    }


def merge_audits(audits: list[dict[str, Any]], ok_replies: int) -> dict[str, Any]:
    """One audit over several offers: counts add up; every offer's problems are kept."""
    total: dict[str, Any] = {k: sum(a[k] for a in audits) for k in ("available", "held", "sold", "oversold")}
    total["buyers"] = sum(a["buyers"] for a in audits)
    total["ok_replies"] = ok_replies
    total["problems"] = [p for a in audits for p in a["problems"]]
    if ok_replies > total["held"]:
        total["problems"].append(f"{ok_replies} successful replies but only {total['held']} units held")
    return total


def liveshop_audit(env: dict[str, str], offer_ids: list[str]) -> tuple[bool, str]:
    """`liveshop audit --offer ID ...` (Redis against PostgreSQL): exit 0 means every invariant holds."""
    proc = subprocess.run(
        [sys.executable, "-m", "server", "audit", *[a for o in offer_ids for a in ("--offer", o)]],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode == 0, proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr


# ------------------------------------------------------------------------------------------ runs
def start_profile(cfg: argparse.Namespace, name: str, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy on one server process (--profile DIR): raw stacks, for flame graphs or counting."""
    if not cfg.profile or not pid:
        return None
    out = f"{cfg.profile}/{name}.txt"
    cmd = ["py-spy", "record", "--format", "raw", "--rate", "250", "--nonblocking", "-o", out]
    return subprocess.Popen([*cmd, "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profile(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def run_liveshop(
    procs: int,
    env: dict[str, str],
    host_token_holder: dict[str, str],
    redis: Any,
    tokens_file: Path,
    cfg: argparse.Namespace,
    label: str = "",
) -> Run:
    """liveshop nodes on `env`'s Redis; the rush spreads over cfg.offers offers of units/offers each."""
    port = free_port()
    extra = ("--reuse-port",) if procs > 1 else ()
    nodes = []
    try:
        for _ in range(procs):
            node = ServerProcess(env, extra)
            node.port = port
            node.start()
            nodes.append(node)
        base = nodes[0].url
        if "token" not in host_token_holder:
            login = call(base, "POST", "/api/v1/auth/login", {"email": HOST_EMAIL, "password": HOST_PASSWORD})
            host_token_holder["token"] = login["token"]
        per_offer = cfg.units // cfg.offers
        offer_ids = [create_offer(base, host_token_holder["token"], per_offer) for _ in range(cfg.offers)]
        run = Run(f"liveshop x{procs}" + (f" {label}" if label else ""))
        spy = start_profile(cfg, f"liveshop-x{procs}", nodes[0].proc.pid if nodes[0].proc else 0)
        try:
            run.phases = rush(
                base,
                ",".join(f"/api/v1/offers/{o}/reservations" for o in offer_ids),
                tokens_file,
                cfg,
                f"ls{procs}{label}",
                [n.proc.pid for n in nodes if n.proc is not None],
            )
        finally:
            stop_profile(spy)
        ok = sum(p.codes.get("ok", 0) for p in run.phases.values())
        audits = [audit_redis(redis, o, per_offer, 0) for o in offer_ids]
        run.audit = merge_audits(audits, ok)
        views = [call(base, "GET", f"/api/v1/offers/{o}") for o in offer_ids]
        run.audit["api"] = {k: sum(int(v.get(k) or 0) for v in views) for k in ("available", "held", "sold")}
        passed, line = liveshop_audit(env, offer_ids)
        run.audit["liveshop_audit"] = line
        if not passed:
            run.audit["problems"].append(f"liveshop audit failed: {line}")
        return run
    finally:
        for node in nodes:
            node.stop()


def run_baseline(
    redis_url: str, redis: Redis, tokens_file: Path, cfg: argparse.Namespace, procs: int, floor: bool = False
) -> Run:
    """The bare app on a fresh offer of the same size, in `procs` processes sharing the port. With
    `floor`, the app answers sold_out without Redis: only phase 2 is run (there is no stock)."""
    offer_id = new_id("of")
    keys = offer_keys(offer_id)
    ends_at = int(time.time() * 1000) + 3600 * 1000
    now = int(time.time() * 1000)
    redis.register_script(source("load"))(keys=keys, args=[now, cfg.units, 0, 1, "active", ends_at, 0])
    port = free_port()
    cmd = [sys.executable, "-m", "loadtests.baseline_claims", "--port", str(port), "--redis-url", redis_url]
    cmd += ["--offer", offer_id] + (["--reuse-port"] if procs > 1 else []) + (["--floor"] if floor else [])
    children: list[subprocess.Popen[bytes]] = []
    spy = None
    try:
        children = start_children(cmd, port, procs)
        base = f"http://127.0.0.1:{port}"
        name = f"aiohttp-floor-x{procs}" if floor else f"baseline-x{procs}"
        spy = start_profile(cfg, name, children[0].pid)
        if floor:
            run = Run(f"aiohttp floor x{procs}")
            run.phases["soldout"] = run_wrk(
                base,
                f"/api/v1/offers/{offer_id}/reservations",
                tokens_file,
                connections=cfg.connections,
                threads=cfg.threads,
                cap_s=cfg.phase_cap_s,
                quota=math.ceil(cfg.attempts * 0.93 / cfg.threads),
                label="floor",
                pids=[c.pid for c in children],
                redis_pids=cfg.redis_pids,
            )
            return run
        run = Run(f"baseline x{procs}")
        run.phases = rush(
            base,
            f"/api/v1/offers/{offer_id}/reservations",
            tokens_file,
            cfg,
            f"bl{procs}",
            [c.pid for c in children],
        )
        ok = sum(p.codes.get("ok", 0) for p in run.phases.values())
        run.audit = audit_redis(redis, offer_id, cfg.units, ok)
        return run
    finally:
        stop_profile(spy)
        stop_children(children)


# ---------------------------------------------------------------------------------------- report
def report(runs: list[Run], baselines: list[Run], cfg: argparse.Namespace, floor: Run | None = None) -> bool:
    """The table (each liveshop run against each baseline, phase by phase) and the audits."""
    names = {"stock": "while stock lasts", "soldout": "after sell-out"}
    print()
    print(
        f"claims rush: {cfg.units} units, limit 1/buyer, {cfg.buyers} buyers, {cfg.attempts} attempts, "
        f"{cfg.connections} connections, wrk -t{cfg.threads}"
    )
    versus = "".join(f" {'vs ' + b.name:>17}" for b in baselines)
    head = (
        f"{'phase':<18} {'server':<16} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'cpu us/req':>10} "
        f"{'redis us':>8}{versus}  replies"
    )
    print(head)
    print("-" * len(head))
    verdicts: dict[str, list[str]] = {run.name: [] for run in runs}
    for key in ("stock", "soldout"):
        for run in [*runs, *baselines]:
            p = run.phases[key]
            cells = ""
            for b in baselines:
                ratio = p.rps / b.phases[key].rps if b.phases[key].rps else 0.0
                cells += f" {'' if run in baselines else f'{ratio:.2f}x':>17}"
            if run in runs:
                base_rps = baselines[0].phases[key].rps
                if p.rps < TARGETS[key] * base_rps:
                    verdicts[run.name].append(f"{names[key]} {p.rps / base_rps:.2f}x < {TARGETS[key]}x")
                if p.p99_ms >= P99_LIMIT_MS:
                    verdicts[run.name].append(f"{names[key]} p99 {p.p99_ms:.0f} ms")
            codes = " ".join(f"{k}={v}" for k, v in sorted(p.codes.items()))
            errs = (" errors " + str(p.errors)) if p.errors else ""
            print(
                f"{names[key]:<18} {run.name:<16} {p.rps:>7.0f} {p.p50_ms:>7.1f} {p.p99_ms:>7.1f} "
                f"{p.app_us:>10.0f} {p.redis_us:>8.0f}{cells}  "
                f"{codes}{errs} ({p.seconds:.1f}s)"
            )
    if floor is not None:
        p = floor.phases["soldout"]
        print(
            f"{'(no stock, no Redis)':<18} {floor.name:<16} {p.rps:>7.0f} {p.p50_ms:>7.1f} {p.p99_ms:>7.1f} "
            f"{p.app_us:>10.0f} {p.redis_us:>8.0f}  (the cost of aiohttp alone: a constant reply)"
        )
    print(
        "\nCPU per request, server processes + redis-server, in microseconds (what req/s would follow on"
        " cores of their own;\nreq/s above depends on what else the machine was doing):"
    )
    for key in ("stock", "soldout"):
        cells = []
        for run in [*runs, *baselines]:
            p = run.phases[key]
            cells.append(f"{run.name} {p.cpu_us:.0f}")
        base = baselines[0].phases[key]
        ratios = ", ".join(
            f"{run.name} {base.cpu_us / run.phases[key].cpu_us:.2f}x"
            for run in runs
            if run.phases[key].cpu_us
        )
        print(f"  {names[key]:<18} {'; '.join(cells)}  ->  {baselines[0].name} / liveshop: {ratios}")
    print()
    clean = True
    for run in [*runs, *baselines]:
        a = run.audit
        total = sum(p.requests for p in run.phases.values())
        print(
            f"audit {run.name:<16} attempts={total} held={a['held']} sold={a['sold']} "
            f"available={a['available']} buyers={a['buyers']} ok_replies={a['ok_replies']} "
            f"oversold={a['oversold']} {'; '.join(a['problems']) or 'OK'}"
            + (f"  [api {a['api']}; {a['liveshop_audit']}]" if "api" in a else "")
        )
        clean = clean and not a["problems"]
    print(
        f"\ntargets against {baselines[0].name}: >= {TARGETS['stock']}x while stock lasts, "
        f">= {TARGETS['soldout']}x after sell-out, p99 < {P99_LIMIT_MS:.0f} ms; oversell: "
        f"{'none' if clean else 'FOUND'}"
    )
    for name, missed in verdicts.items():
        print(f"  {name:<12} {'all targets met' if not missed else 'missed: ' + '; '.join(missed)}")
    met = any(not missed for missed in verdicts.values())
    return clean and (met or not cfg.check)


def compare_cluster(
    cfg: argparse.Namespace, env: dict[str, str], host: dict[str, str], redis: Redis, tokens_file: Path
) -> int:
    """The same rush over cfg.offers offers on one Redis and on a Redis Cluster of three masters on
    loopback, interleaved per process count: claims/s and CPU per claim side by side."""
    import redis as redis_lib

    from tests.topologies import ClusterSet

    cluster = ClusterSet(masters=3)
    single_pids = list(cfg.redis_pids)
    client = redis_lib.RedisCluster(host="127.0.0.1", port=cluster.nodes[0].port)
    try:
        cluster_env = {**env, "LIVESHOP_REDIS_URL": cluster.url}
        pairs = []
        for procs in cfg.procs:
            cfg.redis_pids = single_pids
            one = run_liveshop(procs, env, host, redis, tokens_file, cfg, "1 Redis")
            cfg.redis_pids = [n.proc.pid for n in cluster.nodes if n.proc is not None]
            sharded = run_liveshop(procs, cluster_env, host, client, tokens_file, cfg, "3 shards")
            pairs.append((one, sharded))
    finally:
        client.close()
        cluster.stop()
    names = {"stock": "while stock lasts", "soldout": "after sell-out"}
    print(
        f"\nclaims rush over {cfg.offers} offers ({cfg.units // cfg.offers} units each, limit 1/buyer), "
        f"{cfg.buyers} buyers, {cfg.attempts} attempts, {cfg.connections} connections: one Redis "
        "against a Redis Cluster of 3 masters (all on this machine's loopback)"
    )
    head = (
        f"{'phase':<18} {'server':<22} {'claims/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'app us':>7} "
        f"{'redis us':>8} {'cpu us/claim':>12} {'vs 1 Redis':>10}"
    )
    print(head)
    print("-" * len(head))
    for key in ("stock", "soldout"):
        for one, sharded in pairs:
            for run in (one, sharded):
                p = run.phases[key]
                ratio = p.rps / one.phases[key].rps if one.phases[key].rps else 0.0
                print(
                    f"{names[key]:<18} {run.name:<22} {p.rps:>8.0f} {p.p50_ms:>7.1f} {p.p99_ms:>7.1f} "
                    f"{p.app_us:>7.0f} {p.redis_us:>8.0f} {p.cpu_us:>12.0f} "
                    f"{'' if run is one else f'{ratio:.2f}x':>10}"
                )
    clean = True
    for run in [r for pair in pairs for r in pair]:
        a = run.audit
        print(
            f"audit {run.name:<22} held={a['held']} sold={a['sold']} available={a['available']} "
            f"ok_replies={a['ok_replies']} oversold={a['oversold']} {'; '.join(a['problems']) or 'OK'} "
            f"[{a['liveshop_audit']}]"
        )
        clean = clean and not a["problems"]
    print(f"oversell: {'none' if clean else 'FOUND'}")
    return 0 if clean else 1


class PrivateDatabase:
    """PrivatePostgres with PostgresDatabase's create/drop face."""

    def __init__(self) -> None:
        from tests.topologies import PrivatePostgres

        self.server = PrivatePostgres()
        self.url = self.server.url

    def create(self) -> None:
        self.server.start()

    def drop(self) -> None:
        self.server.destroy()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="liveshop bench claims", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2,000 units, 20,000 attempts")
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--buyers", type=int, default=20_000)
    parser.add_argument("--attempts", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--procs", default="1,2", help="liveshop node processes (--reuse-port) of each run, e.g. 1,2"
    )
    parser.add_argument(
        "--baselines",
        default="1,2",
        help="baseline processes of each baseline run, e.g. 1,2; the targets are checked against the first",
    )
    parser.add_argument("--phase-cap-s", type=float, default=30.0, help="time cap of each phase")
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip aiohttp's floor (a constant reply, no Redis: the ceiling for any aiohttp node)",
    )
    parser.add_argument("--profile", help="folder for py-spy profiles of the first node (raw stacks)")
    parser.add_argument(
        "--redis",
        choices=("single", "cluster"),
        default="single",
        help="cluster: the same rush on one Redis and on a three-shard Redis Cluster, in the same run",
    )
    parser.add_argument(
        "--offers",
        type=int,
        default=0,
        help="offers the rush spreads over (default 1; 3 with --redis cluster)",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 unless some liveshop run met every target"
    )
    cfg = parser.parse_args(argv)
    if cfg.quick:
        cfg.units, cfg.buyers, cfg.attempts, cfg.phase_cap_s = 2_000, 4_000, 20_000, 10.0
    cfg.offers = cfg.offers or (3 if cfg.redis == "cluster" else 1)
    cfg.procs = [int(p) for p in str(cfg.procs).split(",")]
    cfg.baselines = [int(b) for b in str(cfg.baselines).split(",")]
    return cfg


def main(argv: list[str] | None = None) -> int:
    cfg = parse(list(argv or []))
    if shutil.which("wrk") is None:
        print("liveshop bench claims: needs wrk (scripts/install-test-deps.sh installs it)", file=sys.stderr)
        return 1
    # The cluster comparison starts more processes; a PostgreSQL instance of its own keeps its pools off
    # a shared server (the claim path itself never touches PostgreSQL).
    folder = Path(tempfile.mkdtemp(prefix="liveshop-bench-"))
    with private_services(PrivateDatabase() if cfg.redis == "cluster" else None) as (redis_server, pg):
        try:
            redis = Redis.from_url(redis_server.url)
            assert redis_server.proc is not None
            cfg.redis_pids = [redis_server.proc.pid]
            env = bench_env(pg.url, redis_server.url, LIVESHOP_HOLD_SECONDS="3600")
            create_bench_host(env)
            tokens_file = write_tokens(cfg.buyers, folder)
            host: dict[str, str] = {}
            if cfg.redis == "cluster":
                return compare_cluster(cfg, env, host, redis, tokens_file)
            runs, baselines = [], []
            # Interleaved, so a burst of noise from other work on the machine hits both sides.
            for i in range(max(len(cfg.procs), len(cfg.baselines))):
                if i < len(cfg.baselines):
                    baselines.append(
                        run_baseline(redis_server.url, redis, tokens_file, cfg, cfg.baselines[i])
                    )
                if i < len(cfg.procs):
                    runs.append(run_liveshop(cfg.procs[i], env, host, redis, tokens_file, cfg))
            floor = (
                run_baseline(redis_server.url, redis, tokens_file, cfg, 1, floor=True) if cfg.floor else None
            )
            ok = report(runs, baselines, cfg, floor)
            redis.close()
            return 0 if ok else 1
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
