// The hotline model's accuracy in production on the evaluation page: per month, the share of intake
// suggestions whose class people kept (all classes, and each class), as a line figure and a table.
import { clear, echartsReady, el, errorText, get, t } from "./core.js";

/* global echarts */
const AXIS = { axisLabel: { color: "#9fb8d6" }, axisLine: { lineStyle: { color: "#2b4a6f" } }, splitLine: { lineStyle: { color: "#1b3352" } } };
let chart = null;

export async function loadAccuracy() {
  const body = clear(document.querySelector("#acc-table tbody"));
  let rows;
  try { rows = await get("/api/models/production-accuracy"); } catch (e) {
    body.append(el("tr", {}, el("td", { colspan: 5 }, errorText(e))));
    return;
  }
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, t("eval.accuracy_none"))));
    return;
  }
  const months = [...new Set(rows.map((r) => r.month))].sort();
  const classes = [...new Set(rows.map((r) => r.class_code))].sort();
  const names = Object.fromEntries(rows.map((r) => [r.class_code, r.class_name]));
  const cell = Object.fromEntries(rows.map((r) => [`${r.month}|${r.class_code}`, r]));
  const overall = months.map((m) => {
    const inMonth = rows.filter((r) => r.month === m);
    const n = inMonth.reduce((a, r) => a + r.suggested, 0);
    return n ? +(100 * inMonth.reduce((a, r) => a + r.right, 0) / n).toFixed(1) : null;
  });
  const series = [{ name: t("eval.accuracy_all"), type: "line", data: overall, lineStyle: { width: 3 }, symbolSize: 8 },
    ...classes.map((c) => ({ name: `${names[c]}（${c}）`, type: "line", connectNulls: false, symbolSize: 5,
      data: months.map((m) => (cell[`${m}|${c}`] ? +(100 * cell[`${m}|${c}`].rate).toFixed(1) : null)) }))];
  await echartsReady();
  chart = chart || echarts.init(document.getElementById("acc-chart"));
  chart.setOption({
    backgroundColor: "transparent", animation: false, grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
    legend: { type: "scroll", top: 0, textStyle: { color: "#d6e9ff" } }, tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "—" : `${v}%`) },
    xAxis: { type: "category", data: months, ...AXIS }, yAxis: { type: "value", min: 0, max: 100, axisLabel: { color: "#9fb8d6", formatter: "{value}%" }, splitLine: AXIS.splitLine },
    series,
  }, true);
  for (const r of [...rows].sort((a, b) => b.month.localeCompare(a.month) || a.class_code.localeCompare(b.class_code))) {
    body.append(el("tr", {}, el("td", {}, r.month), el("td", {}, `${r.class_name}（${r.class_code}）`),
      el("td", {}, String(r.suggested)), el("td", {}, String(r.right)), el("td", {}, `${(100 * r.rate).toFixed(1)}%`)));
  }
}

window.addEventListener("resize", () => chart && chart.resize());
