// The indicators page: the knowledge tree (sector → runway → sub-runway → indicator) with each
// indicator's latest value, one indicator's series in the viewer's scope, and a series' history
// (downsampled by the API: raw points for short ranges, minute or hour buckets with min/max for long
// ones) drawn with ECharts, the threshold levels as lines. Names and values are text only.
import { badge, clear, echartsReady, el, empty, errorText, fmtShortTime, fmtTime, get, shell, t, toast } from "./core.js";

/* global echarts */
const RANGES = { "6h": 6 * 3600e3, "24h": 24 * 3600e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };
const LEVEL_COLOURS = { blue: "#3aa0ff", yellow: "#fadb14", orange: "#fa8c16", red: "#f5222d" };
const TEXT = "#d6e9ff";
const AXIS = "#7fa7cf";
const state = { code: null, series: null, range: "24h", info: {}, latest: [], chart: null };
const fs = () => Math.round(parseFloat(getComputedStyle(document.body).fontSize) * 0.8);

function formatValue(v, unit) {
  if (v === null || v === undefined) return t("common.none");
  const n = typeof v === "number" && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v;
  return unit ? `${n} ${unit}` : String(n);
}

// --- the tree ------------------------------------------------------------------------------------
function leaf(n, latestBy) {
  const series = latestBy.get(n.code) || [];
  const latest = series.length === 1 ? formatValue(series[0].value, n.unit)
    : series.length > 1 ? t("indicators.series_count", { n: series.length }) : "";
  state.info[n.code] = n;
  return el("li", { class: "tree-leaf", "data-code": n.code, "data-name": `${n.name} ${n.code}` },
    el("a", { href: `/indicators?code=${encodeURIComponent(n.code)}`, class: "tree-link", "data-code": n.code,
      onclick: (ev) => { ev.preventDefault(); select(n.code, null, true); } },
    el("span", { class: "tree-name" }, n.name), el("span", { class: "tree-value" }, latest)));
}

function branch(n, latestBy, depth) {
  const children = el("ul", {}, (n.children || []).map((c) => (c.kind === "indicator" ? leaf(c, latestBy) : branch(c, latestBy, depth + 1))));
  return el("li", { class: `tree-node kind-${n.kind}` }, el("details", { open: depth < 2 },
    el("summary", {}, badge(t(`indicators.kind.${n.kind}`), "muted"), ` ${n.name}`), children));
}

function renderTree(tree, latest) {
  const latestBy = new Map();
  for (const r of latest) {
    if (!latestBy.has(r.indicator_code)) latestBy.set(r.indicator_code, []);
    latestBy.get(r.indicator_code).push(r);
  }
  const box = clear(document.getElementById("tree"));
  if (!tree.length) { box.append(empty()); return; }
  box.append(el("ul", { class: "tree-root" }, tree.map((n) => branch(n, latestBy, 0))));
  document.getElementById("ind-count").textContent = t("indicators.count", { n: Object.keys(state.info).length });
}

function filterTree(text) {
  const q = text.trim().toLowerCase();
  for (const li of document.querySelectorAll(".tree-leaf")) li.hidden = q !== "" && !li.dataset.name.toLowerCase().includes(q);
  for (const d of document.querySelectorAll(".tree-node > details")) {
    const visible = d.querySelector(".tree-leaf:not([hidden])") !== null;
    d.parentElement.hidden = q !== "" && !visible;
    if (q) d.open = visible;
  }
}

// --- one indicator -------------------------------------------------------------------------------
async function select(code, series, push) {
  state.code = code;
  state.series = series;
  if (push) history.pushState(null, "", `/indicators?code=${encodeURIComponent(code)}`);
  for (const a of document.querySelectorAll(".tree-link")) {
    const here = a.dataset.code === code;
    a.toggleAttribute("aria-current", here);
    // the chosen indicator's branch is opened, so the tree shows where it is
    for (let d = here ? a.closest("details") : null; d; d = d.parentElement.closest("details")) d.open = true;
  }
  const info = state.info[code] || { code, name: code };
  document.getElementById("ind-title").textContent = `${info.name}（${code}）`;
  const link = document.getElementById("ind-warnings");
  link.hidden = false;
  link.href = `/warnings?state=all&indicator=${encodeURIComponent(code)}`;
  const facts = clear(document.getElementById("ind-facts"));
  for (const [k, v] of [["indicators.unit", info.unit], ["indicators.frequency", info.frequency], ["indicators.owner", info.owner_unit_name]]) {
    facts.append(el("dt", {}, t(k)), el("dd", {}, v || t("common.none")));
  }
  const [latest, rules] = await Promise.all([
    get(`/api/readings/latest?indicator_code=${encodeURIComponent(code)}&limit=500`),
    get(`/api/threshold-rules?indicator=${encodeURIComponent(code)}`).catch(() => []),
  ]);
  state.latest = latest;
  state.rules = rules;
  const body = clear(document.getElementById("latest-body"));
  for (const r of latest) {
    body.append(el("tr", { "data-series": r.series, class: r.series === series ? "current" : "" },
      el("td", {}, r.series),
      el("td", {}, r.area_name || r.area_code),
      el("td", { class: "num" }, formatValue(r.value, r.unit)),
      el("td", {}, fmtTime(r.at)),
      el("td", {}, el("button", { type: "button", class: "btn small", "aria-label": `${t("indicators.show_history")}：${r.series}`,
        onclick: () => showHistory(r.series) }, t("indicators.show_history")))));
  }
  if (!latest.length) {
    body.append(el("tr", {}, el("td", { colspan: 5 }, empty(t("indicators.no_series")))));
    clearHistory();
    return;
  }
  await showHistory(series && latest.some((r) => r.series === series) ? series : latest[0].series);
}

function clearHistory() {
  document.getElementById("history-note").textContent = "";
  if (state.chart) state.chart.clear();
}

// Lines at the default rule's value thresholds (per-area overrides are listed on the warnings page).
function thresholdLines() {
  const rule = (state.rules || []).find((r) => !r.area && r.enabled !== false);
  const lines = [];
  for (const c of (rule && rule.conditions) || []) {
    if (c.kind !== "value" || !c.levels) continue;
    for (const [level, v] of Object.entries(c.levels)) {
      if (typeof v !== "number") continue;
      lines.push({ yAxis: v, name: t(`level.${level}`), lineStyle: { color: LEVEL_COLOURS[level], type: "dashed" },
        label: { color: LEVEL_COLOURS[level], formatter: `${t(`level.${level}`)} ${v}`, fontSize: fs() } });
    }
  }
  return lines;
}

async function showHistory(series) {
  state.series = series;
  history.replaceState(null, "", `/indicators?code=${encodeURIComponent(state.code)}&series=${encodeURIComponent(series)}`);
  for (const tr of document.querySelectorAll("#latest-body tr")) tr.classList.toggle("current", tr.dataset.series === series);
  const end = new Date();
  const start = new Date(end.getTime() - RANGES[state.range]);
  const box = document.getElementById("history-chart");
  const width = Math.max(200, Math.min(2000, Math.round(box.clientWidth || 800)));
  const q = new URLSearchParams({ indicator_code: state.code, series, start: start.toISOString(), end: end.toISOString(),
    max_points: String(Math.max(10, Math.round(width / 3))) });
  const [h] = await Promise.all([get(`/api/readings/history?${q}`), echartsReady()]);
  const unit = h.unit || "";
  const raw = h.bucket_s === 0;
  document.getElementById("history-note").textContent = `${series} · ${fmtShortTime(start.toISOString())} — ${fmtShortTime(end.toISOString())} · `
    + (raw ? t("indicators.raw") : t("indicators.bucket", { t: bucketText(h.bucket_s) })) + ` · ${h.points.length}`;
  const pts = h.points;
  const main = pts.map((p) => [p.at, raw ? p.value : Math.round(p.avg * 1000) / 1000]);
  const seriesList = [{
    name: raw ? t("indicators.value") : t("indicators.avg"), type: "line", data: main, showSymbol: pts.length < 60,
    lineStyle: { color: "#2ee6d6", width: 2 }, itemStyle: { color: "#2ee6d6" }, z: 3,
    markLine: { symbol: "none", silent: true, data: thresholdLines() },
  }];
  if (!raw) {
    // the bucket's min–max as a band: min drawn invisibly, (max − min) stacked on it and filled
    seriesList.push({ name: t("indicators.min"), type: "line", stack: "band", data: pts.map((p) => [p.at, p.min]), showSymbol: false,
      lineStyle: { opacity: 0 }, tooltip: { show: false } });
    seriesList.push({ name: `${t("indicators.min")}–${t("indicators.max")}`, type: "line", stack: "band", showSymbol: false,
      data: pts.map((p) => [p.at, Math.round((p.max - p.min) * 1000) / 1000]), lineStyle: { opacity: 0 },
      areaStyle: { color: "rgba(46,230,214,0.18)" } });
  }
  // the first warning level is kept in view, so that one sees how far the series is from it
  const lines = thresholdLines();
  const first = lines.length ? lines[0].yAxis : null;
  const round = (x) => Math.round(x * 1000) / 1000;
  if (!state.chart) state.chart = echarts.init(box, null, { renderer: "canvas" });
  state.chart.setOption({
    backgroundColor: "transparent", animation: false,
    tooltip: { trigger: "axis", formatter: (params) => {
      const p = pts[params[0].dataIndex];
      if (!p) return "";
      const enc = echarts.format.encodeHTML;
      const lines = [enc(fmtTime(p.at))];
      if (raw) lines.push(enc(`${t("indicators.value")}：${formatValue(p.value, unit)}`));
      else {
        lines.push(enc(`${t("indicators.avg")}：${formatValue(p.avg, unit)}`));
        lines.push(enc(`${t("indicators.min")}：${formatValue(p.min, unit)}　${t("indicators.max")}：${formatValue(p.max, unit)}`));
      }
      return lines.join("<br>");
    } },
    grid: { left: 56, right: 120, top: 32, bottom: 36 },
    xAxis: { type: "time", axisLine: { lineStyle: { color: AXIS } }, axisLabel: { color: AXIS, fontSize: fs(), hideOverlap: true },
      splitLine: { show: false } },
    yAxis: { type: "value", name: unit, scale: true,
      max: first === null ? null : (v) => round(Math.max(v.max, first + (v.max - v.min) * 0.05)),
      min: first === null ? null : (v) => round(Math.min(v.min, first - (v.max - v.min) * 0.05)), nameTextStyle: { color: AXIS }, axisLine: { lineStyle: { color: AXIS } },
      axisLabel: { color: AXIS, fontSize: fs() }, splitLine: { lineStyle: { color: "rgba(90,140,200,0.15)" } } },
    textStyle: { color: TEXT },
    series: seriesList,
  }, true);
  box.dataset.points = String(pts.length);
  document.body.dataset.chart = `${state.code}|${series}|${pts.length}`;
}

function bucketText(s) {
  if (s % 86400 === 0) return t("time.days", { n: s / 86400 });
  if (s % 3600 === 0) return t("time.hours", { n: s / 3600 });
  if (s % 60 === 0) return t("time.minutes", { n: s / 60 });
  return `${s}s`;
}

// --- start ---------------------------------------------------------------------------------------
async function main() {
  const treeP = get("/api/indicators/tree");
  const latestP = get("/api/readings/latest?limit=5000").catch(() => []);
  echartsReady();
  await shell();
  renderTree(await treeP, await latestP);
  document.getElementById("tree-filter").addEventListener("input", (ev) => filterTree(ev.target.value));
  for (const b of document.querySelectorAll("[data-range]")) {
    b.addEventListener("click", () => {
      state.range = b.dataset.range;
      for (const o of document.querySelectorAll("[data-range]")) o.setAttribute("aria-pressed", String(o === b));
      if (state.code && state.series) showHistory(state.series).catch((e) => toast(errorText(e), "error"));
    });
  }
  window.addEventListener("resize", () => state.chart && state.chart.resize());
  window.addEventListener("popstate", () => {
    const q = new URLSearchParams(location.search);
    if (q.get("code")) select(q.get("code"), q.get("series"), false).catch((e) => toast(errorText(e), "error"));
  });
  const q = new URLSearchParams(location.search);
  const first = q.get("code") || Object.keys(state.info)[0];
  if (first) await select(first, q.get("series"), false);
  document.body.dataset.ready = "1";
}

main().catch((e) => toast(errorText(e), "error"));
