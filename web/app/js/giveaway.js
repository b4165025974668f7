// Giveaways: the watch page's "Enter giveaway" card and the studio's start / close / draw panel.
// Live updates come from the room's `giveaway` events ({type, giveaway}); the REST API is the fallback.
import { api } from "./api.js";
import { h, fill, toast } from "./dom.js";
import { explain } from "./format.js";

const enc = encodeURIComponent;
const short = (hash) => (hash ? `${hash.slice(0, 16)}…` : "");

/** The giveaway to show for a broadcast: the newest one (open, closed or drawn), or null. */
async function current(broadcastId) {
  const list = await api("GET", `/api/v1/broadcasts/${enc(broadcastId)}/giveaways`);
  return (list.items || []).find((g) => g.status !== "canceled") || null;
}

function fairnessLines(g) {
  return [
    h("div.small.muted", "Seed commitment (published at the start): ", h("code", { title: g.seed_commitment, "data-testid": "giveaway-commitment" }, short(g.seed_commitment))),
    g.entrants_hash ? h("div.small", "Entrant list SHA-256 (frozen before the draw): ", h("code", { title: g.entrants_hash, "data-testid": "giveaway-hash" }, g.entrants_hash)) : null,
    g.seed ? h("div.small.muted", "Seed (revealed at the draw): ", h("code", { title: g.seed, "data-testid": "giveaway-seed" }, short(g.seed))) : null,
    g.status === "drawn" ? h("p.small.muted", { style: { margin: 0 } }, "Anyone can re-check the draw: ", h("a", { href: `/api/v1/giveaways/${enc(g.id)}`, target: "_blank", rel: "noopener" }, "published list and seed"), " (see docs/giveaways.md).") : null,
  ];
}

/**
 * The watch page's card. giveawayCard({broadcastId, me(), token(), ensureUser()}) ->
 * {el, attach(room), refresh()}; attach(room) after each joinRoom (the socket is the room's).
 */
export function giveawayCard({ broadcastId, me, token, ensureUser }) {
  const el = h("section.panel.stack", { "aria-label": "Giveaway", "data-testid": "giveaway", hidden: true });
  let g = null;
  let entered = null; // {giveaway_id, entry}
  let busy = false;

  function render() {
    if (!g) {
      el.hidden = true;
      return;
    }
    el.hidden = false;
    const open = g.status === "open";
    const mine = me();
    const won = g.winner && mine && g.winner.user_id === mine.id;
    const inIt = entered && entered.giveaway_id === g.id;
    fill(el,
      h("h3", { style: { margin: 0 } }, "🎁 Giveaway"),
      h("div.small", { "data-testid": "giveaway-status" },
        open ? "Entries open" : g.status === "closed" ? "Entries closed — drawing soon" : g.status === "drawn" ? "Drawn" : "Canceled",
        " · ", h("span", { "data-testid": "giveaway-count" }, String(g.entrant_count)), g.entrant_count === 1 ? " entrant" : " entrants"),
      g.buyers_only && open ? h("div.small.muted", "For this broadcast's buyers") : null,
      open
        ? h("div.row",
          h("button.primary", {
            type: "button",
            disabled: busy || inIt,
            "data-testid": "giveaway-enter",
            onclick: enter,
          }, inIt ? `You're in (entry #${entered.entry})` : "Enter giveaway"),
          g.keyword ? h("span.small.muted", "or type ", h("b", g.keyword), " in chat") : null)
        : null,
      g.winner
        ? h("div", { role: "status", "data-testid": "giveaway-winner" }, won ? "🎉 You won! " : "Winner: ", h("b", g.winner.nickname || "a viewer"),
          won ? h("span.small", " — your free order is confirmed") : null)
        : null,
      fairnessLines(g));
  }

  async function enter() {
    if (!g || busy) return;
    if (ensureUser && !(await ensureUser())) return;
    busy = true;
    render();
    try {
      const reply = await api("POST", `/api/v1/giveaways/${enc(g.id)}/entries`, { token: token() });
      entered = reply;
      g = { ...g, entrant_count: Math.max(g.entrant_count, reply.new ? g.entrant_count + 1 : g.entrant_count) };
      toast(reply.new ? "You're in the giveaway!" : "You are already in this giveaway", "ok", 2500);
    } catch (e) {
      toast(explain(e), "error");
      if (e.code === "giveaway_closed") refresh();
    } finally {
      busy = false;
      render();
    }
  }

  function apply(event) {
    const next = event && event.giveaway;
    if (!next || next.broadcast_id !== broadcastId) return;
    if (next.status === "canceled") {
      if (g && g.id === next.id) g = null;
    } else if (!g || g.id === next.id || event.type === "started") {
      g = { ...(g && g.id === next.id ? g : {}), ...next };
    }
    render();
  }

  async function refresh() {
    try {
      g = await current(broadcastId);
    } catch {
      /* the room's events still arrive */
    }
    render();
  }

  return {
    el,
    refresh,
    attach(room) {
      const socket = room && room.state && room.state.socket;
      if (!socket) return;
      socket.on("giveaway", apply);
      socket.on("giveaway_entry", (entry) => {
        entered = entry;
        render();
      });
      socket.on("giveaway_won", (notice) => {
        if (notice && notice.giveaway) apply({ type: "drawn", giveaway: notice.giveaway });
        toast("🎉 You won the giveaway! Your free order is confirmed.", "ok", 8000);
      });
    },
  };
}

/**
 * The studio's panel. giveawayStudio({id, token}) -> {panel, attach(room)}: start one for a product
 * (keyword, buyers only), watch the entrant count, close (shows the hash), draw (shows the winner).
 */
export function giveawayStudio({ id, token }) {
  const panel = h("section.panel.stack", { "aria-labelledby": "giveaway-h", "data-testid": "giveaway-studio" });
  const product = h("select", { id: "giveaway-product", "aria-label": "Giveaway product" });
  const keyword = h("input", { id: "giveaway-keyword", type: "text", maxlength: 32, placeholder: "e.g. WIN (optional)", "aria-label": "Chat keyword" });
  const buyersOnly = h("input", { id: "giveaway-buyers", type: "checkbox" });
  const box = h("div.stack", { "aria-live": "polite" });
  let g = null;

  async function loadProducts() {
    try {
      const list = (await api("GET", "/api/v1/products", { token })).items || [];
      fill(product, list.map((p) => h("option", { value: p.id, disabled: p.stock < 1 }, `${p.title} (${p.stock} on the shelf)`)));
    } catch {
      /* the form says so when Start fails */
    }
  }

  async function act(path, label, body) {
    try {
      g = await api("POST", path, { token, body });
      if (label) toast(label, "ok", 2500);
    } catch (e) {
      toast(explain(e), "error");
    }
    render();
  }

  const start = (event) => {
    event.preventDefault();
    const body = { product_id: product.value, buyers_only: buyersOnly.checked };
    if (keyword.value.trim()) body.keyword = keyword.value.trim();
    act(`/api/v1/broadcasts/${enc(id)}/giveaways`, "Giveaway started", body).then(loadProducts);
  };

  function render() {
    const form = h("form.stack", { onsubmit: start },
      h("div.field", h("label", { for: "giveaway-product" }, "Product to give away"), product),
      h("div.field", h("label", { for: "giveaway-keyword" }, "Chat keyword"), keyword),
      h("div.row", buyersOnly, h("label", { for: "giveaway-buyers" }, "Only this broadcast's buyers")),
      h("button.primary", { type: "submit", "data-testid": "giveaway-start" }, "Start giveaway"));
    if (!g || g.status === "canceled" || g.status === "drawn") {
      fill(box,
        g && g.status === "drawn" ? summary() : null,
        form);
      return;
    }
    fill(box, summary());
  }

  function summary() {
    const path = `/api/v1/giveaways/${enc(g.id)}`;
    return h("div.stack",
      h("div", h("b", g.status === "open" ? "Entries open" : g.status === "closed" ? "Entries closed" : "Drawn"),
        " · ", h("span", { "data-testid": "giveaway-studio-count" }, String(g.entrant_count)), " entrants",
        g.keyword ? h("span.muted", ` · keyword “${g.keyword}”`) : null),
      g.winner ? h("div", { "data-testid": "giveaway-studio-winner" }, "Winner: ", h("b", g.winner.nickname || g.winner.user_id), ` (entrant #${g.winner.index + 1}) · order ${g.winner.order_id || "…"}`) : null,
      fairnessLines(g),
      h("div.row",
        g.status === "open" ? h("button", { type: "button", "data-testid": "giveaway-close", onclick: () => act(`${path}/close`, "Entries closed: the list's hash is public") }, "Close entries") : null,
        g.status === "closed" ? h("button.primary", { type: "button", "data-testid": "giveaway-draw", onclick: () => act(`${path}/draw`, "Winner drawn") }, "Draw winner") : null,
        g.status === "open" || g.status === "closed" ? h("button.ghost", { type: "button", onclick: () => act(`${path}/cancel`, "Giveaway canceled; the unit is back on the shelf") }, "Cancel") : null));
  }

  fill(panel, h("h2#giveaway-h", "Giveaway"), box);
  render();
  loadProducts();
  current(id).then((found) => {
    if (found && (found.status === "open" || found.status === "closed")) g = found;
    render();
  }).catch(() => {});

  // the live count also arrives with the room's events; poll while open in case the room is down
  const timer = setInterval(async () => {
    if (!g || g.status !== "open") return;
    try {
      const fresh = await api("GET", `/api/v1/giveaways/${enc(g.id)}`);
      if (g && fresh.id === g.id && fresh.status === g.status) {
        g = { ...g, entrant_count: fresh.entrant_count };
        render();
      }
    } catch {
      /* next tick */
    }
  }, 3000);

  return {
    panel,
    stop: () => clearInterval(timer),
    attach(room) {
      const socket = room && room.state && room.state.socket;
      if (!socket) return;
      socket.on("giveaway", (event) => {
        const next = event && event.giveaway;
        if (!next || !g || next.id !== g.id) return;
        g = { ...g, ...next, entrants: g.entrants };
        render();
      });
    },
  };
}
