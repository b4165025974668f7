// The offline shell of the installed app (served as /sw.js, scope "/").
//
// It keeps the pages' static files (the two page shells, modules, styles, icons, the vendored clients)
// so the console and the watch page open without a network and say they are offline. It never keeps an
// API answer, a video (WHEP, HLS), the live room or a product picture: those pass through untouched, so
// nothing a shopper sees about stock, prices or the show can be stale.
//
// The server fills VERSION and SHELL in (server/webui.py): VERSION changes whenever a shell file does,
// which makes the browser install this worker anew and drop the old cache.
const VERSION = "dev";
const SHELL = [];
const CACHE = `liveshop-shell-${VERSION}`;

/** Which cached page shell answers a navigation when the network does not. */
function shellFor(path) {
  if (path.startsWith("/watch/")) return "/app/watch.html";
  if (path === "/console" || path.startsWith("/console/")) return "/app/console.html";
  if (path.startsWith("/replay/")) return "/app/replay.html";
  return null;
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("liveshop-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return; // payment providers' scripts, images elsewhere
  if (request.mode === "navigate") {
    const shell = shellFor(url.pathname);
    // the network first: a page online is always the server's own; the shell only when it is unreachable
    if (shell) event.respondWith(fetch(request).catch(() => caches.match(shell).then((hit) => hit || Response.error())));
    return;
  }
  if (!SHELL.includes(url.pathname)) return; // the API, media, the live room: never from a cache
  event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(request)));
});
