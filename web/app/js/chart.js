// A small SVG line chart for the live dashboard: a few series over the last N samples.
import { t } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";

export function lineChart(series, { width = 360, height = 120 } = {}) {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("dash.chart_label", { series: series.map((s) => s.label).join(" · ") }));
  svg.setAttribute("preserveAspectRatio", "none");
  const data = series.map(() => []);
  const max = 60;

  function draw() {
    svg.replaceChildren();
    for (let i = 1; i < 4; i += 1) {
      const line = document.createElementNS(NS, "line");
      line.setAttribute("x1", 0);
      line.setAttribute("x2", width);
      line.setAttribute("y1", (height * i) / 4);
      line.setAttribute("y2", (height * i) / 4);
      line.setAttribute("class", "grid");
      svg.append(line);
    }
    series.forEach((s, index) => {
      const values = data[index];
      if (values.length < 2) return;
      const top = Math.max(1, ...values);
      const step = width / (max - 1);
      const offset = max - values.length;
      const points = values.map((v, i) => `${((offset + i) * step).toFixed(1)},${(height - 6 - (v / top) * (height - 12)).toFixed(1)}`);
      const path = document.createElementNS(NS, "polyline");
      path.setAttribute("points", points.join(" "));
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", s.color);
      path.setAttribute("stroke-width", "2.5");
      path.setAttribute("stroke-linejoin", "round");
      path.setAttribute("vector-effect", "non-scaling-stroke");
      svg.append(path);
    });
  }

  return {
    el: svg,
    push(values) {
      values.forEach((v, i) => {
        data[i].push(v);
        if (data[i].length > max) data[i].shift();
      });
      draw();
    },
  };
}
