// The replay page: the recorded broadcast (HLS, VOD), its product timeline (click to seek to the
// moment a product was pinned or offered), and a way to buy what is still on sale.
import { api, product } from "./api.js";
import { fill, h } from "./dom.js";
import { clock, explain, money } from "./format.js";
import { playHls } from "./hls.js";

const id = decodeURIComponent(location.pathname.split("/").pop());
const app = document.getElementById("app");

const video = h("video", { controls: true, playsInline: true, "aria-label": "Replay video", "data-testid": "replay-video" });
const list = h("ol.timeline", { "aria-label": "Products in this replay", "data-testid": "timeline" });
const now = h("p.muted.small", { "aria-live": "polite", "data-testid": "now-showing" });
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
    return { title: p.title, price: money(p.price, p.currency), productId: p.id, onSale: true };
  }
  if (item.type === "offer") {
    const offer = await api("GET", `/api/v1/offers/${encodeURIComponent(item.id)}`);
    const p = await product(offer.product_id);
    return {
      title: p.title,
      price: money(offer.price, p.currency),
      productId: p.id,
      onSale: offer.status === "active",
      offerId: offer.id,
    };
  }
  return { title: `${item.type} ${item.id}`, price: "", onSale: false };
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
    h("section.panel", h("h2", "Chat"), chatList),
  );
  const chat = await loadChat(replay).catch(() => []);
  let shownCount = -1;
  const rows = await Promise.all(
    replay.timeline.map(async (item) => {
      let info;
      try {
        info = await describe(item);
      } catch {
        info = { title: item.id, price: "", onSale: false };
      }
      const buy = info.onSale
        ? h("a.button.primary", { href: `/watch/${encodeURIComponent(id)}`, "data-testid": "replay-buy" }, "Buy")
        : null;
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
          h("span.muted", info.price),
        ),
        buy,
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
