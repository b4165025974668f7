// The studio's auctions: start one for a product (starting bid, increment, time, anti-snipe or sudden
// death, reserve), watch it live (high bid, bidder, bids, countdown with its extensions) and stop it.
import { api } from "./api.js";
import { h, fill, toast, field } from "./dom.js";
import { money, toMinor, clock, secondsUntil, explain } from "./format.js";
import { t } from "./i18n.js";

/**
 * auctionsPanel({id, token}) -> {panel, attach(room), load(), tick()}
 * Labels are read when it is built: a change of language rebuilds the studio (console.js re-routes).
 */
export function auctionsPanel({ id, token }) {
  let products = [];
  let a = null;
  let lastEnd = null;
  let extensions = 0;
  const live = h("div.stack", { "data-testid": "auction-live", "aria-live": "polite" });
  const productSelect = h("select", { id: "auction-product", "data-testid": "auction-product" });
  const starting = h("input", { id: "auction-start", type: "text", inputmode: "decimal", value: "10", "data-testid": "auction-starting" });
  const increment = h("input", { id: "auction-inc", type: "text", inputmode: "decimal", value: "1", "data-testid": "auction-increment" });
  const duration = h("input", { id: "auction-time", type: "number", min: 5, max: 86400, value: 30, "data-testid": "auction-duration" });
  const antiSnipe = h("input", { id: "auction-snipe", type: "number", min: 0, max: 3600, value: 10, "data-testid": "auction-anti-snipe" });
  const sudden = h("input", { id: "auction-sudden", type: "checkbox", "data-testid": "auction-sudden" });
  const suddenS = h("input", { id: "auction-sudden-s", type: "number", min: 1, max: 3600, value: 10, "aria-label": t("auctions.sudden_window") });
  const reserve = h("input", { id: "auction-reserve", type: "text", inputmode: "decimal", placeholder: t("auctions.reserve_none"), "data-testid": "auction-reserve" });
  const error = h("p.error-text", { role: "alert", hidden: true });
  sudden.addEventListener("change", () => {
    antiSnipe.disabled = sudden.checked; // sudden death never extends
  });

  const form = h("form.stack", {
    "data-testid": "auction-form",
    onsubmit: async (event) => {
      event.preventDefault();
      const p = products.find((x) => x.id === productSelect.value);
      if (!p) return;
      const body = {
        product_id: p.id,
        starting_bid: toMinor(starting.value, p.currency),
        increment: toMinor(increment.value, p.currency),
        duration_s: Number(duration.value),
        anti_snipe_s: sudden.checked ? 0 : Number(antiSnipe.value),
      };
      if (sudden.checked) body.sudden_death_s = Number(suddenS.value);
      if (reserve.value.trim()) body.reserve_price = toMinor(reserve.value, p.currency);
      error.hidden = true;
      try {
        show(await api("POST", `/api/v1/broadcasts/${encodeURIComponent(id)}/auctions`, { token, body }));
        toast(t("auctions.started", { title: p.title }), "ok", 2500);
      } catch (e) {
        error.textContent = explain(e);
        error.hidden = false;
      }
    },
  },
  field(t("auctions.product"), productSelect),
  h("div.grid-2", field(t("auctions.starting_bid"), starting), field(t("auctions.increment"), increment)),
  h("div.grid-2", field(t("auctions.duration"), duration), field(t("auctions.anti_snipe"), antiSnipe, t("auctions.anti_snipe_hint"))),
  h("div.row", sudden, h("label", { for: "auction-sudden" }, t("auction.sudden_death")), suddenS,
    h("span.muted.small", t("auctions.sudden_hint"))),
  field(t("auctions.reserve"), reserve, t("auctions.reserve_hint")),
  error,
  h("button.primary", { type: "submit", "data-testid": "auction-start-go" }, t("auctions.start")));

  const panel = h("section.panel.stack", { "aria-labelledby": "auctions-h", "data-testid": "auctions-panel" },
    h("h2#auctions-h", t("auction.label")), live, h("details", h("summary", t("auctions.start_one")), form));

  function show(next) {
    if (!next || next.broadcast_id !== id) return;
    if (a && a.id === next.id && next.bid_count < a.bid_count) return;
    if (!a || a.id !== next.id) {
      extensions = 0;
      lastEnd = null;
    }
    if (lastEnd && Date.parse(next.ends_at) > Date.parse(lastEnd)) extensions += 1;
    lastEnd = next.ends_at;
    a = next;
    render();
  }

  function countdown() {
    if (a.status !== "active") return t("auction.ended");
    return a.sudden_death ? t("auction.sudden_death_time", { time: clock(secondsUntil(a.closes_at)) }) : clock(secondsUntil(a.ends_at));
  }

  function render() {
    if (!a) {
      fill(live, h("p.muted", t("auctions.none_running")));
      return;
    }
    const p = products.find((x) => x.id === a.product_id) || { title: a.product_id };
    const active = a.status === "active";
    fill(live,
      h("div.row.spread",
        h("b", p.title),
        h("span.countdown", { "data-testid": "console-auction-countdown" }, countdown())),
      h("div",
        h("span.price", { "data-testid": "console-high-bid" }, a.high_bid ? money(a.high_bid, a.currency) : t("auctions.no_bids")),
        h("span.muted", { "data-testid": "console-high-bidder" }, a.high_bidder ? ` · ${a.high_bidder.nickname}` : ""),
        h("span.muted.small", ` · ${t("auction.bids", { count: a.bid_count })}`, extensions ? ` · ${t("auctions.extended_times", { count: extensions })}` : "",
          a.reserve_met === false ? ` · ${t("auction.reserve_not_met")}` : a.reserve_met ? ` · ${t("auction.reserve_met")}` : "")),
      h("ol.bids.small", { "data-testid": "console-bids" },
        a.bids.slice(0, 8).map((b) => h("li", h("b", money(b.amount, a.currency)), ` ${b.bidder.nickname}`))),
      active
        ? h("button.danger.small", { type: "button", "data-testid": "auction-stop", onclick: stop }, t("auctions.stop"))
        : h("p.muted", a.winner
          ? t(a.winner.second_chance ? "auctions.won_at_second_chance" : "auctions.won_at", { amount: money(a.winner.amount || a.high_bid, a.currency) })
          : t("auction.no_sale")));
  }

  async function stop() {
    try {
      show(await api("POST", `/api/v1/auctions/${encodeURIComponent(a.id)}/end`, { token }));
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  async function refresh() {
    if (!a) return;
    try {
      show(await api("GET", `/api/v1/auctions/${encodeURIComponent(a.id)}`));
    } catch {
      /* the next event or tick brings it */
    }
  }

  return {
    panel,
    attach(room) {
      const socket = room && room.state && room.state.socket;
      if (socket) socket.on("auction", (data) => show(data.auction));
    },
    async load() {
      try {
        products = (await api("GET", "/api/v1/products", { token })).items.filter((p) => p.stock > 0);
        fill(productSelect, products.map((p) => h("option", { value: p.id }, t("auctions.product_option", { title: p.title, count: p.stock }))));
        const list = await api("GET", `/api/v1/broadcasts/${encodeURIComponent(id)}/auctions`);
        if (list.items.length) show(list.items[0]);
        else render();
      } catch {
        render();
      }
    },
    tick() {
      if (!a) return;
      const c = live.querySelector("[data-testid=console-auction-countdown]");
      if (c) c.textContent = countdown();
      if (a.status === "active" && secondsUntil(a.sudden_death ? a.closes_at : a.ends_at) < -1) refresh();
    },
  };
}
