// The orders desk: every order of the host's shop, per broadcast or overall, filtered by status and
// buyer; refund, mark fulfilled, CSV export. Refreshes itself while open, so a payment shows up live.
import { api, download } from "./api.js";
import { h, fill, toast, modal, field } from "./dom.js";
import { money, explain } from "./format.js";

export const STATUS_LABELS = {
  pending_payment: "Awaiting payment",
  paid: "Paid",
  fulfilled: "Fulfilled",
  confirmed: "Confirmed",
  canceled: "Canceled",
  cancelled: "Canceled",
  refunded: "Refunded",
  flagged: "Flagged",
};
const FILTERS = ["", "pending_payment", "paid", "fulfilled", "confirmed", "refunded", "canceled"];
const REFRESH_MS = 4000;
const LIMIT = 500; // newest first; the CSV export takes the same filters

/** Whether the host may still refund / ship an order in this status (the server has the last word). */
const refundable = (o) => ["paid", "fulfilled"].includes(o.status);
const fulfillable = (o) => ["paid", "confirmed"].includes(o.status);
// an unpaid order (its units go back), or one taken without online payment
const cancelable = (o) => ["pending_payment", "confirmed"].includes(o.status);

function statusBadge(status) {
  return h("span.badge.order-status", { class: `st-${status}`, "data-testid": "order-status" }, STATUS_LABELS[status] || status);
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
  document.title = "Orders · liveshop console";
  const { items: broadcasts } = await api("GET", "/api/v1/broadcasts", { token });

  const broadcastSelect = h("select#orders-broadcast", { "aria-label": "Broadcast", onchange: () => { syncUrl(); load(); } },
    h("option", { value: "" }, "All broadcasts"),
    broadcasts.map((b) => h("option", { value: b.id }, b.title)));
  broadcastSelect.value = params.get("broadcast_id") || "";
  const statusSelect = h("select#orders-status", { "aria-label": "Status", onchange: () => { syncUrl(); load(); } },
    FILTERS.map((s) => h("option", { value: s }, s ? STATUS_LABELS[s] : "Any status")));
  statusSelect.value = params.get("status") || "";
  let searchTimer = null;
  const search = h("input#orders-search", { type: "search", placeholder: "Name, email or order number", "aria-label": "Search by buyer", oninput: () => {
    render(); // at once on what is loaded, then the server's answer over every order
    clearTimeout(searchTimer);
    searchTimer = setTimeout(load, 300);
  } });
  const exportButton = h("button", { type: "button", onclick: exportCsv }, "Export CSV");
  const summary = h("p.muted.small", { "data-testid": "orders-summary", "aria-live": "polite" });
  const tbody = h("tbody");
  const empty = h("p.muted", { hidden: true }, "No orders match.");
  const error = h("p.notice.error", { role: "alert", hidden: true });
  let orders = [];
  let timer = null;
  let loads = 0;

  fill(root,
    h("div.row.spread", { style: { marginBottom: "1rem" } },
      h("div.row", h("a.button.small.ghost", { href: "/console", onclick: (e) => { e.preventDefault(); navigate("/console"); } }, "← Broadcasts"), h("h1", { style: { margin: 0 } }, "Orders")),
      h("div.row", exportButton)),
    h("section.panel.stack",
      h("div.filters",
        field("Broadcast", broadcastSelect), field("Status", statusSelect), field("Buyer", search)),
      summary, error,
      h("div.table-wrap", h("table.orders", { "data-testid": "orders-table" },
        h("thead", h("tr", ["Order", "Placed", "Buyer", "Items", "Total", "Status", "Payment", ""].map((t) => h("th", { scope: "col" }, t)))),
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
    summary.textContent = `${shown.length} order${shown.length === 1 ? "" : "s"}` +
      (totals.size ? ` · taken ${[...totals].map(([c, t]) => money(t, c)).join(" + ")}` : "");
    empty.hidden = shown.length > 0;
    fill(tbody, shown.map(row));
  }

  function row(o) {
    const items = (o.items || []).map((i) => `${i.quantity} × ${i.title || i.sku || i.product_id}`).join(", ");
    const pay = o.payment ? `${o.payment.provider}${o.payment.status ? ` · ${o.payment.status}` : ""}` : "on delivery";
    return h("tr", { dataset: { order: o.id } },
      h("td", h("code.small", o.id)),
      h("td.small", o.created_at ? new Date(o.created_at).toLocaleString() : ""),
      h("td", buyerText(o)),
      h("td.small", items),
      h("td.num", money(o.total, o.currency)),
      h("td", statusBadge(o.status), o.notice ? h("div.muted.small", o.notice) : null),
      h("td.small.muted", pay),
      h("td.actions",
        fulfillable(o) ? h("button.small", { type: "button", onclick: () => fulfil(o) }, "Mark fulfilled") : null,
        refundable(o) ? h("button.small.danger", { type: "button", onclick: () => refund(o) }, "Refund") : null,
        cancelable(o) ? h("button.small.ghost", { type: "button", onclick: () => cancel(o) }, "Cancel order") : null));
  }

  async function refund(o) {
    const reason = await modal(`Refund ${o.id}?`, (close) => {
      const input = h("input", { maxlength: 200, placeholder: "e.g. out of stock, customer request" });
      return h("form.stack", { onsubmit: (e) => { e.preventDefault(); close(input.value.trim()); } },
        h("p", `${money(o.total, o.currency)} goes back to ${buyerText(o)}; the units return to the shelf.`),
        field("Reason (optional)", input),
        h("div.row", h("button.danger", { type: "submit" }, "Refund order"), h("button", { type: "button", onclick: () => close(null) }, "Keep it")));
    });
    if (reason === null || reason === undefined) return;
    try {
      await api("POST", `/api/v1/orders/${encodeURIComponent(o.id)}/refund`, { token, body: reason ? { reason } : {} });
      toast(`Order ${o.id} refunded`, "ok");
    } catch (e) {
      toast(explain(e), "error");
    }
    load();
  }

  async function cancel(o) {
    const sure = await modal(`Cancel ${o.id}?`, (close) => h("div.stack",
      h("p", o.status === "pending_payment"
        ? "The buyer has not paid yet: the order is canceled and its units go back on sale."
        : "The order is canceled and its units go back to the shelf."),
      h("div.row", h("button.danger", { type: "button", onclick: () => close(true) }, "Cancel order"), h("button", { type: "button", onclick: () => close(false) }, "Keep it"))));
    if (!sure) return;
    try {
      await api("POST", `/api/v1/orders/${encodeURIComponent(o.id)}/cancel`, { token, body: {} });
      toast(`Order ${o.id} canceled`, "ok");
    } catch (e) {
      toast(explain(e), "error");
    }
    load();
  }

  async function fulfil(o) {
    try {
      await api("POST", `/api/v1/orders/${encodeURIComponent(o.id)}/fulfil`, { token, body: {} });
      toast(`Order ${o.id} marked fulfilled`, "ok");
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
