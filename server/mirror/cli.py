"""`liveshop mirror status | replay | sandboxes`.

The wiring (server/cli.py) hands in `run`: it runs `work(sessionmaker, inventory)` over the configured
services, so this feature never builds them itself.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

Run = Callable[[Callable[[Any, Any], Awaitable[Any]]], Any]


def cmd_status(args: argparse.Namespace, _run: Run) -> int:
    from server.config import get_settings
    from server.mirror.status import format_status, mirror_status

    async def work(db: Any, _inventory: Any) -> dict[str, Any]:
        async with db() as session:
            return await mirror_status(session, get_settings().mirror.enabled())

    report = _run(work)
    if args.json:
        import orjson

        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        print(format_status(report))
    dead = sum(p["dead_letters"] for p in report["platforms"].values())
    return 2 if dead or report["flagged_orders"] else 0


def cmd_replay(args: argparse.Namespace, _run: Run) -> int:
    from server.mirror.jobs import replay

    async def work(db: Any, _inventory: Any) -> int:
        async with db() as session, session.begin():
            return await replay(session, args.platform, args.job, args.all)

    print(f"{_run(work)} job(s) due again")
    return 0


def cmd_sandboxes(args: argparse.Namespace) -> int:
    from server.mirror.sandbox.run import start

    async def serve() -> None:
        boxes = await start(args.host, args.port)
        print("platform sandboxes are up; point liveshop at them with:\n")
        for key, value in boxes.env().items():
            print(f"export {key}={value}")
        print(
            '\nplace a platform order: curl -XPOST <url>/_sandbox/orders -d \'{"items": {"TEE-ORG-01": 1}}\''
        )
        print("see what a platform holds: curl <url>/_sandbox/state", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await boxes.close()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


def add_parser(sub: Any, run: Run) -> None:
    mirror = sub.add_parser("mirror", help="platform mirroring: status | replay | sandboxes")
    verbs = mirror.add_subparsers(dest="verb", required=True)
    status = verbs.add_parser("status", help="per platform: queue depth, lag, last error, dead letters")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=partial(cmd_status, _run=run))
    replay = verbs.add_parser("replay", help="make dead letters due again")
    replay.add_argument("--platform", choices=("tiktok", "shopify", "meta", "google"))
    replay.add_argument("--job", type=int, help="only this job id")
    replay.add_argument("--all", action="store_true", help="also resend every SKU's stock (a full resync)")
    replay.set_defaults(func=partial(cmd_replay, _run=run))
    boxes = verbs.add_parser("sandboxes", help="run the four platform emulators locally (demo, tests)")
    boxes.add_argument("--host", default="127.0.0.1")
    boxes.add_argument("--port", type=int, default=9101, help="first port; the others follow")
    boxes.set_defaults(func=cmd_sandboxes)
