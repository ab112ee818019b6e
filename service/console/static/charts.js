// Inline SVG charts: the health score (0 to 100) as a row's sparkline and the account's trend; amounts as bars.

import { day, s } from "./dom.js";

function scaled(points, width, height, pad) {
  const step = points.length > 1 ? (width - 2 * pad) / (points.length - 1) : 0;
  return points.map((point, index) => ({
    ...point,
    x: pad + index * step,
    y: point.score === null ? null : pad + (height - 2 * pad) * (1 - point.score / 100),
  }));
}

/** The runs of consecutive scored points, each as an SVG path (a null score breaks the line). */
function lines(points) {
  const runs = [];
  let run = [];
  for (const point of points) {
    if (point.y === null) {
      if (run.length) runs.push(run);
      run = [];
    } else run.push(point);
  }
  if (run.length) runs.push(run);
  return runs.map((each) => each.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" "));
}

function summary(trend) {
  const scored = trend.filter((point) => point.score !== null);
  if (!scored.length) return "no health score in the last 12 weeks";
  return `health over 12 weeks: from ${scored[0].score} to ${scored[scored.length - 1].score}` +
    ` (lowest ${Math.min(...scored.map((p) => p.score))}, highest ${Math.max(...scored.map((p) => p.score))})`;
}

/** A small line of the weekly health points, for a list row. */
export function sparkline(trend) {
  const points = scaled(trend, 100, 24, 2);
  const last = points.filter((p) => p.y !== null).at(-1);
  return s("svg", { class: "sparkline", viewBox: "0 0 100 24", width: 100, height: 24, role: "img", "aria-label": summary(trend) },
    lines(points).map((d) => s("path", { d })),
    last ? s("circle", { cx: last.x, cy: last.y, r: 2 }) : null);
}

/** The 12-week trend with its axis: one labelled point per week. */
export function trendChart(trend) {
  const width = 600, height = 200, pad = 28;
  const points = scaled(trend, width, height, pad);
  return s("svg", { class: "trend", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary(trend) },
    [0, 50, 100].map((score) => {
      const y = pad + (height - 2 * pad) * (1 - score / 100);
      return [s("line", { x1: pad, x2: width - pad, y1: y, y2: y, class: "grid" }),
        s("text", { x: 4, y: y + 4, class: "axis" }, String(score))];
    }),
    lines(points).map((d) => s("path", { d })),
    points.filter((p) => p.y !== null).map((p) =>
      s("circle", { cx: p.x, cy: p.y, r: 3 }, s("title", {}, `${day(p.at)}: ${p.score}`))),
    [points[0], points.at(-1)].filter(Boolean).map((p, i) =>
      s("text", { x: p.x, y: height - 6, class: "axis", "text-anchor": i ? "end" : "start" }, day(p.at))));
}

const clipped = (text, most) => (text.length > most ? `${text.slice(0, most - 1)}…` : text);

/**
 * Horizontal bars, one a row, longest for the largest value: `bars` are {label, value, text, muted}; `text` is
 * written after the bar. The chart scales to its box; `description` says it all for screen readers.
 */
export function barChart(bars, description) {
  const width = 640, row = 26, labels = 200, room = width - labels - 130;
  const most = Math.max(0, ...bars.map((bar) => bar.value)) || 1;
  const height = bars.length * row + 8;
  return s("svg", { class: "bars", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": description },
    bars.map((bar, i) => {
      const y = 4 + i * row, length = Math.max(1, (room * bar.value) / most);
      return s("g", { class: bar.muted ? "bar muted" : "bar" },
        s("title", {}, `${bar.label}: ${bar.text}`),
        s("text", { x: labels - 8, y: y + 17, "text-anchor": "end", class: "axis" }, clipped(bar.label, 26)),
        s("rect", { x: labels, y: y + 4, width: length, height: row - 8 }),
        s("text", { x: labels + length + 6, y: y + 17, class: "axis" }, bar.text));
    }));
}
