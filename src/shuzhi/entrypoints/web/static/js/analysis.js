// 分析研判: what people said in a period — hot topics with their typical wording, rising topics against
// the previous period, hot spots on the district map (drawn from our own boundaries as the cockpit
// does), classes out of their usual range, repeat callers and places — and the weekly report to download.
import { clear, echartsReady, el, errorText, get, shell, t } from "./core.js";

/* global echarts */
const charts = {};
const chartOf = (id) => { charts[id] = charts[id] || echarts.init(document.getElementById(id)); return charts[id]; };
const AXIS = { axisLabel: { color: "#9fb8d6" }, axisLine: { lineStyle: { color: "#2b4a6f" } }, splitLine: { lineStyle: { color: "#1b3352" } } };

function rows(tableId, items, cells) {
  const body = clear(document.querySelector(`#${tableId} tbody`));
  if (!items.length) {
    const cols = document.querySelectorAll(`#${tableId} thead th`).length;
    body.append(el("tr", {}, el("td", { colspan: cols, class: "muted" }, t("analysis.none"))));
    return;
  }
  for (const it of items) body.append(el("tr", {}, ...cells(it).map((c) => el("td", {}, c instanceof Node ? c : String(c)))));
}

function query() {
  const q = new URLSearchParams();
  const since = document.getElementById("an-since").value;
  const until = document.getElementById("an-until").value;
  if (since) q.set("since", since);
  if (until) q.set("until", until);
  return q;
}

function topicsChart(topics) {
  const top = topics.slice(0, 8).reverse();
  chartOf("an-topics-chart").setOption({
    backgroundColor: "transparent", animation: false, grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    tooltip: { trigger: "item", confine: true, formatter: (p) => echarts.format.encodeHTML(`${top[p.dataIndex].class_name}：${top[p.dataIndex].wording}（${p.value}）`) },
    xAxis: { type: "value", minInterval: 1, ...AXIS },
    yAxis: { type: "category", data: top.map((x) => x.class_name), ...AXIS },
    series: [{ type: "bar", data: top.map((x) => x.count), itemStyle: { color: "#36cfc9" }, label: { show: true, position: "right", color: "#d6e9ff" } }],
  }, true);
}

async function spotsMap(spots) {
  const [layer] = await Promise.all([get("/api/cockpit/map-layer?level=town"), echartsReady()]);
  echarts.registerMap("analysis-town", layer);
  const names = Object.fromEntries(layer.features.map((f) => [f.properties.code, f.properties.name]));
  const max = Math.max(1, ...spots.map((s) => s.count));
  chartOf("an-map").setOption({
    backgroundColor: "transparent", animation: false,
    tooltip: { trigger: "item", confine: true, formatter: (p) => echarts.format.encodeHTML(p.seriesType === "scatter"
      ? `${p.data.town || ""} ${p.data.class_name}：${p.data.value[2]}` : names[p.name] || "") },
    geo: { map: "analysis-town", roam: true, nameProperty: "code", layoutCenter: ["50%", "50%"], layoutSize: "95%",
      label: { show: true, color: "#9fb8d6", formatter: (p) => names[p.name] || "" },
      itemStyle: { areaColor: "#0f2a4a", borderColor: "#2b6cb0" }, emphasis: { itemStyle: { areaColor: "#15406e" } } },
    series: [{ type: "scatter", coordinateSystem: "geo",
      data: spots.map((s) => ({ value: [s.lon, s.lat, s.count], class_name: s.class_name, town: s.town })),
      symbolSize: (v) => 8 + 22 * (v[2] / max), itemStyle: { color: "#ff7a45", opacity: 0.85 } }],
  }, true);
}

async function refresh() {
  const error = document.getElementById("an-error");
  error.textContent = "";
  const q = query();
  for (const f of ["docx", "html"]) {
    const r = new URLSearchParams({ format: f });
    if (q.get("since")) r.set("day", q.get("since"));
    document.getElementById(`an-${f}`).href = `/api/hotline/weekly-report?${r}`;
  }
  let a;
  try { a = await get(`/api/hotline/analysis?${q}`); } catch (e) { error.textContent = errorText(e); return; }
  document.getElementById("an-since").value = a.since;
  document.getElementById("an-until").value = a.until;
  document.getElementById("an-summary").textContent = t("analysis.summary", { since: a.since, until: a.until, n: a.reports, p: a.previous_reports });
  rows("an-topics", a.topics, (x) => [`${x.class_name}（${x.class_code}）`, x.count, x.wording, x.towns.join("、")]);
  rows("an-rising", a.rising, (x) => [`${x.class_name}（${x.class_code}）`, x.count, x.previous]);
  rows("an-unusual", a.unusual, (x) => [`${x.class_name}（${x.class_code}）`, x.count,
    `${x.low.toFixed(1)}～${x.high.toFixed(1)}（${t("analysis.mean")} ${x.mean.toFixed(1)}）`, t(`analysis.direction.${x.direction}`)]);
  // a hot spot's events become one problem to rectify on the ledgers page (台账, in one action)
  rows("an-spots", a.hot_spots, (x) => [x.town || t("common.none"), x.class_name, x.count,
    el("a", { class: "btn small", href: `/ledgers?${new URLSearchParams({ from_events: (x.events || []).join(","),
      title: `${x.town || ""}${x.class_name}反复发生` })}` }, t("ledgers.from_events"))]);
  document.getElementById("an-repeat-callers").textContent = t("analysis.repeat_callers", { n: a.repeat_callers });
  const places = clear(document.getElementById("an-repeat-places"));
  for (const p of a.repeat_places) places.append(el("li", {}, t("analysis.repeat_place", { n: p.earlier })));
  if (!a.repeat_places.length) places.append(el("li", { class: "muted" }, t("analysis.no_repeat_places")));
  await echartsReady();
  topicsChart(a.topics);
  await spotsMap(a.hot_spots);
}

async function main() {
  await shell();
  document.getElementById("an-form").addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  await refresh();
  document.body.dataset.ready = "1";
}

main();
