// Where this viewer came from: the watch URL's utm_source / utm_medium / utm_campaign and the referring
// site, read once when a watch page opens, kept for the tab's session (sessionStorage), and sent on
// join and with reservations and checkout (the optional Liveshop-Attribution header), so the order
// carries it and the host's report shows revenue per source. Nothing here ever blocks a purchase.
const KEY = "liveshop.attribution";
const FIELDS = ["utm_source", "utm_medium", "utm_campaign"];

function read() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

/** On a watch page: a link with utm_* (a new touch) replaces what the session had; else the first
 * visit's referrer (another site's host) is kept. */
function capture() {
  if (!location.pathname.startsWith("/watch/")) return read();
  const params = new URLSearchParams(location.search);
  const found = {};
  for (const name of FIELDS) {
    const value = (params.get(name) || "").trim().slice(0, 100);
    if (value) found[name] = value;
  }
  let ref = "";
  try {
    const host = document.referrer ? new URL(document.referrer).host : "";
    if (host && host !== location.host) ref = host;
  } catch {
    /* an unreadable referrer is no referrer */
  }
  const stored = read();
  if (!Object.keys(found).length && (stored || !ref)) return stored;
  const value = { ...found, ...(ref ? { ref } : {}) };
  try {
    sessionStorage.setItem(KEY, JSON.stringify(value));
  } catch {
    /* private mode: keep it for this page only */
  }
  return value;
}

const current = capture();

/** {utm_source?, utm_medium?, utm_campaign?, ref?} or null: the join payload's `attribution`. */
export function attribution() {
  return current;
}

/** A random key this browser keeps (localStorage): the report counts a viewer once although the page
 * watches with a quiet guest session and buys with a named one. */
export function viewerKey() {
  try {
    let key = localStorage.getItem("liveshop.viewer-key");
    if (!key) {
      key = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem("liveshop.viewer-key", key);
    }
    return key;
  } catch {
    return undefined;
  }
}

/** Headers for a reservation or checkout request: {} when the viewer came from nowhere in particular. */
export function attributionHeaders() {
  if (!current) return {};
  const value = new URLSearchParams(current).toString();
  return value ? { "Liveshop-Attribution": value } : {};
}
