// Giveaways: the watch page's "Enter giveaway" card and the studio's start / close / draw panel.
// Live updates come from the room's `giveaway` events ({type, giveaway}); the REST API is the fallback.
import { api } from "./api.js";
import { h, fill, toast } from "./dom.js";
import { explain } from "./format.js";
import { t, tn } from "./i18n.js";

const enc = encodeURIComponent;
const short = (hash) => (hash ? `${hash.slice(0, 16)}…` : "");

/** The giveaway to show for a broadcast: the newest one (open, closed or drawn), or null. */
async function current(broadcastId) {
  const list = await api("GET", `/api/v1/broadcasts/${enc(broadcastId)}/giveaways`);
  return (list.items || []).find((g) => g.status !== "canceled") || null;
}

function fairnessLines(g) {
  return [
    h("div.small.muted", t("giveaway.seed_commitment"), " ", h("code", { title: g.seed_commitment, "data-testid": "giveaway-commitment" }, short(g.seed_commitment))),
    g.entrants_hash ? h("div.small", t("giveaway.entrants_hash"), " ", h("code", { title: g.entrants_hash, "data-testid": "giveaway-hash" }, g.entrants_hash)) : null,
    g.seed ? h("div.small.muted", t("giveaway.seed"), " ", h("code", { title: g.seed, "data-testid": "giveaway-seed" }, short(g.seed))) : null,
    g.status === "drawn" ? h("p.small.muted", { style: { margin: 0 } }, tn("giveaway.recheck", { link: h("a", { href: `/api/v1/giveaways/${enc(g.id)}`, target: "_blank", rel: "noopener" }, t("giveaway.recheck_link")) })) : null,
  ];
}

/**
 * The watch page's card. giveawayCard({broadcastId, me(), token(), ensureUser()}) ->
 * {el, attach(room), refresh()}; attach(room) after each joinRoom (the socket is the room's).
 */
export function giveawayCard({ broadcastId, me, token, ensureUser }) {
  const el = h("section.panel.stack", { "aria-label": t("giveaway.title"), "data-testid": "giveaway", hidden: true });
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
      h("h3", { style: { margin: 0 } }, `🎁 ${t("giveaway.title")}`),
      h("div.small", { "data-testid": "giveaway-status" },
        open ? t("giveaway.open") : g.status === "closed" ? t("giveaway.closed_soon") : g.status === "drawn" ? t("giveaway.drawn") : t("giveaway.canceled"),
        " · ", tn("giveaway.entrants", { count: h("span", { "data-testid": "giveaway-count" }, String(g.entrant_count)) })),
      g.buyers_only && open ? h("div.small.muted", t("giveaway.for_buyers")) : null,
      open
        ? h("div.row",
          h("button.primary", {
            type: "button",
            disabled: busy || inIt,
            "data-testid": "giveaway-enter",
            onclick: enter,
          }, inIt ? t("giveaway.you_are_in", { entry: entered.entry }) : t("giveaway.enter")),
          g.keyword ? h("span.small.muted", tn("giveaway.or_type", { keyword: h("b", g.keyword) })) : null)
        : null,
      g.winner
        ? h("div", { role: "status", "data-testid": "giveaway-winner" }, won ? `🎉 ${t("giveaway.you_won")} ` : `${t("giveaway.winner")} `, h("b", g.winner.nickname || t("giveaway.a_viewer")),
          won ? h("span.small", ` — ${t("giveaway.free_order")}`) : null)
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
      toast(reply.new ? t("giveaway.joined") : t("giveaway.already_in"), "ok", 2500);
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
        toast(`🎉 ${t("giveaway.won_toast")}`, "ok", 8000);
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
  const product = h("select", { id: "giveaway-product", "aria-label": t("giveaway.product_label") });
  const keyword = h("input", { id: "giveaway-keyword", type: "text", maxlength: 32, placeholder: t("giveaway.keyword_placeholder"), "aria-label": t("giveaway.keyword") });
  const buyersOnly = h("input", { id: "giveaway-buyers", type: "checkbox" });
  const box = h("div.stack", { "aria-live": "polite" });
  let g = null;

  async function loadProducts() {
    try {
      const list = (await api("GET", "/api/v1/products", { token })).items || [];
      fill(product, list.map((p) => h("option", { value: p.id, disabled: p.stock < 1 }, `${p.title} (${t("offers.on_shelf", { count: p.stock })})`)));
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
    act(`/api/v1/broadcasts/${enc(id)}/giveaways`, t("giveaway.started"), body).then(loadProducts);
  };

  function render() {
    const form = h("form.stack", { onsubmit: start },
      h("div.field", h("label", { for: "giveaway-product" }, t("giveaway.product")), product),
      h("div.field", h("label", { for: "giveaway-keyword" }, t("giveaway.keyword")), keyword),
      h("div.row", buyersOnly, h("label", { for: "giveaway-buyers" }, t("giveaway.buyers_only"))),
      h("button.primary", { type: "submit", "data-testid": "giveaway-start" }, t("giveaway.start")));
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
      h("div", h("b", g.status === "open" ? t("giveaway.open") : g.status === "closed" ? t("giveaway.closed") : t("giveaway.drawn")),
        " · ", tn("giveaway.entrants", { count: h("span", { "data-testid": "giveaway-studio-count" }, String(g.entrant_count)) }),
        g.keyword ? h("span.muted", ` · ${t("giveaway.keyword_is", { keyword: g.keyword })}`) : null),
      g.winner ? h("div", { "data-testid": "giveaway-studio-winner" }, `${t("giveaway.winner")} `, h("b", g.winner.nickname || g.winner.user_id), ` ${t("giveaway.winner_detail", { n: g.winner.index + 1, order: g.winner.order_id || "…" })}`) : null,
      fairnessLines(g),
      h("div.row",
        g.status === "open" ? h("button", { type: "button", "data-testid": "giveaway-close", onclick: () => act(`${path}/close`, t("giveaway.closed_toast")) }, t("giveaway.close")) : null,
        g.status === "closed" ? h("button.primary", { type: "button", "data-testid": "giveaway-draw", onclick: () => act(`${path}/draw`, t("giveaway.drawn_toast")) }, t("giveaway.draw")) : null,
        g.status === "open" || g.status === "closed" ? h("button.ghost", { type: "button", onclick: () => act(`${path}/cancel`, t("giveaway.canceled_toast")) }, t("common.cancel")) : null));
  }

  fill(panel, h("h2#giveaway-h", t("giveaway.title")), box);
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
