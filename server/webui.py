"""Serves the host console and the watch page from web/ (plain ES modules: no bundler, no build step).

`/console` and `/console/...` return the console shell, `/watch/{id}` the watch page; both load their
modules from `/app/`. The socket.io client is served from npm's own package in web/node_modules, so
`npm ci` in web/ is the whole front-end set-up.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.api.context import SETTINGS
from server.errors import DomainError

# npm packages the pages load, served from web/node_modules as npm installed them
VENDOR = {
    "socket.io.esm.min.js": Path("node_modules") / "socket.io-client" / "dist" / "socket.io.esm.min.js",
    "socket.io.esm.min.js.map": Path("node_modules")
    / "socket.io-client"
    / "dist"
    / "socket.io.esm.min.js.map",
    "hls.min.mjs": Path("node_modules") / "hls.js" / "dist" / "hls.min.mjs",
    # the console's charts (live dashboard, sale report)
    "uPlot.esm.js": Path("node_modules") / "uplot" / "dist" / "uPlot.esm.js",
    "uPlot.min.css": Path("node_modules") / "uplot" / "dist" / "uPlot.min.css",
}
# Pages are tiny and change with every deploy; modules are fetched with a version query string.
NO_CACHE = {"Cache-Control": "no-cache"}


def web_root(web_dir: str = "") -> Path:
    """web/ beside the package (a checkout), else LIVESHOP_WEB_DIR, else ./web (an installed package)."""
    candidates = [Path(web_dir), Path(__file__).resolve().parents[1] / "web"]
    candidates.append(Path.cwd() / "web")
    for path in candidates:
        if str(path) not in ("", ".") and (path / "app" / "console.html").is_file():
            return path
    return candidates[1]


def setup(app: web.Application) -> None:
    """Registers /console, /watch/{id}, the /app/ modules and the vendored socket.io client."""
    root = web_root(app[SETTINGS].web_dir)
    pages = root / "app"

    def page(name: str):  # type: ignore[no-untyped-def]
        async def handler(request: web.Request) -> web.StreamResponse:
            path = pages / name
            if not path.is_file():
                raise DomainError("not_found", "The web front end is not installed (web/app is missing)")
            return web.FileResponse(path, headers=NO_CACHE)

        return handler

    async def vendor(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in VENDOR:
            raise DomainError("not_found", "No such vendor file")
        path = root / VENDOR[name]
        if not path.is_file():
            raise DomainError("service_unavailable", "Run `npm ci` in web/ (scripts/install.sh does it)")
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    async def home(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/console")

    app.router.add_get("/", home)
    app.router.add_get("/console", page("console.html"))
    app.router.add_get("/console/{tail:.*}", page("console.html"))
    app.router.add_get("/watch/{id}", page("watch.html"))
    app.router.add_get("/replay/{id}", page("replay.html"))
    app.router.add_get("/app/vendor/{name}", vendor)
    if pages.is_dir():
        app.router.add_static("/app", pages, append_version=False)
