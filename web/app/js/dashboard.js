// The host's live dashboard: viewers, chat rate, units sold, revenue, conversion; a chart (uPlot); the
// live funnel and revenue per source from the sale report; after the show, the full report.
import { api } from "./api.js";
import { h, fill } from "./dom.js";
import { money, clock, percent, timeOfDay } from "./format.js";
import { t } from "./i18n.js";
import { timeChart } from "./charts.js";
import { fetchReport, reportPanel } from "./report.js";

const REPORT_EVERY_MS = 15_000;

export function dashboard(ctx) {
  const values = { viewers: 0, peak: 0, chatTimes: [], chatIds: new Set(), stats: null, report: null };
  const cells = {};
  const stat = (key, label) => {
    cells[key] = h("b", { "data-testid": `stat-${key}` }, "0");
    return h("div.stat", cells[key], h("span", label));
  };
  const chart = timeChart([
    { label: t("dash.viewers"), color: "#7aa7ff", step: true },
    { label: t("dash.units_sold"), color: "#2fd37a", axis: "right", step: true },
  ], { height: 140, max: 1200 });
  const latest = h("ol.small.muted", { style: { margin: 0, paddingLeft: "1.2rem" } });
  const funnel = h("p.small.muted", { "data-testid": "live-funnel" }, "");
  const sources = h("ul.small.muted", { "data-testid": "live-sources", style: { margin: 0, paddingLeft: "1.2rem" } });
  const reportLink = h("a.button.small.ghost", { href: `/console/broadcasts/${encodeURIComponent(ctx.id)}/report`, "data-testid": "report-link" }, t("dash.sale_report"));
  const panel = h("section.panel.stack", { "aria-labelledby": "dash-h" },
    h("div.row.spread", h("h2#dash-h", { style: { margin: 0 } }, t("dash.title")), reportLink),
    h("div.stats",
      stat("viewers", t("dash.viewers")), stat("chat", t("dash.chat_per_min")), stat("units", t("dash.units_sold")),
      stat("revenue", t("dash.revenue")), stat("conversion", t("dash.conversion"))),
    chart.el,
    funnel,
    h("details", h("summary.muted.small", t("dash.revenue_per_source")), sources),
    h("details", h("summary.muted.small", t("dash.latest_orders")), latest),
  );

  function chatRate() {
    if (values.serverRate !== undefined && Date.now() - values.serverRateAt < 15_000) return Math.round(values.serverRate);
    const cutoff = Date.now() - 60_000;
    values.chatTimes = values.chatTimes.filter((when) => when > cutoff);
    return values.chatTimes.length;
  }

  function conversion() {
    const r = values.report;
    if (r && r.funnel.viewers) return percent(r.conversion.paid_of_viewers);
    const buyers = values.stats ? values.stats.buyers : 0;
    return values.peak ? percent(Math.min(1, buyers / values.peak)) : "–";
  }

  function render() {
    cells.viewers.textContent = values.viewers;
    cells.chat.textContent = chatRate();
    const s = values.stats;
    cells.units.textContent = s ? s.units_sold : 0;
    cells.revenue.textContent = s ? money(s.revenue, s.currency) : money(0);
    cells.conversion.textContent = conversion();
    cells.conversion.title = t("dash.conversion_hint");
    if (s) {
      fill(latest, s.latest_orders.map((o) => h("li", `${o.quantity} × ${o.title} · ${money(o.total, o.currency)} · ${timeOfDay(o.created_at)}`)));
    }
    const r = values.report;
    if (r) {
      const f = r.funnel;
      funnel.textContent = t("dash.funnel", { viewers: f.viewers, reserved: f.reserved, ordered: f.ordered, paid: f.paid, peak: r.audience.peak_viewers, average: r.audience.average_viewers, watch_time: clock(r.audience.watch_time_s) });
      fill(sources, r.sources.map((x) => h("li", { dataset: { source: x.source } }, t("dash.source_line", { source: x.source, count: x.orders, revenue: money(x.revenue, r.currency), viewers: x.viewers }))));
    }
  }

  let inflight = null;
  async function refresh() {
    if (inflight) return inflight;
    inflight = api("GET", `/api/v1/broadcasts/${ctx.id}/stats`, { token: ctx.token })
      .then((s) => {
        values.stats = s;
        render();
      })
      .catch(() => {})
      .finally(() => {
        inflight = null;
      });
    return inflight;
  }

  let reportAt = 0;
  async function refreshReport() {
    reportAt = Date.now();
    try {
      values.report = await fetchReport(ctx.id, ctx.token);
      render();
    } catch {
      /* the next sample tries again */
    }
  }

  return {
    panel,
    refresh,
    setViewers(n) {
      values.viewers = n;
      values.peak = Math.max(values.peak, n);
      render();
    },
    /** The room's own count (messages per minute across every node), preferred over ours. */
    setChatRate(perMinute) {
      values.serverRate = perMinute;
      values.serverRateAt = Date.now();
      render();
    },
    /** Live chat messages (count toward the rate) or history from a snapshot (only the total). */
    chat(messages, live = true) {
      const at = Date.now();
      for (const m of messages) {
        if (m.id && values.chatIds.has(m.id)) continue;
        if (m.id) values.chatIds.add(m.id);
        if (live) values.chatTimes.push(at);
      }
      render();
    },
    sample() {
      chart.push(Date.now() / 1000, [values.viewers, values.stats ? values.stats.units_sold : 0]);
      if (Date.now() - reportAt > REPORT_EVERY_MS) refreshReport();
      render();
    },
    /** The end-of-show panel: how the broadcast did, then the full sale report once it is loaded. */
    summary(broadcast) {
      const s = values.stats || { orders: 0, buyers: 0, units_sold: 0, revenue: 0, currency: "USD" };
      const seconds = broadcast.started_at && broadcast.ended_at ? (Date.parse(broadcast.ended_at) - Date.parse(broadcast.started_at)) / 1000 : 0;
      const item = (label, value) => h("div.stat", h("b", value), h("span", label));
      const full = h("div");
      fetchReport(ctx.id, ctx.token).then((r) => fill(full, reportPanel(r, ctx))).catch(() => {});
      return h("div.stack", { "data-testid": "summary" },
        h("section.panel.stack", { "aria-labelledby": "summary-h" },
          h("h2#summary-h", t("dash.summary")),
          h("div.stats",
            item(t("dash.duration"), clock(seconds)), item(t("dash.peak_viewers"), values.peak), item(t("dash.orders"), s.orders),
            item(t("dash.buyers"), s.buyers), item(t("dash.units_sold"), s.units_sold), item(t("dash.revenue"), money(s.revenue, s.currency)),
            item(t("dash.conversion"), conversion()), item(t("dash.chat_messages"), values.chatIds.size))),
        full);
    },
  };
}
