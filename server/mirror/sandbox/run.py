"""Starts the four sandboxes on loopback ports and says which LIVESHOP_* settings point at them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.mirror.sandbox import google, meta, shopify, tiktok

MODULES: dict[str, Any] = {"tiktok": tiktok, "shopify": shopify, "meta": meta, "google": google}


@dataclass
class Sandboxes:
    urls: dict[str, str] = field(default_factory=dict)
    apps: dict[str, web.Application] = field(default_factory=dict)
    runners: list[web.AppRunner] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, url in self.urls.items():
            out.update(MODULES[name].env(url))
        return out

    async def close(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


async def start(
    host: str = "127.0.0.1", base_port: int = 0, options: dict[str, dict[str, Any]] | None = None
) -> Sandboxes:
    """Each platform on its own port (base_port + i, or free ports when base_port is 0)."""
    boxes = Sandboxes()
    for i, (name, module) in enumerate(MODULES.items()):
        app = module.make_app(**(options or {}).get(name, {}))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, base_port + i if base_port else 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        boxes.urls[name] = f"http://{host}:{port}"
        boxes.apps[name] = app
        boxes.runners.append(runner)
    return boxes
