// The sale report: the audience, the funnel from viewers to paid orders, revenue per source, product,
// offer and auction, sell-out times, and a CSV download; live while on air, final after the end.
// Shown in the studio after the show and on its own page, /console/broadcasts/{id}/report.
import { api, download } from "./api.js";
import { h, fill, toast } from "./dom.js";
import { money, clock, explain } from "./format.js";
import { timeChart } from "./charts.js";

const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;
const SOURCE_NAMES = { tiktok: "TikTok", instagram: "Instagram", youtube: "YouTube", shopify: "Shopify", facebook: "Facebook", direct: "Direct", other: "Other sites" };

export function fetchReport(id, token) {
  return api("GET", `/api/v1/broadcasts/${encodeURIComponent(id)}/report`, { token });
}

export async function downloadReport(id, token) {
  try {
    const blob = await download(`/api/v1/broadcasts/${encodeURIComponent(id)}/report`, { token, accept: "text/csv" });
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: `report-${id}.csv`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    toast(explain(e), "error");
  }
}

function table(caption, testid, columns, rows, key) {
  return h("div.table-wrap",
    h("table.orders", { "data-testid": testid },
      h("caption.muted.small", { style: { textAlign: "left", captionSide: "top" } }, caption),
      h("thead", h("tr", columns.map(([label]) => h("th", { scope: "col" }, label)))),
      h("tbody", rows.length
        ? rows.map((row) => h("tr", { dataset: key ? { key: row[key] } : {} }, columns.map(([, cell]) => h("td", cell(row)))))
        : h("tr", h("td.muted", { colSpan: columns.length }, "None")))));
}

/** The report as a panel; `report` is GET /api/v1/broadcasts/{id}/report's body. */
export function reportPanel(report, { id, token }) {
  const cur = report.currency;
  const a = report.audience;
  const s = report.sales;
  const item = (label, value, testid) => h("div.stat", h("b", { "data-testid": testid }, value), h("span", label));
  const f = report.funnel;
  const steps = [["viewers", f.viewers], ["reserved", f.reserved], ["ordered", f.ordered], ["paid", f.paid]];
  const top = Math.max(1, f.viewers);
  const funnel = h("ol.funnel", { "data-testid": "report-funnel", "aria-label": "Funnel from viewers to paid orders" },
    steps.map(([label, n]) => h("li", h("span.small", `${label}: ${n}`), h("i", { style: { width: `${Math.max(2, (100 * n) / top)}%` } }))));
  const chart = timeChart([{ label: "viewers", color: "#7aa7ff", step: true }, { label: "chat messages", color: "#f5b342", axis: "right", bars: true }], { height: 150 });
  const samples = (report.samples || []).slice();
  // the line runs on to now (or the end) at its last value: a show shorter than one bucket still draws
  const last = samples[samples.length - 1];
  if (last && a.until_ms > last.t) samples.push({ t: a.until_ms, viewers: last.viewers, chat: 0 });
  const name = (source) => SOURCE_NAMES[source] || source;
  const panel = h("section.panel.stack.report", { "aria-labelledby": "report-h", "data-testid": "report", "data-report": report.report },
    h("div.row.spread",
      h("h2#report-h", { style: { margin: 0 } }, report.report === "final" ? "Sale report" : "Sale report (live)"),
      h("button.small", { type: "button", "data-testid": "report-csv", onclick: () => downloadReport(id, token) }, "Download CSV")),
    h("div.stats",
      item("peak viewers", a.peak_viewers, "report-peak"), item("average viewers", a.average_viewers, "report-average"),
      item("unique viewers", a.unique_viewers), item("watch time", clock(a.watch_time_s)),
      item("chat / min", a.chat_per_minute), item("chatters", a.unique_chatters),
      item("orders", s.orders), item("paid orders", s.paid_orders), item("units sold", s.units),
      item("revenue", money(s.revenue, cur), "report-revenue"), item("average order", money(s.average_order_value, cur)),
      item("conversion", pct(report.conversion.paid_of_viewers), "report-conversion"), item("holds expired", s.holds_expired)),
    funnel,
    chart.el,
    table("Revenue per source", "report-sources", [
      ["Source", (r) => name(r.source)], ["Viewers", (r) => r.viewers], ["Reserved", (r) => r.reserved], ["Orders", (r) => r.orders], ["Paid", (r) => r.paid_orders],
      ["Revenue", (r) => money(r.revenue, cur)], ["Share", (r) => pct(r.share_of_revenue)],
    ], report.sources, "source"),
    table("Per product", "report-products", [
      ["Product", (r) => r.title], ["Orders", (r) => r.orders], ["Units", (r) => r.units], ["Revenue", (r) => money(r.revenue, cur)],
    ], report.products, "product_id"),
    table("Per offer", "report-offers", [
      ["Offer", (r) => r.title], ["Price", (r) => money(r.price, cur)], ["Quantity", (r) => r.quantity], ["Units", (r) => r.units],
      ["Revenue", (r) => money(r.revenue, cur)], ["Holds expired", (r) => r.holds_expired],
      ["Sold out after", (r) => (r.sold_out_after_s == null ? "–" : clock(r.sold_out_after_s))],
    ], report.offers, "offer_id"),
    report.auctions.length ? table("Per auction", "report-auctions", [
      ["Auction", (r) => r.title], ["Status", (r) => r.status], ["Winning bid", (r) => (r.winning_bid == null ? "–" : money(r.winning_bid, cur))],
      ["Revenue", (r) => money(r.revenue, cur)],
    ], report.auctions, "auction_id") : null);
  queueMicrotask(() => chart.set(samples.map((p) => p.t / 1000), samples.map((p) => p.viewers), samples.map((p) => p.chat)));
  return panel;
}

/** /console/broadcasts/{id}/report: the report on a page of its own (refreshed while on air). */
export async function reportPage(root, id, who, { navigate }) {
  const token = who.token;
  const box = h("div");
  const back = h("a.button.small.ghost", { href: `/console/broadcasts/${encodeURIComponent(id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname); } }, "← Studio");
  const heading = h("h1", { style: { margin: 0 } }, "Sale report");
  fill(root, h("div.row", { style: { marginBottom: "1rem" } }, back, heading), box);
  async function load() {
    const report = await fetchReport(id, token);
    document.title = `${report.title} · report · liveshop console`;
    heading.textContent = `Sale report: ${report.title}`;
    fill(box, reportPanel(report, { id, token }));
    return report;
  }
  const first = await load();
  const timer = first.report === "live" ? setInterval(() => { if (document.visibilityState === "visible") load().catch(() => {}); }, 15_000) : null;
  return () => clearInterval(timer);
}
