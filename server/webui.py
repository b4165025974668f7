"""Serves the host console and the watch page from web/ (plain ES modules: no bundler, no build step).

`/console` and `/console/...` return the console shell, `/watch/{id}` the watch page; both load their
modules from `/app/`. The socket.io client is served from npm's own package in web/node_modules, so
`npm ci` in web/ is the whole front-end set-up.
"""

from __future__ import annotations

import hashlib
import json
import re
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
# The installed app's offline shell: the files under web/app the pages need to open without a network.
SHELL_GLOBS = ("*.html", "js/**/*.js", "css/*.css", "icons/*.png", "i18n/*.json")
# An installed watch page opens on its own show: /manifest.webmanifest?start=/watch/<id>
WATCH_START = re.compile(r"/watch/[A-Za-z0-9_-]{1,64}")


def shell_files(root: Path) -> list[str]:
    """The URL paths the service worker keeps: the pages' static files and the vendored clients."""
    pages = root / "app"
    paths = sorted(
        "/app/" + path.relative_to(pages).as_posix()
        for pattern in SHELL_GLOBS
        for path in pages.glob(pattern)
        if path.is_file() and path.name != "sw.js"
    )
    vendored = sorted(
        f"/app/vendor/{name}"
        for name, rel in VENDOR.items()
        if not name.endswith(".map") and (root / rel).is_file()
    )
    return paths + vendored


def service_worker(root: Path) -> str:
    """web/app/sw.js with its shell list and a version that changes whenever a shell file changes."""
    files = shell_files(root)
    digest = hashlib.sha256()
    for url in files:
        path = root / VENDOR[url.rsplit("/", 1)[1]] if url.startswith("/app/vendor/") else root / url[1:]
        stat = path.stat()
        digest.update(f"{url}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    source = (root / "app" / "sw.js").read_text(encoding="utf-8")
    source = source.replace(
        'const VERSION = "dev";', f"const VERSION = {json.dumps(digest.hexdigest()[:16])};", 1
    )
    return source.replace("const SHELL = [];", f"const SHELL = {json.dumps(files)};", 1)


def manifest(root: Path, start: str) -> dict[str, object]:
    """The web app manifest; a watch page's own start (its show) when `start` names one."""
    body: dict[str, object] = json.loads((root / "app" / "manifest.webmanifest").read_text(encoding="utf-8"))
    if WATCH_START.fullmatch(start):
        body["start_url"] = body["id"] = start
    return body


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

    async def web_manifest(request: web.Request) -> web.StreamResponse:
        body = manifest(root, request.query.get("start", ""))
        return web.json_response(body, content_type="application/manifest+json", headers=NO_CACHE)

    async def worker(request: web.Request) -> web.StreamResponse:
        return web.Response(text=service_worker(root), content_type="text/javascript", headers=NO_CACHE)

    app.router.add_get("/", home)
    app.router.add_get("/console", page("console.html"))
    app.router.add_get("/console/{tail:.*}", page("console.html"))
    app.router.add_get("/watch/{id}", page("watch.html"))
    app.router.add_get("/replay/{id}", page("replay.html"))
    app.router.add_get("/app/vendor/{name}", vendor)
    app.router.add_get("/manifest.webmanifest", web_manifest)
    app.router.add_get("/sw.js", worker)
    if pages.is_dir():
        app.router.add_static("/app", pages, append_version=False)
