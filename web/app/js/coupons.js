// Live coupons: the studio's panel (create a code, watch its uses left, end it), the watch page's
// announcement, and what the checkout sheet knows of the codes the room announced (to show the
// discount before the order is placed; the server's order has the last word).
import { api } from "./api.js";
import { h, fill, toast, field } from "./dom.js";
import { money, toMinor, clock, secondsUntil, explain } from "./format.js";

const announced = new Map(); // code -> coupon, as the room told this page

/** Remembers coupons from a snapshot (`coupons`) or a `coupon` room event. */
export function learnCoupons(data) {
  if (!data) return;
  if (Array.isArray(data.coupons)) {
    announced.clear();
    for (const c of data.coupons) announced.set(c.code, c);
  } else if (data.coupon) {
    const known = announced.get(data.coupon.code);
    if (data.type === "ended") announced.delete(data.coupon.code);
    else if (data.type === "used") { if (known) known.uses_left = data.coupon.uses_left; }
    else announced.set(data.coupon.code, data.coupon);
  }
}

/** The running coupons this page heard of, the newest first. */
export function knownCoupons() {
  return [...announced.values()].filter((c) => c.status !== "ended" && secondsUntil(c.expires_at) > 0).reverse();
}

/** The discount `code` would give on `subtotal` (minor units), or null when the page does not know it. */
export function discountFor(code, subtotal, currency) {
  const c = announced.get((code || "").trim().toUpperCase());
  if (!c || secondsUntil(c.expires_at) <= 0) return null;
  if (c.percent_off != null) return Math.floor((subtotal * c.percent_off) / 100);
  if (c.currency && c.currency !== currency) return null;
  return Math.min(subtotal, c.amount_off || 0);
}

export function describe(c) {
  return c.percent_off != null ? `${c.percent_off}% off` : `${money(c.amount_off, c.currency)} off`;
}

/** The watch page's banner of announced coupons (code, what it takes off, time and uses left). */
export function couponBanner() {
  const box = h("div.coupon-banner", { "aria-live": "polite", "data-testid": "coupons", hidden: true });
  function render() {
    const list = knownCoupons();
    box.hidden = list.length === 0;
    fill(box, list.slice(0, 2).map((c) => h("div.coupon", { dataset: { code: c.code } },
      h("span.tag", "Coupon"),
      h("b.code", { "data-testid": "coupon-code" }, c.code),
      h("span", describe(c)),
      h("span.muted.small", { "data-testid": "coupon-left" }, c.uses_left > 0 ? ` · ${c.uses_left} left · ` : " · used up · ", h("span", { "data-countdown": c.expires_at }, clock(secondsUntil(c.expires_at)))),
      h("button.small.ghost", { type: "button", "aria-label": `Copy coupon ${c.code}`, onclick: () => navigator.clipboard && navigator.clipboard.writeText(c.code).then(() => toast(`${c.code} copied — use it at checkout`, "ok", 2000), () => {}) }, "Copy"))));
  }
  return {
    el: box,
    update(data) {
      learnCoupons(data);
      render();
    },
    tick() {
      for (const el of box.querySelectorAll("[data-countdown]")) {
        const left = secondsUntil(el.dataset.countdown);
        el.textContent = clock(left);
        if (left <= 0) render();
      }
    },
  };
}

/** The studio's coupons panel: a form for a new code and the list with live uses left. */
export function couponsPanel({ id, token, currency, ended }) {
  const listBox = h("div.stack", { "data-testid": "coupon-list", "aria-live": "polite" });
  const code = h("input", { required: true, maxlength: 32, pattern: "[A-Za-z0-9_-]{3,32}", placeholder: "LIVE10", autocapitalize: "characters" });
  const kind = h("select", h("option", { value: "percent" }, "% off"), h("option", { value: "amount" }, "amount off"));
  const value = h("input", { required: true, inputmode: "decimal", value: "10" });
  const uses = h("input", { type: "number", min: 1, max: 1000000, value: 100, required: true });
  const perBuyer = h("input", { type: "number", min: 1, max: 1000, value: 1, required: true });
  const minutes = h("select", [["5", "5 minutes"], ["10", "10 minutes"], ["15", "15 minutes"], ["30", "30 minutes"], ["60", "1 hour"], ["180", "3 hours"]]
    .map(([v, label]) => h("option", { value: v, selected: v === "15" }, label)));
  const error = h("p.error-text", { role: "alert", hidden: true });
  const go = h("button.primary.small", { type: "submit" }, "Announce coupon");
  const form = h("form.stack", { onsubmit: create, "data-testid": "coupon-form" },
    h("div.grid-2", field("Code", code), h("div.grid-2", field("Kind", kind), field("Value", value))),
    h("div.grid-2", h("div.grid-2", field("Uses in all", uses), field("Per buyer", perBuyer)), field("Runs for", minutes)),
    error, go);
  const panel = h("section.panel.stack", { "aria-labelledby": "coupons-h" }, h("h2#coupons-h", "Live coupons"), form, listBox);
  let items = [];

  async function create(event) {
    event.preventDefault();
    error.hidden = true;
    const cur = currency();
    const body = { code: code.value.trim(), max_uses: Number(uses.value), max_per_buyer: Number(perBuyer.value), duration_s: Number(minutes.value) * 60 };
    if (kind.value === "percent") body.percent_off = Math.round(Number(value.value));
    else Object.assign(body, { amount_off: toMinor(value.value, cur), currency: cur });
    if (Number.isNaN(body.percent_off ?? body.amount_off)) {
      error.textContent = "The value must be a number";
      error.hidden = false;
      return;
    }
    go.disabled = true;
    try {
      const c = await api("POST", `/api/v1/broadcasts/${id}/coupons`, { token, body });
      toast(`${c.code} announced to the room`, "ok", 2500);
      code.value = "";
      await refresh();
    } catch (e) {
      error.textContent = explain(e);
      error.hidden = false;
    } finally {
      go.disabled = false;
    }
  }

  async function end(c) {
    try {
      await api("DELETE", `/api/v1/broadcasts/${id}/coupons/${encodeURIComponent(c.code)}`, { token });
      toast(`${c.code} ended`, "ok", 2000);
      await refresh();
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  function render() {
    go.disabled = ended();
    fill(listBox, items.length === 0 ? h("p.muted.small", "No coupons yet. A code you announce shows on every viewer's screen.") : items.map((c) => {
      const running = c.status === "active" && secondsUntil(c.expires_at) > 0;
      return h("div.row.spread.coupon-row", { dataset: { code: c.code } },
        h("div", h("b", c.code), " ", h("span.muted", describe(c)),
          h("div.small", h("span", { "data-testid": "uses-left" }, `${c.uses_left} of ${c.max_uses} left`), h("span.muted", running ? ` · ends in ${clock(secondsUntil(c.expires_at))}` : " · ended"))),
        running ? h("button.small", { type: "button", "aria-label": `End coupon ${c.code}`, onclick: () => end(c) }, "End") : null);
    }));
  }

  async function refresh() {
    try {
      items = (await api("GET", `/api/v1/broadcasts/${id}/coupons`, { token })).items;
      render();
    } catch {
      /* the next tick retries */
    }
  }

  return { panel, refresh, render };
}
