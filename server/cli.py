"""liveshop serve | migrate | seed | create-host | audit | worker | mirror | bench."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from server.config import Settings, describe


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"  {line}" for line in describe(exc)]
        raise SystemExit("liveshop: invalid configuration\n" + "\n".join(lines)) from None


async def _with_services(settings: Settings, work: Callable[..., Awaitable[Any]]) -> Any:
    """Runs `work(sessionmaker, inventory)` with the database migrated and the engine wired."""
    from server.services import open_services

    async with open_services(settings) as services:
        return await work(services.db, services.inventory)


def run_with_services(work: Callable[..., Awaitable[Any]]) -> Any:
    """A CLI command's body, over the services of the configured environment."""
    return asyncio.run(_with_services(load_settings(), work))


async def _freeze_startup_heap(_app: object) -> None:
    """What is alive once the node has started (modules, models, the app) lives as long as the
    process: move it out of the garbage collector's reach, so a full collection during a rush scans
    only the young objects (a few ms) instead of the whole heap (~70 ms, a p99 spike)."""
    gc.collect()
    gc.freeze()


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from server.app import build_app

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = load_settings().model_copy(update=overrides)
    configure_logging(settings.log_level)
    app = build_app(settings)
    app.on_startup.append(_freeze_startup_heap)
    if args.demo:
        from server.api.context import DB
        from server.demo import seed
        from server.payments.demo import sandbox_url, wire_demo_payments

        wire_demo_payments(app, settings.base_url)

        async def seed_demo(app: web.Application) -> None:
            login = await seed(app[DB])
            base = settings.base_url
            print("\n  liveshop demo is live", flush=True)
            print(f"  host console  {base}/console   login {login['email']} / {login['password']}")
            print(f"  watch page    {base}/watch/{login['broadcast_id']}")
            print(f"  API contract  {base}/api/v1/openapi.json", flush=True)
            if stripe_sandbox := sandbox_url(app):
                print(
                    f"  payments      Stripe sandbox {stripe_sandbox} (test card 4242 4242 4242 4242)",
                    flush=True,
                )
            print(flush=True)

        app.on_startup.append(seed_demo)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        reuse_port=args.reuse_port,
        access_log=None,
        shutdown_timeout=5,
        backlog=settings.listen_backlog,
        loop=_new_loop(settings.event_loop),
    )
    return 0


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    """uvloop by default: a room's fan-out is one socket write per viewer per tick, which uvloop does
    in C at a fraction of asyncio's cost (docs/PERFORMANCE.md "## live"). LIVESHOP_EVENT_LOOP=asyncio
    keeps the standard loop (the claims benchmark measured both; see "## Claims")."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            return asyncio.new_event_loop()
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level)

    async def noop(*_: Any) -> None:
        print("database migrated to the newest schema")

    asyncio.run(_with_services(settings, noop))
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from server.demo import seed

    settings = load_settings()

    async def work(sessionmaker: Any, _inventory: Any) -> dict[str, str]:
        return await seed(sessionmaker)

    login = asyncio.run(_with_services(settings, work))
    print(f"demo host {login['email']} / {login['password']}; broadcast {login['broadcast_id']}")
    return 0


def cmd_create_host(args: argparse.Namespace) -> int:
    from server.api.auth import create_host
    from server.errors import DomainError

    settings = load_settings()

    async def work(sessionmaker: Any, _inventory: Any) -> Any:
        return await create_host(sessionmaker, args.email, args.password, args.nickname)

    try:
        user = asyncio.run(_with_services(settings, work))
    except DomainError as exc:
        print(f"liveshop: {exc.detail}", file=sys.stderr)
        return 1
    print(f"host {user.email} created (id {user.id})")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from server.inventory.audit import format_report, run_audit

    settings = load_settings()

    async def work(sessionmaker: Any, inventory: Any) -> Any:
        from server.payments.audit import money_check

        return await run_audit(sessionmaker, inventory, args.offer or None, [money_check])

    report = asyncio.run(_with_services(settings, work))
    if args.json:
        import orjson

        print(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        print(format_report(report))
    return 0 if report.ok else 2


def cmd_worker(args: argparse.Namespace) -> int:
    from server import mirror
    from server.services import open_services

    settings = load_settings()
    configure_logging(settings.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        async with open_services(settings) as services:
            await mirror.run_worker(settings.mirror, services.db, services.inventory, stop)

    asyncio.run(run())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    # The benchmarks live in the checkout's loadtests/, beside the package: the console script's
    # sys.path starts at .venv/bin, so put the checkout (and the working folder) on it.
    for folder in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (folder / "loadtests" / "__init__.py").is_file() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(f"loadtests.bench_{args.what}")
    except ModuleNotFoundError as exc:
        if exc.name not in ("loadtests", f"loadtests.bench_{args.what}"):
            raise  # a benchmark's own dependency is missing: say which
        print(f"liveshop: no benchmark named {args.what!r} (run from the project folder)", file=sys.stderr)
        return 1
    return int(module.main(args.rest) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveshop", description="Live-shopping streaming server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a node")
    serve.add_argument("--demo", action="store_true", help="seed a demo shop and print its login")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--reuse-port", action="store_true", help="let several processes share the port")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="add the demo shop").set_defaults(func=cmd_seed)
    ch = sub.add_parser("create-host", help="make a host account")
    ch.add_argument("--email", required=True)
    ch.add_argument("--password", required=True)
    ch.add_argument("--nickname")
    ch.set_defaults(func=cmd_create_host)
    audit = sub.add_parser("audit", help="check every inventory invariant; exit 2 on a violation")
    audit.add_argument("--offer", action="append", help="only these offers")
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(func=cmd_audit)
    sub.add_parser("worker", help="run the mirror delivery worker").set_defaults(func=cmd_worker)
    from server.mirror.cli import add_parser as add_mirror

    add_mirror(sub, run_with_services)
    bench = sub.add_parser("bench", help="run a benchmark: claims | chat | media | checkout")
    bench.add_argument("what")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
