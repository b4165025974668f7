"""Local emulators of Stripe's and Toss Payments' endpoints, so the demo and the tests need no internet."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Running:
    url: str
    app: web.Application
    runner: web.AppRunner = field(repr=False)

    async def close(self) -> None:
        await self.runner.cleanup()


async def serve(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> Running:
    """Start a sandbox app on a loopback port (a free one when 0)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return Running(f"http://{host}:{bound}", app, runner)
