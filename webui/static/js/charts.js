// Charts with uPlot (vendored, served by the box). Data comes from JSON blocks in the
// page (already downsampled on the server) or from the series API (the load curve).
"use strict";

function sizeOf(el) {
  const width = Math.max(280, el.clientWidth || 320);
  return { width, height: Math.round(Math.min(320, Math.max(200, width * 0.5))) };
}

const LANG = document.documentElement.lang || "en";
const FORMATS = {
  day: { day: "numeric", month: "short" },
  month: { month: "short", year: "2-digit" },
  year: { year: "numeric" },
  hour: { weekday: "short", hour: "2-digit" },
};

function timeAxis(kind) {
  const fmt = new Intl.DateTimeFormat(LANG, FORMATS[kind] || FORMATS.day);
  return { values: (u, splits) => splits.map((ts) => fmt.format(new Date(ts * 1000))) };
}

function barsChart(el, data) {
  const barSeries = data.series.filter((s) => s.axis !== "right");
  const grouped = barSeries.length === 2; // two bars side by side (income, spending)
  const series = [{}];
  const columns = [data.x];
  const hasRight = data.series.some((s) => s.axis === "right");
  for (const s of data.series) {
    const right = s.axis === "right";
    const index = barSeries.indexOf(s);
    const bars = uPlot.paths.bars(
      grouped ? { size: [0.4, 40], align: index === 0 ? -1 : 1 } : { size: [0.7, 60] },
    );
    series.push({
      label: s.label,
      stroke: s.color,
      fill: right ? undefined : s.color + "99",
      width: right ? 2 : 1,
      paths: right ? undefined : bars,
      points: { show: right },
      scale: right ? "right" : "y",
      spanGaps: right,
    });
    columns.push(s.values);
  }
  const axes = [timeAxis(data.time), { scale: "y", size: 60 }];
  if (hasRight) axes.push({ scale: "right", side: 1, grid: { show: false } });
  // half a bar's slot on each side: the first and last bars are whole, not cut by the edges
  const xs = data.x;
  const slot = xs.length > 1 ? (xs[xs.length - 1] - xs[0]) / (xs.length - 1) : 86400;
  const opts = {
    ...sizeOf(el),
    series,
    axes,
    scales: {
      x: { time: true, range: (u, min, max) => [min - slot / 2, max + slot / 2] },
      y: { range: (u, min, max) => [0, max * 1.1 || 1] },
    },
    legend: { live: false },
    cursor: { points: { show: false } },
  };
  return new uPlot(opts, columns, el);
}

function lineChart(el, label, xs, ys, color) {
  const opts = {
    ...sizeOf(el),
    series: [{}, { label, stroke: color, fill: color + "33", width: 1 }],
    axes: [timeAxis("hour"), { size: 60 }],
    scales: { x: { time: true } },
    legend: { live: false },
  };
  return new uPlot(opts, [xs, ys], el);
}

async function loadCurve(el, spec) {
  const q = new URLSearchParams({ start: spec.start, end: spec.end, step: spec.step, agg: spec.agg });
  el.textContent = el.dataset.loading;
  const data = await window.selfdata.api("GET", `/api/v1/series/${spec.series.split("/").map(encodeURIComponent).join("/")}?${q}`);
  el.textContent = "";
  const xs = data.points.map((p) => p[0]);
  // energy per bucket (Wh) → mean power over the bucket (W)
  const ys = data.points.map((p) => (spec.power ? p[1] * (3600 / spec.step) : p[1]));
  el.dataset.points = String(xs.length);
  return lineChart(el, spec.label, xs, ys, "#1d5fa8");
}

document.addEventListener("DOMContentLoaded", () => {
  const charts = [];
  for (const el of document.querySelectorAll("[data-chart]")) {
    const data = JSON.parse(document.getElementById(el.dataset.chart + "-data").textContent);
    charts.push([el, barsChart(el, data)]);
    el.dataset.ready = "true";
  }
  const curve = document.querySelector("[data-load-curve]");
  if (curve) {
    const spec = JSON.parse(document.getElementById("load-curve-data").textContent);
    loadCurve(curve, spec)
      .then((chart) => { charts.push([curve, chart]); curve.dataset.ready = "true"; })
      .catch((err) => { curve.textContent = err.message; curve.dataset.ready = "error"; });
  }
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => { for (const [el, chart] of charts) chart.setSize(sizeOf(el)); }, 150);
  });
});
