// Live coupons: the studio's panel (create a code, watch its uses left, end it), the watch page's
// announcement, and what the checkout sheet knows of the codes the room announced (to show the
// discount before the order is placed; the server's order has the last word).
import { api } from "./api.js";
import { h, fill, toast, field } from "./dom.js";
import { money, toMinor, clock, secondsUntil, explain, percent } from "./format.js";
import { t } from "./i18n.js";

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
  return c.percent_off != null ? t("coupons.percent_off", { percent: percent(c.percent_off / 100, 0) }) : t("coupons.amount_off", { amount: money(c.amount_off, c.currency) });
}

/** The watch page's banner of announced coupons (code, what it takes off, time and uses left). */
export function couponBanner() {
  const box = h("div.coupon-banner", { "aria-live": "polite", "data-testid": "coupons", hidden: true });
  function render() {
    const list = knownCoupons();
    box.hidden = list.length === 0;
    fill(box, list.slice(0, 2).map((c) => h("div.coupon", { dataset: { code: c.code } },
      h("span.tag", t("coupons.coupon")),
      h("b.code", { "data-testid": "coupon-code" }, c.code),
      h("span", describe(c)),
      h("span.muted.small", { "data-testid": "coupon-left" }, ` · ${c.uses_left > 0 ? t("coupons.left", { count: c.uses_left }) : t("coupons.used_up")} · `, h("span", { "data-countdown": c.expires_at }, clock(secondsUntil(c.expires_at)))),
      h("button.small.ghost", { type: "button", "aria-label": t("coupons.copy_what", { code: c.code }), onclick: () => navigator.clipboard && navigator.clipboard.writeText(c.code).then(() => toast(t("coupons.copied", { code: c.code }), "ok", 2000), () => {}) }, t("common.copy")))));
  }
  return {
    el: box,
    render,
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
  const kind = h("select", h("option", { value: "percent" }, t("coupons.kind_percent")), h("option", { value: "amount" }, t("coupons.kind_amount")));
  const value = h("input", { required: true, inputmode: "decimal", value: "10" });
  const uses = h("input", { type: "number", min: 1, max: 1000000, value: 100, required: true });
  const perBuyer = h("input", { type: "number", min: 1, max: 1000, value: 1, required: true });
  const minutes = h("select", [5, 10, 15, 30, 60, 180]
    .map((v) => h("option", { value: String(v), selected: v === 15 }, v < 60 ? t("common.minutes", { count: v }) : t("common.hours", { count: v / 60 }))));
  const error = h("p.error-text", { role: "alert", hidden: true });
  const go = h("button.primary.small", { type: "submit" }, t("coupons.announce"));
  const form = h("form.stack", { onsubmit: create, "data-testid": "coupon-form" },
    h("div.grid-2", field(t("coupons.code"), code), h("div.grid-2", field(t("coupons.kind"), kind), field(t("coupons.value"), value))),
    h("div.grid-2", h("div.grid-2", field(t("coupons.uses"), uses), field(t("coupons.per_buyer"), perBuyer)), field(t("coupons.runs_for"), minutes)),
    error, go);
  const panel = h("section.panel.stack", { "aria-labelledby": "coupons-h" }, h("h2#coupons-h", t("coupons.title")), form, listBox);
  let items = [];

  async function create(event) {
    event.preventDefault();
    error.hidden = true;
    const cur = currency();
    const body = { code: code.value.trim(), max_uses: Number(uses.value), max_per_buyer: Number(perBuyer.value), duration_s: Number(minutes.value) * 60 };
    if (kind.value === "percent") body.percent_off = Math.round(Number(value.value));
    else Object.assign(body, { amount_off: toMinor(value.value, cur), currency: cur });
    if (Number.isNaN(body.percent_off ?? body.amount_off)) {
      error.textContent = t("coupons.value_not_a_number");
      error.hidden = false;
      return;
    }
    go.disabled = true;
    try {
      const c = await api("POST", `/api/v1/broadcasts/${id}/coupons`, { token, body });
      toast(t("coupons.announced", { code: c.code }), "ok", 2500);
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
      toast(t("coupons.ended_toast", { code: c.code }), "ok", 2000);
      await refresh();
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  function render() {
    go.disabled = ended();
    fill(listBox, items.length === 0 ? h("p.muted.small", t("coupons.none")) : items.map((c) => {
      const running = c.status === "active" && secondsUntil(c.expires_at) > 0;
      return h("div.row.spread.coupon-row", { dataset: { code: c.code } },
        h("div", h("b", c.code), " ", h("span.muted", describe(c)),
          h("div.small", h("span", { "data-testid": "uses-left" }, t("coupons.left_of", { left: c.uses_left, count: c.max_uses })), h("span.muted", running ? ` · ${t("coupons.ends_in", { time: clock(secondsUntil(c.expires_at)) })}` : ` · ${t("coupons.ended")}`))),
        running ? h("button.small", { type: "button", "aria-label": t("coupons.end_what", { code: c.code }), onclick: () => end(c) }, t("coupons.end")) : null);
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
