// The replay page: the recorded broadcast (HLS, VOD), its product timeline (click to seek to the
// moment a product was pinned or offered), and buying what the host keeps on sale: each active offer
// of the broadcast (a replay offer at the shelf price, or the show's offer kept open), through the
// same reservation and checkout sheet as the watch page (buy.js).
import { api, guestSession, product, session } from "./api.js";
import { buy } from "./buy.js";
import { fill, h, toast } from "./dom.js";
import { clock, explain, money, secondsUntil } from "./format.js";
import { playHls } from "./hls.js";

const id = decodeURIComponent(location.pathname.split("/").pop());
const app = document.getElementById("app");

const video = h("video", { controls: true, playsInline: true, "aria-label": "Replay video", "data-testid": "replay-video" });
const list = h("ol.timeline", { "aria-label": "Products in this replay", "data-testid": "timeline" });
const now = h("p.muted.small", { "aria-live": "polite", "data-testid": "now-showing" });
const shopList = h("ul.shop-replay", { "aria-label": "On sale from this show", "data-testid": "replay-shop" });
const chatList = h("ol.chat-replay", { "aria-label": "Chat, as it happened", "data-testid": "chat-replay" });

/** Seconds into the recording of a wall-clock moment (ms), through the stretch of video it fell in
 * (only for messages stamped before the node stamped each with its moment on the video, `at_s`). */
function mediaTime(periods, ms) {
  let at = null;
  for (const p of periods) if (p.started_at_ms <= ms) at = p.at_s + (ms - p.started_at_ms) / 1000;
  return at;
}

async function loadChat(replay) {
  const messages = [];
  let since = 0;
  for (let page = 0; page < 40; page += 1) {
    const reply = await api("GET", `/api/v1/broadcasts/${encodeURIComponent(id)}/chat?since_ms=${since}`);
    messages.push(...reply.items);
    if (reply.items.length < 500) break;
    since = reply.items[reply.items.length - 1].ts;
  }
  return messages
    .map((m) => ({ ...m, at: typeof m.at_s === "number" ? m.at_s : mediaTime(replay.periods || [], m.ts) }))
    .filter((m) => m.at !== null)
    .map((m) => ({ ...m, row: h("li", { "data-at": String(m.at) }, h("b", m.user.nickname), " ", m.text) }));
}

async function describe(item) {
  if (item.type === "pin") {
    const p = await product(item.id);
    return { title: p.title, price: money(p.price, p.currency), productId: p.id };
  }
  if (item.type === "offer") {
    const offer = await api("GET", `/api/v1/offers/${encodeURIComponent(item.id)}`);
    const p = await product(offer.product_id);
    return {
      title: p.title,
      price: money(offer.price, p.currency),
      productId: p.id,
      offerId: offer.id,
    };
  }
  return { title: `${item.type} ${item.id}`, price: "" };
}

/** The broadcast's offers on sale now (replay offers, or the show's kept open), by product. */
async function offersOnSale() {
  const snapshot = await api("GET", `/api/v1/broadcasts/${encodeURIComponent(id)}`);
  const open = (snapshot.offers || []).filter((o) => o.status === "active" && o.available > 0 && secondsUntil(o.ends_at) > 0);
  return new Map(open.map((o) => [o.product_id, o]));
}

/** The viewer's guest session (the watch page's, if they have one), made on first purchase. */
async function shopper() {
  const known = session.get("viewer");
  if (known) return known;
  const guest = await guestSession(`shopper-${Math.random().toString(36).slice(2, 6)}`);
  session.set("viewer", { ...guest, auto: true });
  return guest;
}

async function onBuy(offer, button, note) {
  button.disabled = true;
  note.textContent = "";
  try {
    let me = await shopper();
    const p = await product(offer.product_id);
    let order;
    try {
      order = await buy({ offer, product: p, quantity: 1, token: me.token, buyerId: me.user.id });
    } catch (error) {
      if (error.status !== 401) throw error;
      session.clear("viewer"); // an old session: a fresh one, once
      me = await shopper();
      order = await buy({ offer, product: p, quantity: 1, token: me.token, buyerId: me.user.id });
    }
    if (order) {
      note.textContent = `Order ${order.id}: ${order.status}`;
      toast(`Order ${order.id} ${order.status === "paid" ? "paid" : "confirmed"}`, "ok", 5000);
    }
  } catch (error) {
    note.textContent = explain(error);
  } finally {
    button.disabled = false;
  }
}

function buyButton(offer, title) {
  const note = h("span.small.muted", { role: "status", "data-testid": "replay-order" });
  const button = h(
    "button.primary",
    { type: "button", "data-testid": "replay-buy", "aria-label": `Buy ${title} for ${money(offer.price, offer.currency)}` },
    `Buy · ${money(offer.price, offer.currency)}`,
  );
  button.addEventListener("click", () => onBuy(offer, button, note));
  return [button, note];
}

function seekTo(seconds) {
  video.currentTime = seconds;
  video.play().catch(() => {});
}

async function render() {
  let replay;
  try {
    replay = await api("GET", `/api/v1/broadcasts/${encodeURIComponent(id)}/replay`);
  } catch (error) {
    fill(app, h("section.panel", h("h1", "No replay"), h("p", explain(error))));
    return;
  }
  video.poster = new URL(replay.poster_url, location.href).pathname;
  fill(
    app,
    h("section.stage", video),
    h("section.panel", h("h2", "In this show"), now, list),
    h("section.panel", h("h2", "Shop this show"), shopList),
    h("section.panel", h("h2", "Chat"), chatList),
  );
  const chat = await loadChat(replay).catch(() => []);
  const onSale = await offersOnSale().catch(() => new Map());
  const shelf = await Promise.all(
    [...onSale.values()].map(async (offer) => {
      const p = await product(offer.product_id).catch(() => ({ title: offer.product_id }));
      return h("li.timeline-item", { "data-product": offer.product_id }, h("strong", p.title), " ", ...buyButton(offer, p.title));
    }),
  );
  fill(shopList, ...(shelf.length ? shelf : [h("li.muted", "Nothing from this show is on sale now.")]));
  let shownCount = -1;
  const rows = await Promise.all(
    replay.timeline.map(async (item) => {
      let info;
      try {
        info = await describe(item);
      } catch {
        info = { title: item.id, price: "" };
      }
      const open = info.productId ? onSale.get(info.productId) : null;
      const shown = open ? money(open.price, open.currency) : info.price;
      const row = h(
        "li.timeline-item",
        { "data-at": String(item.at_s), "data-type": item.type },
        h(
          "button.link",
          { type: "button", onclick: () => seekTo(item.at_s), "data-testid": "seek", "aria-label": `Watch from ${clock(item.at_s)}: ${info.title}` },
          h("span.mono", clock(Math.floor(item.at_s))),
          " ",
          h("strong", info.title),
          " ",
          h("span.muted", { "data-testid": "timeline-price" }, shown),
        ),
        ...(open ? buyButton(open, info.title) : []),
      );
      return { item, info, row };
    }),
  );
  fill(list, ...rows.map((r) => r.row));
  video.addEventListener("timeupdate", () => {
    const current = rows.filter((r) => r.item.at_s <= video.currentTime + 0.25).pop();
    for (const r of rows) r.row.classList.toggle("current", r === current);
    now.textContent = current ? `Now showing: ${current.info.title}` : "";
    // the chat replays in step: every message up to the playhead, as the room saw it
    const shown = chat.filter((m) => m.at <= video.currentTime);
    if (shown.length !== shownCount) {
      shownCount = shown.length;
      fill(chatList, ...shown.slice(-50).map((m) => m.row));
    }
  });
  playHls(video, new URL(replay.playlist_url, location.href).pathname, () => {});
}

render();
