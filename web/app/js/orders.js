// The orders desk: every order of the host's shop, per broadcast or overall, filtered by status and
// buyer; refund, mark fulfilled, CSV export. Refreshes itself while open, so a payment shows up live.
import { api, download } from "./api.js";
import { h, fill, toast, modal, field } from "./dom.js";
import { money, explain, dateTime } from "./format.js";
import { t, has } from "./i18n.js";

/** An order status in the page's language (catalog keys `order.status.<status>`). */
export const statusLabel = (status) => (has(`order.status.${status}`) ? t(`order.status.${status}`) : status);
const FILTERS = ["", "pending_payment", "paid", "fulfilled", "confirmed", "refunded", "canceled"];
const REFRESH_MS = 4000;
const LIMIT = 500; // newest first; the CSV export takes the same filters

/** Whether the host may still refund / ship an order in this status (the server has the last word). */
const refundable = (o) => ["paid", "fulfilled"].includes(o.status);
const fulfillable = (o) => ["paid", "confirmed"].includes(o.status);
// an unpaid order (its units go back), or one taken without online payment
const cancelable = (o) => ["pending_payment", "confirmed"].includes(o.status);

function statusBadge(status) {
  return h("span.badge.order-status", { class: `st-${status}`, "data-testid": "order-status" }, statusLabel(status));
}

function buyerText(o) {
  const b = o.buyer || {};
  return [b.name, b.email].filter(Boolean).join(" · ") || "—";
}

function matches(o, q) {
  if (!q) return true;
  const b = o.buyer || {};
  return [o.id, b.name, b.email, b.nickname, b.address].some((v) => v && String(v).toLowerCase().includes(q));
}

/** Mounts the desk in `root`; returns a function that stops its refresh. */
export async function ordersDesk(root, who, { navigate }) {
  const token = who.token;
  const params = new URLSearchParams(location.search);
  document.title = t("orders.page_title");
  const { items: broadcasts } = await api("GET", "/api/v1/broadcasts", { token });

  const broadcastSelect = h("select#orders-broadcast", { "aria-label": t("orders.broadcast"), onchange: () => { syncUrl(); load(); } },
    h("option", { value: "" }, t("orders.all_broadcasts")),
    broadcasts.map((b) => h("option", { value: b.id }, b.title)));
  broadcastSelect.value = params.get("broadcast_id") || "";
  const statusSelect = h("select#orders-status", { "aria-label": t("orders.status"), onchange: () => { syncUrl(); load(); } },
    FILTERS.map((s) => h("option", { value: s }, s ? statusLabel(s) : t("orders.any_status"))));
  statusSelect.value = params.get("status") || "";
  let searchTimer = null;
  const search = h("input#orders-search", { type: "search", placeholder: t("orders.search_placeholder"), "aria-label": t("orders.search_label"), oninput: () => {
    render(); // at once on what is loaded, then the server's answer over every order
    clearTimeout(searchTimer);
    searchTimer = setTimeout(load, 300);
  } });
  const exportButton = h("button", { type: "button", onclick: exportCsv }, t("orders.export_csv"));
  const summary = h("p.muted.small", { "data-testid": "orders-summary", "aria-live": "polite" });
  const tbody = h("tbody");
  const empty = h("p.muted", { hidden: true }, t("orders.none_match"));
  const error = h("p.notice.error", { role: "alert", hidden: true });
  let orders = [];
  let timer = null;
  let loads = 0;

  fill(root,
    h("div.row.spread", { style: { marginBottom: "1rem" } },
      h("div.row", h("a.button.small.ghost", { href: "/console", onclick: (e) => { e.preventDefault(); navigate("/console"); } }, t("console.back_to_broadcasts")), h("h1", { style: { margin: 0 } }, t("orders.title"))),
      h("div.row", exportButton)),
    h("section.panel.stack",
      h("div.filters",
        field(t("orders.broadcast"), broadcastSelect), field(t("orders.status"), statusSelect), field(t("orders.buyer"), search)),
      summary, error,
      h("div.table-wrap", h("table.orders", { "data-testid": "orders-table" },
        h("thead", h("tr", ["order", "placed", "buyer", "items", "total", "status", "payment"].map((k) => h("th", { scope: "col" }, t(`orders.${k}`))), h("th", { scope: "col" }))),
        tbody)),
      empty));

  function query() {
    const q = new URLSearchParams();
    if (broadcastSelect.value) q.set("broadcast_id", broadcastSelect.value);
    if (statusSelect.value) q.set("status", statusSelect.value);
    const text = search.value.trim();
    if (text) q.set("q", text);
    return q.toString();
  }

  function syncUrl() {
    const q = new URLSearchParams(query());
    q.delete("q");
    history.replaceState({}, "", `/console/orders${q.size ? `?${q}` : ""}`);
  }

  async function load() {
    const seq = ++loads; // the newest request wins; an older answer is dropped
    try {
      const q = query();
      const reply = await api("GET", `/api/v1/orders?${q ? `${q}&` : ""}limit=${LIMIT}`, { token });
      if (seq !== loads) return;
      orders = reply.items || [];
      error.hidden = true;
      render();
    } catch (e) {
      if (seq !== loads) return;
      error.textContent = explain(e);
      error.hidden = false;
    }
  }

  function render() {
    const q = search.value.trim().toLowerCase();
    const shown = orders.filter((o) => matches(o, q));
    const totals = new Map();
    for (const o of shown) {
      if (["paid", "fulfilled", "confirmed"].includes(o.status)) totals.set(o.currency, (totals.get(o.currency) || 0) + o.total);
    }
    summary.textContent = t("orders.count", { count: shown.length }) +
      (totals.size ? ` · ${t("orders.taken", { amount: [...totals].map(([c, sum]) => money(sum, c)).join(" + ") })}` : "");
    empty.hidden = shown.length > 0;
    fill(tbody, shown.map(row));
  }

  function row(o) {
    const items = (o.items || []).map((i) => `${i.quantity} × ${i.title || i.sku || i.product_id}`).join(", ");
    const pay = o.payment ? `${o.payment.provider}${o.payment.status ? ` · ${o.payment.status}` : ""}` : t("orders.on_delivery");
    return h("tr", { dataset: { order: o.id } },
      h("td", h("code.small", o.id)),
      h("td.small", o.created_at ? dateTime(o.created_at) : ""),
      h("td", buyerText(o)),
      h("td.small", items),
      h("td.num", money(o.total, o.currency)),
      h("td", statusBadge(o.status), o.notice ? h("div.muted.small", o.notice) : null),
      h("td.small.muted", pay),
      h("td.actions",
        fulfillable(o) ? h("button.small", { type: "button", onclick: () => fulfil(o) }, t("orders.mark_fulfilled")) : null,
        refundable(o) ? h("button.small.danger", { type: "button", onclick: () => refund(o) }, t("orders.refund")) : null,
        cancelable(o) ? h("button.small.ghost", { type: "button", onclick: () => cancel(o) }, t("orders.cancel")) : null));
  }

  async function refund(o) {
    const reason = await modal(t("orders.refund_title", { id: o.id }), (close) => {
      const input = h("input", { maxlength: 200, placeholder: t("orders.reason_placeholder") });
      return h("form.stack", { onsubmit: (e) => { e.preventDefault(); close(input.value.trim()); } },
        h("p", t("orders.refund_body", { amount: money(o.total, o.currency), buyer: buyerText(o) })),
        field(t("orders.reason"), input),
        h("div.row", h("button.danger", { type: "submit" }, t("orders.refund_order")), h("button", { type: "button", onclick: () => close(null) }, t("orders.keep_it"))));
    });
    if (reason === null || reason === undefined) return;
    try {
      await api("POST", `/api/v1/orders/${encodeURIComponent(o.id)}/refund`, { token, body: reason ? { reason } : {} });
      toast(t("orders.refunded_toast", { id: o.id }), "ok");
    } catch (e) {
      toast(explain(e), "error");
    }
    load();
  }

  async function cancel(o) {
    const sure = await modal(t("orders.cancel_title", { id: o.id }), (close) => h("div.stack",
      h("p", o.status === "pending_payment" ? t("orders.cancel_unpaid_body") : t("orders.cancel_body")),
      h("div.row", h("button.danger", { type: "button", onclick: () => close(true) }, t("orders.cancel")), h("button", { type: "button", onclick: () => close(false) }, t("orders.keep_it")))));
    if (!sure) return;
    try {
      await api("POST", `/api/v1/orders/${encodeURIComponent(o.id)}/cancel`, { token, body: {} });
      toast(t("orders.canceled_toast", { id: o.id }), "ok");
    } catch (e) {
      toast(explain(e), "error");
    }
    load();
  }

  async function fulfil(o) {
    try {
      await api("POST", `/api/v1/orders/${encodeURIComponent(o.id)}/fulfil`, { token, body: {} });
      toast(t("orders.fulfilled_toast", { id: o.id }), "ok");
    } catch (e) {
      toast(explain(e), "error");
    }
    load();
  }

  async function exportCsv() {
    exportButton.disabled = true;
    try {
      const q = query();
      const blob = await download(`/api/v1/orders${q ? `?${q}` : ""}`, { token, accept: "text/csv" });
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: `orders-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      toast(explain(e), "error");
    } finally {
      exportButton.disabled = false;
    }
  }

  await load();
  timer = setInterval(() => {
    if (document.visibilityState === "visible") load();
  }, REFRESH_MS);
  return () => {
    clearInterval(timer);
    clearTimeout(searchTimer);
  };
}
