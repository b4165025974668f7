// Time-series charts for the console (live dashboard, sale report), drawn by uPlot (npm "uplot",
// vendored at /app/vendor like hls.js): a few series over time, resized with their panel.
import uPlot from "/app/vendor/uPlot.esm.js";
import { t } from "./i18n.js";

const AXIS = { stroke: "#9aa4b2", grid: { stroke: "rgba(255,255,255,.08)", width: 1 }, ticks: { stroke: "rgba(255,255,255,.12)", width: 1 } };

/**
 * timeChart([{label, color, axis?: "right", bars?, step?}], {height, max}) -> {el, set(times, ...columns), push(t, values)}
 * times are epoch seconds; `max` caps how many points push() keeps (a rolling live window).
 */
export function timeChart(series, { height = 160, max = 600 } = {}) {
  const el = document.createElement("div");
  el.className = "chart";
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", t("dash.chart_label", { series: series.map((s) => s.label).join(" · ") }));
  const data = [[], ...series.map(() => [])];
  const right = series.some((s) => s.axis === "right");
  const opts = {
    width: 360,
    height,
    legend: { show: true },
    cursor: { y: false },
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] }, ...(right ? { r: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } } : {}) },
    axes: [{ ...AXIS }, { ...AXIS, size: 40 }, ...(right ? [{ ...AXIS, scale: "r", side: 1, grid: { show: false }, size: 40 }] : [])],
    series: [
      {},
      ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, scale: s.axis === "right" ? "r" : "y", paths: s.bars ? uPlot.paths.bars({ size: [0.6, 12] }) : s.step ? uPlot.paths.stepped({ align: 1 }) : undefined, fill: s.bars ? `${s.color}88` : undefined, points: { show: false } })),
    ],
  };
  let plot = null;
  const draw = () => {
    const width = Math.max(200, Math.floor(el.clientWidth || 360));
    if (!plot) {
      plot = new uPlot({ ...opts, width }, data, el);
      return;
    }
    if (plot.width !== width) plot.setSize({ width, height });
    plot.setData(data);
  };
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => { if (plot && el.clientWidth && plot.width !== Math.floor(el.clientWidth)) plot.setSize({ width: Math.floor(el.clientWidth), height }); }).observe(el);
  }
  return {
    el,
    /** Replaces every point: set(times, columnA, columnB, ...). */
    set(times, ...columns) {
      data[0] = times.slice();
      columns.forEach((c, i) => { data[i + 1] = c.slice(); });
      draw();
    },
    /** Adds one point at `t` (epoch seconds) with one value per series. */
    push(t, values) {
      data[0].push(t);
      values.forEach((v, i) => data[i + 1].push(v));
      if (data[0].length > max) data.forEach((column) => column.shift());
      draw();
    },
  };
}
