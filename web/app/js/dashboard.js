// The host's live dashboard: viewers, chat rate, units sold, revenue, conversion; a chart (uPlot); the
// live funnel and revenue per source from the sale report; after the show, the full report.
import { api } from "./api.js";
import { h, fill } from "./dom.js";
import { money, clock } from "./format.js";
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
    { label: "viewers", color: "#7aa7ff", step: true },
    { label: "units sold", color: "#2fd37a", axis: "right", step: true },
  ], { height: 140, max: 1200 });
  const latest = h("ol.small.muted", { style: { margin: 0, paddingLeft: "1.2rem" } });
  const funnel = h("p.small.muted", { "data-testid": "live-funnel" }, "");
  const sources = h("ul.small.muted", { "data-testid": "live-sources", style: { margin: 0, paddingLeft: "1.2rem" } });
  const reportLink = h("a.button.small.ghost", { href: `/console/broadcasts/${encodeURIComponent(ctx.id)}/report`, "data-testid": "report-link" }, "Sale report");
  const panel = h("section.panel.stack", { "aria-labelledby": "dash-h" },
    h("div.row.spread", h("h2#dash-h", { style: { margin: 0 } }, "Live dashboard"), reportLink),
    h("div.stats",
      stat("viewers", "viewers"), stat("chat", "chat / min"), stat("units", "units sold"),
      stat("revenue", "revenue"), stat("conversion", "conversion")),
    chart.el,
    funnel,
    h("details", h("summary.muted.small", "Revenue per source"), sources),
    h("details", h("summary.muted.small", "Latest orders"), latest),
  );

  function chatRate() {
    if (values.serverRate !== undefined && Date.now() - values.serverRateAt < 15_000) return Math.round(values.serverRate);
    const cutoff = Date.now() - 60_000;
    values.chatTimes = values.chatTimes.filter((t) => t > cutoff);
    return values.chatTimes.length;
  }

  function conversion() {
    const r = values.report;
    if (r && r.funnel.viewers) return `${(100 * r.conversion.paid_of_viewers).toFixed(1)}%`;
    const buyers = values.stats ? values.stats.buyers : 0;
    return values.peak ? `${Math.min(100, (100 * buyers) / values.peak).toFixed(1)}%` : "–";
  }

  function render() {
    cells.viewers.textContent = values.viewers;
    cells.chat.textContent = chatRate();
    const s = values.stats;
    cells.units.textContent = s ? s.units_sold : 0;
    cells.revenue.textContent = s ? money(s.revenue, s.currency) : money(0);
    cells.conversion.textContent = conversion();
    cells.conversion.title = "paid buyers / unique viewers";
    if (s) {
      fill(latest, s.latest_orders.map((o) => h("li", `${o.quantity} × ${o.title} · ${money(o.total, o.currency)} · ${new Date(o.created_at).toLocaleTimeString()}`)));
    }
    const r = values.report;
    if (r) {
      const f = r.funnel;
      funnel.textContent = `${f.viewers} viewers → ${f.reserved} reserved → ${f.ordered} ordered → ${f.paid} paid · peak ${r.audience.peak_viewers}, average ${r.audience.average_viewers} · watch time ${clock(r.audience.watch_time_s)}`;
      fill(sources, r.sources.map((x) => h("li", { dataset: { source: x.source } }, `${x.source}: ${x.orders} orders, ${money(x.revenue, r.currency)} (${x.viewers} viewers)`)));
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
      const t = Date.now();
      for (const m of messages) {
        if (m.id && values.chatIds.has(m.id)) continue;
        if (m.id) values.chatIds.add(m.id);
        if (live) values.chatTimes.push(t);
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
          h("h2#summary-h", "Broadcast summary"),
          h("div.stats",
            item("duration", clock(seconds)), item("peak viewers", values.peak), item("orders", s.orders),
            item("buyers", s.buyers), item("units sold", s.units_sold), item("revenue", money(s.revenue, s.currency)),
            item("conversion", conversion()), item("chat messages", values.chatIds.size))),
        full);
    },
  };
}
