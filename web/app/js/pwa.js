// The installable web app: the offline shell's service worker, the manifest's start page, and a notice
// while the device is offline (the shell still opens; the show and the API need the network).
import { h } from "./dom.js";

export const TEXT = {
  offline: "You are offline. The page comes back by itself when your connection does.",
};

let notice = null;

function showOffline(offline) {
  if (!notice) {
    notice = h("p.notice.offline-note", { role: "status", "data-testid": "offline-notice", hidden: true }, TEXT.offline);
    document.body.append(notice);
  }
  notice.hidden = !offline;
}

/**
 * Registers the service worker (scope "/") and keeps the offline notice current. `start`: where the
 * installed app opens (a watch page opens on its own show; the console's manifest opens the console).
 */
export function installApp({ start } = {}) {
  if (start) {
    const link = document.querySelector('link[rel="manifest"]');
    if (link) link.href = `/manifest.webmanifest?start=${encodeURIComponent(start)}`;
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
      /* no offline shell (a private window, an old browser): the page works the same online */
    });
  }
  addEventListener("offline", () => showOffline(true));
  addEventListener("online", () => showOffline(false));
  if (!navigator.onLine) showOffline(true);
}

/** Whether a failed request failed for want of a network (not an answer from the server). */
export function isOffline(error) {
  return !navigator.onLine || (error && (error.status === 0 || error.code === "network"));
}

/** Calls `then` once the node answers again (the online event alone is not always told, nor true). */
export function whenOnline(then, everyMs = 3000) {
  let done = false;
  const probe = async () => {
    if (done) return;
    try {
      const reply = await fetch("/healthz", { cache: "no-store" });
      if (reply.ok) {
        done = true;
        then();
        return;
      }
    } catch {
      /* still offline */
    }
    setTimeout(probe, everyMs);
  };
  addEventListener("online", probe);
  setTimeout(probe, everyMs);
}
