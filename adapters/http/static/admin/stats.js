// Statistics (admins): GET /v1/admin/stats drawn as SVG line charts. No libraries.
import { api } from "./api.js";
import { $ } from "./dom.js";

const COLORS = ["#ff375f", "#0a84ff", "#30d158", "#ff9f0a", "#bf5af2"];
const CHARTS = [
  { title: "Active users", series: ["dau", "wau", "mau"] },
  { title: "New users", series: ["new_users"] },
  { title: "Content", series: ["uploads", "reactions", "comments"] },
  { title: "Reports", series: ["reports_opened", "reports_resolved"] },
  { title: "Median time to resolve (s)", series: ["median_resolve_seconds"] },
];
const SVG = "http://www.w3.org/2000/svg";

const isoDay = (date) => date.toISOString().slice(0, 10);

export function mount(session) {
  $("range").addEventListener("submit", (event) => {
    event.preventDefault();
    load(session);
  });
}

export function show(session) {
  if (!$("to").value) {
    const today = new Date();
    $("to").value = isoDay(today);
    $("from").value = isoDay(new Date(today.getTime() - 29 * 86400000));
  }
  load(session);
}

async function load(session) {
  $("stats-status").textContent = "Loading…";
  try {
    const stats = await api("/v1/admin/stats", {
      query: { from: $("from").value, to: $("to").value, interval: $("interval").value },
    });
    draw(stats.points);
    $("stats-status").textContent = `${stats.points.length} ${stats.interval}(s)`;
  } catch (error) {
    session.failed(error, $("stats-status"));
  }
}

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function chart(spec, points) {
  const W = 560, H = 220, L = 44, R = 12, T = 10, B = 28;
  const box = document.createElement("div");
  box.className = "chart";
  box.dataset.chart = spec.title;
  const title = document.createElement("h3");
  title.textContent = spec.title;
  box.appendChild(title);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": spec.title });
  const values = spec.series.flatMap((s) => points.map((p) => p[s] ?? 0));
  const top = Math.max(4, Math.ceil(Math.max(...values) / 4) * 4); // whole-number ticks
  const x = (i) => L + (points.length < 2 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / top);
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    el("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }, svg);
    el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, svg).textContent =
      Number.isInteger(v) ? v : v.toFixed(1);
  }
  el("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }, svg);
  el("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }, svg);
  const step = Math.max(1, Math.ceil(points.length / 6));
  points.forEach((p, i) => {
    if (i % step === 0) {
      el("text", { x: x(i), y: H - 8, "text-anchor": "middle" }, svg).textContent =
        p.start.slice(5);
    }
  });
  const legend = document.createElement("div");
  legend.className = "legend";
  spec.series.forEach((name, n) => {
    const color = COLORS[n % COLORS.length];
    el("polyline", {
      stroke: color,
      "data-series": name,
      "data-total": points.reduce((sum, p) => sum + (p[name] ?? 0), 0),
      points: points.map((p, i) => `${x(i).toFixed(1)},${y(p[name] ?? 0).toFixed(1)}`).join(" "),
    }, svg);
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = color; // CSSOM, allowed by the page's CSP (no inline styles)
    item.append(swatch, name.replaceAll("_", " "));
    legend.appendChild(item);
  });
  box.append(svg, legend);
  return box;
}

function draw(points) {
  const charts = $("charts");
  charts.replaceChildren(...CHARTS.filter((spec) => spec.series.some((s) => s in (points[0] || {})))
    .map((spec) => chart(spec, points)));
  charts.dataset.rendered = String(points.length);
}
