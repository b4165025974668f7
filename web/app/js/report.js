// The sale report: the audience, the funnel from viewers to paid orders, revenue per source, product,
// offer and auction, sell-out times, and a CSV download; live while on air, final after the end.
// Shown in the studio after the show and on its own page, /console/broadcasts/{id}/report.
import { api, download } from "./api.js";
import { h, fill, toast } from "./dom.js";
import { money, clock, explain, percent } from "./format.js";
import { t, has } from "./i18n.js";
import { timeChart } from "./charts.js";

const pct = (x) => percent(x || 0);
const SOURCE_NAMES = { tiktok: "TikTok", instagram: "Instagram", youtube: "YouTube", shopify: "Shopify", facebook: "Facebook" };
// "direct" and "other" are words of the page's language (report.source.direct, report.source.other)
const sourceName = (source) => SOURCE_NAMES[source] || (has(`report.source.${source}`) ? t(`report.source.${source}`) : source);

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
        : h("tr", h("td.muted", { colSpan: columns.length }, t("report.none"))))));
}

/** The report as a panel; `report` is GET /api/v1/broadcasts/{id}/report's body. */
export function reportPanel(report, { id, token }) {
  const cur = report.currency;
  const a = report.audience;
  const s = report.sales;
  const item = (label, value, testid) => h("div.stat", h("b", { "data-testid": testid }, value), h("span", label));
  const f = report.funnel;
  const steps = [[t("report.viewers"), f.viewers], [t("report.reserved"), f.reserved], [t("report.ordered"), f.ordered], [t("report.paid"), f.paid]];
  const top = Math.max(1, f.viewers);
  const funnel = h("ol.funnel", { "data-testid": "report-funnel", "aria-label": t("report.funnel_label") },
    steps.map(([label, n]) => h("li", h("span.small", `${label}: ${n}`), h("i", { style: { width: `${Math.max(2, (100 * n) / top)}%` } }))));
  const chart = timeChart([{ label: t("dash.viewers"), color: "#7aa7ff", step: true }, { label: t("dash.chat_messages"), color: "#f5b342", axis: "right", bars: true }], { height: 150 });
  const samples = (report.samples || []).slice();
  // the line runs on to now (or the end) at its last value: a show shorter than one bucket still draws
  const last = samples[samples.length - 1];
  if (last && a.until_ms > last.t) samples.push({ t: a.until_ms, viewers: last.viewers, chat: 0 });
  const name = sourceName;
  const panel = h("section.panel.stack.report", { "aria-labelledby": "report-h", "data-testid": "report", "data-report": report.report },
    h("div.row.spread",
      h("h2#report-h", { style: { margin: 0 } }, report.report === "final" ? t("dash.sale_report") : t("report.title_live")),
      h("button.small", { type: "button", "data-testid": "report-csv", onclick: () => downloadReport(id, token) }, t("report.download_csv"))),
    h("div.stats",
      item(t("dash.peak_viewers"), a.peak_viewers, "report-peak"), item(t("report.average_viewers"), a.average_viewers, "report-average"),
      item(t("report.unique_viewers"), a.unique_viewers), item(t("report.watch_time"), clock(a.watch_time_s)),
      item(t("dash.chat_per_min"), a.chat_per_minute), item(t("report.chatters"), a.unique_chatters),
      item(t("dash.orders"), s.orders), item(t("report.paid_orders"), s.paid_orders), item(t("dash.units_sold"), s.units),
      item(t("dash.revenue"), money(s.revenue, cur), "report-revenue"), item(t("report.average_order"), money(s.average_order_value, cur)),
      item(t("dash.conversion"), pct(report.conversion.paid_of_viewers), "report-conversion"), item(t("report.holds_expired"), s.holds_expired)),
    funnel,
    chart.el,
    table(t("dash.revenue_per_source"), "report-sources", [
      [t("report.col.source"), (r) => name(r.source)], [t("report.col.viewers"), (r) => r.viewers], [t("report.col.reserved"), (r) => r.reserved], [t("report.col.orders"), (r) => r.orders], [t("report.col.paid"), (r) => r.paid_orders],
      [t("report.col.revenue"), (r) => money(r.revenue, cur)], [t("report.col.share"), (r) => pct(r.share_of_revenue)],
    ], report.sources, "source"),
    table(t("report.per_product"), "report-products", [
      [t("report.col.product"), (r) => r.title], [t("report.col.orders"), (r) => r.orders], [t("report.col.units"), (r) => r.units], [t("report.col.revenue"), (r) => money(r.revenue, cur)],
    ], report.products, "product_id"),
    table(t("report.per_offer"), "report-offers", [
      [t("report.col.offer"), (r) => r.title], [t("report.col.price"), (r) => money(r.price, cur)], [t("report.col.quantity"), (r) => r.quantity], [t("report.col.units"), (r) => r.units],
      [t("report.col.revenue"), (r) => money(r.revenue, cur)], [t("report.holds_expired"), (r) => r.holds_expired],
      [t("report.col.sold_out_after"), (r) => (r.sold_out_after_s == null ? "–" : clock(r.sold_out_after_s))],
    ], report.offers, "offer_id"),
    report.auctions.length ? table(t("report.per_auction"), "report-auctions", [
      [t("report.col.auction"), (r) => r.title], [t("report.col.status"), (r) => r.status], [t("report.col.winning_bid"), (r) => (r.winning_bid == null ? "–" : money(r.winning_bid, cur))],
      [t("report.col.revenue"), (r) => money(r.revenue, cur)],
    ], report.auctions, "auction_id") : null);
  queueMicrotask(() => chart.set(samples.map((p) => p.t / 1000), samples.map((p) => p.viewers), samples.map((p) => p.chat)));
  return panel;
}

/** /console/broadcasts/{id}/report: the report on a page of its own (refreshed while on air). */
export async function reportPage(root, id, who, { navigate }) {
  const token = who.token;
  const box = h("div");
  const back = h("a.button.small.ghost", { href: `/console/broadcasts/${encodeURIComponent(id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname); } }, t("report.back_to_studio"));
  const heading = h("h1", { style: { margin: 0 } }, t("dash.sale_report"));
  fill(root, h("div.row", { style: { marginBottom: "1rem" } }, back, heading), box);
  async function load() {
    const report = await fetchReport(id, token);
    document.title = t("report.page_title", { title: report.title });
    heading.textContent = t("report.heading", { title: report.title });
    fill(box, reportPanel(report, { id, token }));
    return report;
  }
  const first = await load();
  const timer = first.report === "live" ? setInterval(() => { if (document.visibilityState === "visible") load().catch(() => {}); }, 15_000) : null;
  return () => clearInterval(timer);
}
