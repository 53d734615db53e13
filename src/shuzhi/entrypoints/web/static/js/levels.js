// 一贯到底 (issue #22): one level's panels — the city, a district, a town, a village or a grid — with
// a click on a child area to go down and the breadcrumb to go back up. At a town, the town's own
// cockpit (issue #20): boards, patrol coverage, grid workers on the map, running plans.
// Every figure comes from GET /api/levels/{code} (scoped: an area outside one's scope is 404).
import { actionLabel, clear, echartsReady, el, empty, fmtShortTime, get, shell, stateLabel, t } from "./core.js";

/* global echarts */
const OPEN_STATES = ["registered", "notifying", "dispatched", "handling", "reported_back"];
const WARNING_COLOURS = { blue: "#3aa0ff", yellow: "#fadb14", orange: "#fa8c16", red: "#f5222d" };
const TEXT = "#d6e9ff";
const view = { data: null, town: null, chart: null };

const eventsUrl = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) (Array.isArray(v) ? v : [v]).forEach((x) => q.append(k, x));
  return `/events?${q}`;
};
const levelName = (lv) => t(`level.${lv}`);
const hours = (h) => (h === null || h === undefined ? "—" : h.toFixed(1));

function areaFromUrl() { return new URLSearchParams(location.search).get("area"); }

async function go(code, push = true) {
  if (push) history.pushState({ area: code }, "", code ? `/levels?area=${encodeURIComponent(code)}` : "/levels");
  await load(code);
}

async function load(code) {
  const error = document.getElementById("levels-error");
  let data;
  try {
    data = await get(code ? `/api/levels/${encodeURIComponent(code)}` : "/api/levels");
  } catch (e) {
    error.textContent = t("levels.not_found");
    error.hidden = false;
    document.getElementById("levels").hidden = true;
    return;
  }
  error.hidden = true;
  document.getElementById("levels").hidden = false;
  view.data = data;
  const root = document.getElementById("levels");
  root.dataset.area = data.area.code;
  root.dataset.level = data.area.level;
  document.getElementById("levels-title").textContent = `${t("levels.title")} · ${data.area.name}`;
  renderCrumbs(data);
  renderTotals(data);
  renderChildren(data);
  renderVitals(data);
  view.town = null;
  await drawMap();
  document.body.dataset.levelReady = data.area.code;
  // after the level's own panels: the figures between levels and, at a town, the town's cockpit
  loadCross(data.area.code);
  loadTown(data.area);
}

function renderCrumbs(data) {
  const list = clear(document.getElementById("crumbs"));
  data.crumbs.forEach((c, i) => {
    const last = i === data.crumbs.length - 1;
    const label = `${c.name}（${levelName(c.level)}）`;
    let item;
    if (last) item = el("span", { "aria-current": "page" }, label);
    else if (c.visible) item = el("a", { href: `/levels?area=${encodeURIComponent(c.code)}`, "data-code": c.code }, label);
    else item = el("span", { class: "muted" }, label);  // above one's scope: named, not opened
    list.append(el("li", {}, item));
  });
  for (const a of list.querySelectorAll("a[data-code]")) {
    a.addEventListener("click", (ev) => { ev.preventDefault(); go(a.dataset.code); });
  }
}

function setCounter(key, text, href) {
  const box = document.getElementById(`level-${key}`);
  box.querySelector("[data-value]").textContent = text;
  box.href = href;
  box.setAttribute("aria-label", `${t(`levels.${key}`)}：${text}`);
}

function renderTotals(data) {
  const a = data.area.code;
  const tot = data.totals;
  setCounter("open", String(tot.open), eventsUrl({ area_code: a, state: OPEN_STATES }));
  setCounter("overdue", String(tot.overdue), eventsUrl({ area_code: a, overdue: "1" }));
  setCounter("received_today", String(tot.received_today), eventsUrl({ area_code: a, from: new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date()) }));
  setCounter("closed_today", String(tot.closed_today), eventsUrl({ area_code: a, closed_from: new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date()) }));
  const n = Object.values(tot.warnings).reduce((x, y) => x + y, 0);
  setCounter("warnings", tot.warning_level ? `${n} · ${t(`warning_level.${tot.warning_level}`)}` : String(n), `/warnings?state=firing&area=${encodeURIComponent(a)}`);
  const v = data.vitals;
  setCounter("vital", v === null ? t("cockpit.not_available") : (v.colour ? t(`vitals.colour.${v.colour}`) : t("levels.vital.none")), "/vital-signs");
  document.getElementById("level-vital").dataset.colour = (v && v.colour) || "none";
}

function renderChildren(data) {
  const body = clear(document.getElementById("levels-children"));
  if (!data.children.length) { body.append(el("tr", {}, el("td", { colspan: "6" }, empty()))); return; }
  for (const c of data.children) {
    const name = c.drillable
      ? el("a", { href: `/levels?area=${encodeURIComponent(c.code)}`, "data-code": c.code, class: "level-down",
        "aria-label": t("levels.go_down", { name: c.name }) }, c.name)
      : el("span", {}, c.name);
    const firing = Object.entries(c.warnings).filter(([, k]) => k).map(([lv, k]) =>
      el("span", { class: `level-badge level-${lv}` }, `${t(`warning_level.${lv}`)} ${k}`));
    body.append(el("tr", { "data-code": c.code },
      el("th", { scope: "row" }, name, " ", el("a", { class: "small", href: eventsUrl({ area_code: c.code, state: OPEN_STATES }) }, t("levels.events_link"))),
      el("td", { class: "num" }, String(c.open)), el("td", { class: "num" }, String(c.overdue)),
      el("td", { class: "num" }, String(c.received_today)), el("td", {}, firing.length ? firing : "—"),
      // the child's own vital-signs colour (the worst of its sectors'); absent without indicator.read
      el("td", { class: "level-vital", "data-colour": c.vital_colour || "none" },
        c.vital_colour === undefined ? "—" : el("span", { class: `vital-sector-name vital-is-${c.vital_colour || "none"}` },
          el("span", { class: `vital-dot vital-${c.vital_colour || "none"}`, "aria-hidden": "true" }),
          c.vital_colour ? t(`vitals.colour.${c.vital_colour}`) : t("levels.vital.none")))));
  }
  for (const a of body.querySelectorAll("a.level-down")) {
    a.addEventListener("click", (ev) => { ev.preventDefault(); go(a.dataset.code); });
  }
}

function renderVitals(data) {
  const list = clear(document.getElementById("levels-vitals"));
  if (!data.vitals || !data.vitals.sectors.length) { list.append(empty(t("levels.none"))); return; }
  list.append(...data.vitals.sectors.map((n) => el("li", { class: `vital-sector vital-is-${n.colour || "none"}`, "data-code": n.code },
    el("span", { class: "vital-sector-name" }, el("span", { class: `vital-dot vital-${n.colour || "none"}`, "aria-hidden": "true" }), n.name),
    el("span", { class: "vital-sector-state" }, n.colour ? t(`vitals.colour.${n.colour}`) : t("vitals.colour.none")))));
}

// --- map: the children coloured by open events, the open events with a point, at a town its workers --
async function drawMap() {
  const data = view.data;
  await echartsReady();
  if (!view.chart) {
    view.chart = echarts.init(document.getElementById("levels-map"), null, { renderer: "canvas" });
    view.chart.on("click", onMapClick);
    window.addEventListener("resize", () => view.chart.resize());
  }
  const mapName = `levels-${data.area.code}`;
  echarts.registerMap(mapName, data.map);
  const names = Object.fromEntries(data.children.map((c) => [c.code, c.name]));
  const max = Math.max(1, ...data.children.map((c) => c.open));
  const workers = (view.town && view.town.workers) || [];
  view.chart.setOption({
    backgroundColor: "transparent", animation: false,
    tooltip: { trigger: "item", confine: true, formatter: (p) => {
      if (p.seriesType === "map") return echarts.format.encodeHTML(`${names[p.name] || p.name}：${p.value || 0}`);
      const d = p.data || {};
      if (d.worker) return [d.worker.name, d.worker.area_name, fmtShortTime(d.worker.at)].map((x) => echarts.format.encodeHTML(x || "")).join("<br>");
      return [d.number, p.name, stateLabel(d.state)].map((x) => echarts.format.encodeHTML(x || "")).join("<br>");
    } },
    visualMap: { type: "continuous", min: 0, max, seriesIndex: 0, left: 8, bottom: 8, itemHeight: 80,
      text: [String(max), "0"], textStyle: { color: TEXT }, inRange: { color: ["#0b3a5e", "#1475a8", "#27c3d9", "#ffd666", "#ff7a45", "#f5222d"] } },
    geo: { map: mapName, roam: true, nameProperty: "code", layoutCenter: ["50%", "50%"], layoutSize: "95%",
      label: { show: data.children.length <= 40, color: "#e6f4ff", formatter: (p) => names[p.name] || "" },
      itemStyle: { areaColor: "#0b3a5e", borderColor: "#4fc3ff", borderWidth: 1 },
      emphasis: { itemStyle: { areaColor: "#2f9bff" } }, select: { disabled: true } },
    series: [
      { type: "map", geoIndex: 0, nameProperty: "code", data: data.children.map((c) => ({ name: c.code, value: c.open })) },
      { type: "scatter", coordinateSystem: "geo", symbolSize: 6, itemStyle: { color: "#9ff3ff" }, zlevel: 1,
        data: data.markers.map((m) => ({ name: m.title, value: [m.lon, m.lat], number: m.number, state: m.state })) },
      { id: "workers", type: "scatter", coordinateSystem: "geo", symbol: "pin", symbolSize: 18, zlevel: 2,
        itemStyle: { color: "#73d13d" }, data: workers.map((w) => ({ name: w.name, value: [w.lon, w.lat], worker: w })) },
    ],
  }, true);
}

function onMapClick(p) {
  const d = p.data || {};
  if (d.number) { location.href = `/events/${encodeURIComponent(d.number)}`; return; }
  if (p.seriesType !== "map" && p.componentType !== "geo") return;
  const child = view.data.children.find((c) => c.code === p.name);
  if (child && child.drillable) go(child.code);
}

// --- between the levels -------------------------------------------------------------------------------
async function loadCross(code) {
  const box = clear(document.getElementById("levels-cross"));
  let f;
  try { f = await get(`/api/levels/${encodeURIComponent(code)}/cross-level?days=30`); } catch (e) { box.append(empty()); return; }
  if (view.data.area.code !== code) return;
  const pair = (r) => t("levels.pair", { from: levelName(r.from_level), to: levelName(r.to_level) });
  const list = (rows, label) => (rows.length ? el("ul", { class: "levels-moves" }, rows.map((r) =>
    el("li", {}, label(r), el("strong", { class: "num" }, ` ${r.count}`)))) : el("p", { class: "muted" }, t("levels.none")));
  box.append(
    el("h3", {}, t("levels.down")), list(f.down, pair),
    el("h3", {}, t("levels.up_moves")), list(f.up, (r) => `${actionLabel(r.action)}：${r.from_level ? pair(r) : ""}`),
    el("h3", {}, t("levels.waits")),
    !f.waits.length ? el("p", { class: "muted" }, t("levels.none")) : el("table", { class: "levels-waits" },
      el("thead", {}, el("tr", {}, ["levels.waits.level", "levels.waits.tasks", "levels.waits.accept", "levels.waits.report",
        "levels.waits.open", "levels.waits.overdue"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, f.waits.map((w) => el("tr", { "data-level": w.level }, el("th", { scope: "row" }, levelName(w.level)),
        el("td", { class: "num" }, String(w.tasks)), el("td", { class: "num" }, hours(w.accept_hours)),
        el("td", { class: "num" }, hours(w.report_hours)), el("td", { class: "num" }, String(w.open)),
        el("td", { class: "num" }, String(w.overdue)))))),
    el("p", { class: "small muted" }, `${t("levels.intake")}：`, f.intake.map((i) => `${levelName(i.level)} ${hours(i.dispatch_hours)}`).join("，") || t("levels.none")),
    el("h3", {}, t("levels.closes")),
    f.closes.length ? el("ul", { class: "levels-closes" }, f.closes.map((c) => el("li", { "data-level": c.level },
      el("strong", {}, levelName(c.level)), ` ${t("levels.closes.count", { n: c.closed })}：`,
      c.classes.map((k) => `${k.major_name || "—"} ${k.closed}`).join("，")))) : el("p", { class: "muted" }, t("levels.none")));
}

// --- the town's own cockpit ----------------------------------------------------------------------------
async function loadTown(area) {
  const panels = document.querySelectorAll(".town-panel");
  if (area.level !== "town") { panels.forEach((p) => { p.hidden = true; }); return; }
  let town;
  try { town = await get(`/api/towns/${encodeURIComponent(area.code)}/cockpit`); } catch (e) { return; }
  if (view.data.area.code !== area.code) return;
  view.town = town;
  panels.forEach((p) => { p.hidden = false; });
  document.getElementById("town-structure-link").href = `/town?town=${encodeURIComponent(area.code)}`;
  clear(document.getElementById("town-boards")).append(...town.boards.map((b) => el("tr", { "data-unit": b.unit_code },
    el("th", { scope: "row" }, b.name), el("td", { class: "num" }, String(b.open)),
    el("td", { class: `num${b.overdue ? " overdue" : ""}` }, String(b.overdue)), el("td", { class: "num" }, String(b.assigned)))));
  const c = town.coverage;
  document.getElementById("town-coverage-title").textContent = t("town_cockpit.coverage", { n: c.days });
  const pct = c.share === null ? "—" : `${(c.share * 100).toFixed(0)}%`;
  clear(document.getElementById("town-coverage")).append(
    el("p", { id: "town-coverage-share" }, t("town_cockpit.coverage.share", { covered: c.covered, grids: c.grids, pct })),
    el("ul", { class: "small" }, c.villages.map((v) => el("li", {}, `${v.name}：${v.covered}/${v.grids}`))),
    c.uncovered.length ? el("details", {}, el("summary", {}, `${t("town_cockpit.uncovered")}（${c.uncovered.length}）`),
      el("ul", { class: "small" }, c.uncovered.map((g) => el("li", {}, `${g.village} ${g.name}`)))) : "");
  clear(document.getElementById("town-workers")).append(
    el("p", { id: "town-workers-count" }, t("town_cockpit.workers.count", { n: town.workers.length, total: town.workers_total })),
    el("ul", { class: "small" }, town.workers.map((w) => el("li", { "data-person": w.person_code },
      `${w.name} · ${w.area_name} · ${t("town_cockpit.last_seen")} ${fmtShortTime(w.at)}`, w.on_patrol ? ` · ${t("town_cockpit.on_patrol")}` : ""))));
  const plans = clear(document.getElementById("town-plans"));
  if (town.plans === null) document.getElementById("town-plans-panel").hidden = true;
  else if (!town.plans.length) plans.append(el("li", { class: "muted" }, t("town_cockpit.plans.none")));
  else plans.append(...town.plans.map((r) => el("li", {}, el("a", { href: `/plans?run=${r.id}` }, r.name), ` · ${fmtShortTime(r.started_at)}`)));
  // the workers' last positions join the level's map
  if (view.chart && town.workers.length) {
    view.chart.setOption({ series: [{ id: "workers", data: town.workers.map((w) => ({ name: w.name, value: [w.lon, w.lat], worker: w })) }] });
  }
  document.body.dataset.townReady = area.code;
}

async function main() {
  shell();
  echartsReady();
  window.addEventListener("popstate", () => load(areaFromUrl()));
  await load(areaFromUrl());
}

main();
