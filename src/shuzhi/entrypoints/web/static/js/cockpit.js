// The cockpit (一屏掌控): map of the district coloured by live load, counters, live feed, key panels.
// Every figure links to the event list behind it.
import { actionLabel, clear, echartsReady, el, empty, fmtShortTime, get, localDayIso, me, shell, stateLabel, t, todayYmd } from "./core.js";
import { openStream } from "./live.js";

/* global echarts */
const OPEN_STATES = ["registered", "notifying", "dispatched", "handling", "reported_back"];
const AXIS = "#7fa7cf";
const TEXT = "#d6e9ff";
const GRIDLINE = "rgba(90,140,200,0.15)";
const PALETTE = ["#2ee6d6", "#3aa0ff", "#ffc53d", "#ff7a45", "#f5222d", "#9254de", "#73d13d", "#13c2c2"];

// chart text follows the page's font size, which grows with the screen (a wall shows bigger text)
const fs = () => Math.round(parseFloat(getComputedStyle(document.body).fontSize) * 0.8);

// The area whose cockpit this is (/?area=<code>, a click on the map): every figure of the page is that
// area's (the server narrows the scope, and answers 404 outside the reader's); none: the reader's own.
const AREA = new URLSearchParams(location.search).get("area") || null;
const areaQ = (sep = "&") => (AREA ? `${sep}area=${encodeURIComponent(AREA)}` : "");
// level "auto": the level below the area (a city's districts, a district's towns, a town's grids)
const state = { level: "auto", within: AREA, focus: null, load: [], names: {}, charts: {}, feedIds: new Set(), warningMarkers: [] };
const LEVEL_COLOURS = { blue: "#3aa0ff", yellow: "#fadb14", orange: "#fa8c16", red: "#f5222d" };

// Firing warnings as triangles in their level's colour (fetched after the first screen is drawn).
function warningPoints() {
  return state.warningMarkers.map((m) => ({
    name: m.indicator_name || m.indicator_code, value: [m.lon, m.lat], warning: m,
    itemStyle: { color: LEVEL_COLOURS[m.level] || "#fadb14", borderColor: "#fff", borderWidth: 1 },
  }));
}

const warningSeries = () => ({ id: "warnings", type: "scatter", coordinateSystem: "geo", symbol: "triangle",
  symbolSize: 14, data: warningPoints(), zlevel: 3 });

async function loadWarningMarkers(gate) {
  state.warningMarkers = await get(`/api/cockpit/warning-markers${areaQ("?")}`);
  await gate;
  if (state.charts.map) state.charts.map.setOption({ series: [warningSeries()] });
}

function eventsUrl(params) {
  const q = new URLSearchParams();
  // an area's cockpit links to that area's events
  if (AREA && !("area_code" in params)) q.set("area_code", AREA);
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  return `/events?${q}`;
}

// Each chart follows its own box: panels that appear after the first screen (the sectors' strip, the
// town's cockpit, duty, flows) change the grid's rows, and a canvas drawn before them would overflow.
function chart(id) {
  if (!state.charts[id]) {
    const box = document.getElementById(id);
    const c = echarts.init(box, null, { renderer: "canvas" });
    state.charts[id] = c;
    let pending = 0;
    new ResizeObserver(() => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => { if (!c.isDisposed()) c.resize(); });
    }).observe(box);
  }
  return state.charts[id];
}

// --- counters ------------------------------------------------------------------------------------
const COUNTER_LINKS = {
  received_today: () => eventsUrl({ from: todayYmd() }),
  dispatched_today: () => eventsUrl({ dispatched_from: todayYmd() }),
  closed_today: () => eventsUrl({ closed_from: todayYmd() }),
  open: () => eventsUrl({ state: OPEN_STATES }),
  awaiting_dispatch: () => eventsUrl({ state: "registered" }),
  awaiting_verification: () => eventsUrl({ state: "reported_back" }),
  overdue: () => eventsUrl({ overdue: "1" }),
  warnings_active: () => "/warnings?state=firing",
  plans_running: () => "/plans",
};

function renderCounters(s) {
  const values = s;
  for (const [key, link] of Object.entries(COUNTER_LINKS)) {
    const box = document.getElementById(`counter-${key}`);
    const v = values[key];
    const out = box.querySelector("[data-value]");
    const text = v === null || v === undefined ? t("cockpit.not_available") : String(v);
    if (out.textContent !== text && out.textContent !== "—") {
      box.classList.remove("bump");
      void box.offsetWidth; // restart the animation
      box.classList.add("bump");
    }
    out.textContent = text;
    box.classList.toggle("na", v === null || v === undefined);
    box.href = link();
    box.setAttribute("aria-label", `${t(`cockpit.${key}`)}：${text}`);
  }
}

// --- map -----------------------------------------------------------------------------------------
function fetchMap() {
  const q = state.within ? `&within=${encodeURIComponent(state.within)}` : "";
  const loadQ = state.within ? `&parent_code=${encodeURIComponent(state.within)}` : "";
  return Promise.all([
    get(`/api/cockpit/map-layer?level=${state.level}${q}`),
    get(`/api/cockpit/area-load?level=${state.level}${loadQ}`),
    get(`/api/cockpit/markers?limit=300${areaQ()}`),
    state.focus ? Promise.resolve(state.focus) : get(`/api/cockpit/focus${areaQ("?")}`),
  ]);
}

// The breadcrumb of the area shown (重庆市 › 大足区 › 龙岗街道): the areas above the reader's scope are
// plain text, the others open their own cockpit; the title says which area and what the map shows.
function renderFocus(f) {
  state.focus = f;
  const childLevel = state.level === "auto" ? f.child_level : state.level;
  document.getElementById("map-title").textContent = f.name
    ? t("cockpit.map_of", { name: f.name, level: t(`cockpit.level.${childLevel}`) }) : t("cockpit.map");
  const nav = clear(document.getElementById("cockpit-crumbs"));
  f.crumbs.forEach((c, i) => {
    if (i) nav.append(el("span", { class: "crumb-sep", "aria-hidden": "true" }, "›"));
    const last = i === f.crumbs.length - 1;
    nav.append(last ? el("span", { "aria-current": "page", "data-code": c.code }, c.name)
      : c.visible ? el("a", { href: `/?area=${encodeURIComponent(c.code)}`, "data-code": c.code }, c.name)
        : el("span", { class: "muted", "data-code": c.code }, c.name));
  });
  const auto = document.querySelector("[data-level='auto']");
  auto.textContent = t(`cockpit.level.${f.child_level}`);
  // every grid of a city at once is 60,000 shapes: the grid layer is a district's or a town's
  document.querySelector("[data-level='grid']").hidden = f.child_level === "grid" || f.level === "city";
  document.body.dataset.cockpitArea = f.code || "";
  document.body.dataset.cockpitLevel = f.level || "";
}

async function loadMap(fetched) {
  const [layer, load, markers, focus] = await (fetched || fetchMap());
  renderFocus(focus);
  await echartsReady();
  state.load = load;
  state.names = Object.fromEntries(load.map((a) => [a.code, a.name]));
  const mapName = `shuzhi-${state.level}-${state.within || "all"}`;
  echarts.registerMap(mapName, layer);
  const max = Math.max(1, ...load.map((a) => a.open));
  const points = markers.map((m) => ({
    name: m.title, value: [m.lon, m.lat, 1], number: m.number, urgency: m.urgency, state: m.state,
  }));
  const urgent = points.filter((p) => p.urgency !== "normal");
  const normal = points.filter((p) => p.urgency === "normal");
  chart("map").setOption({
    backgroundColor: "transparent", animation: false,
    tooltip: {
      trigger: "item", confine: true, backgroundColor: "rgba(6,20,40,0.92)", borderColor: "#1f6fb2",
      textStyle: { color: TEXT },
      // formatter returns text only: names and titles are escaped by ECharts' encodeHTML
      formatter: (p) => {
        if (p.seriesType === "map") {
          return echarts.format.encodeHTML(t("cockpit.events_in", { name: state.names[p.name] || p.name, n: p.value || 0 }));
        }
        const d = p.data || {};
        if (d.warning) {
          const w = d.warning;
          return [t(`level.${w.level}`), w.indicator_name || w.indicator_code, `${w.area_name || ""} ${w.series_key}`,
            w.last_value != null ? String(w.last_value) : ""].map((x) => echarts.format.encodeHTML(x)).join("<br>");
        }
        return `${echarts.format.encodeHTML(d.number || "")}<br>${echarts.format.encodeHTML(p.name)}<br>${echarts.format.encodeHTML(stateLabel(d.state))}`;
      },
    },
    visualMap: {
      type: "continuous", min: 0, max, seriesIndex: 0, calculable: false, orient: "vertical", left: 8, bottom: 8,
      text: [String(max), "0"], textStyle: { color: TEXT }, itemHeight: 90,
      inRange: { color: ["#0b3a5e", "#1475a8", "#27c3d9", "#ffd666", "#ff7a45", "#f5222d"] },
    },
    geo: {
      map: mapName, roam: true, nameProperty: "code", layoutCenter: ["50%", "52%"], layoutSize: "95%",
      // names on the map while they can be read: a city's districts or a district's towns, not 1,031
      label: { show: load.length <= 60, color: "#e6f4ff", fontSize: fs(),
        formatter: (p) => state.names[p.name] || "" },
      itemStyle: { areaColor: "#0b3a5e", borderColor: "#4fc3ff", borderWidth: load.length <= 60 ? 1 : 0.4 },
      emphasis: { label: { show: true, color: "#fff" }, itemStyle: { areaColor: "#2f9bff" } },
      select: { disabled: true },
    },
    series: [
      { type: "map", geoIndex: 0, nameProperty: "code", data: load.map((a) => ({ name: a.code, value: a.open })) },
      { type: "scatter", coordinateSystem: "geo", data: normal, symbolSize: 5, itemStyle: { color: "#9ff3ff", opacity: 0.8 },
        zlevel: 1 },
      { type: "effectScatter", coordinateSystem: "geo", data: urgent, symbolSize: 8, rippleEffect: { scale: 3 },
        itemStyle: { color: "#ff4d4f" }, zlevel: 2 },
      warningSeries(),
    ],
  }, true);
  const back = document.getElementById("map-back");
  back.hidden = !focus.up;
  if (focus.up) back.href = `/?area=${encodeURIComponent(focus.up)}`;
  for (const b of document.querySelectorAll("[data-level]")) b.setAttribute("aria-pressed", String(b.dataset.level === state.level));
  renderRank();
  // which layer the map shows, once drawn (bench_cockpit.py times the grid layer's opening to this)
  document.body.dataset.mapDrawn = `${state.level}:${state.within || ""}`;
  window.__mapDrawnAt = performance.now();
}

function onMapClick(p) {
  const riskCode = riskPointAt(p) || (p.componentType === "series" && p.data && p.data.flood ? p.data.flood.code : null);
  if (riskCode) {
    location.href = `/risk-points?code=${encodeURIComponent(riskCode)}`;
    return;
  }
  if (p.componentType === "series" && p.data && p.data.warning) {
    location.href = `/warnings?indicator=${encodeURIComponent(p.data.warning.indicator_code)}`;
    return;
  }
  if (p.componentType === "series" && p.data && p.data.number) {
    location.href = `/events/${encodeURIComponent(p.data.number)}`;
    return;
  }
  const code = p.name;
  if (!code) return;
  // an area opens its own cockpit (a page of its own: the address names it, the browser's back works);
  // a grid's cockpit shows the grid itself, whose click lists its open events
  if (code === state.focus?.code) location.href = eventsUrl({ area_code: code, state: OPEN_STATES });
  else location.href = `/?area=${encodeURIComponent(code)}`;
}

// The load panel: the worst RANK_N areas by open events; with a city's 1,031 towns the rest are found by
// name (the search box), never listed all at once.
const RANK_N = 10;
function renderRank() {
  const list = clear(document.getElementById("rank"));
  const more = document.getElementById("rank-more");
  const needle = (document.getElementById("rank-search").value || "").trim();
  const sorted = [...state.load].sort((a, b) => b.open - a.open || a.name.localeCompare(b.name));
  const found = needle ? sorted.filter((a) => a.name.includes(needle) || a.code.startsWith(needle)) : sorted;
  const top = found.slice(0, RANK_N);
  more.hidden = needle ? false : state.load.length <= RANK_N;
  more.textContent = needle ? t("cockpit.rank_found", { n: found.length, shown: top.length })
    : t("cockpit.rank_more", { n: state.load.length, shown: top.length });
  if (!top.length || (!needle && top[0].open === 0)) { list.append(empty()); return; }
  const max = Math.max(1, ...top.map((a) => a.open));
  for (const a of top) {
    const href = a.code === state.focus?.code ? eventsUrl({ area_code: a.code, state: OPEN_STATES })
      : `/?area=${encodeURIComponent(a.code)}`;
    list.append(el("li", { "data-code": a.code }, el("a", { href },
      el("span", { class: "rank-name", title: a.name }, a.name),
      el("span", { class: "rank-bar", style: `--w:${Math.round((a.open / max) * 100)}%` }),
      el("span", { class: "rank-value" }, String(a.open)))));
  }
}

// --- panels --------------------------------------------------------------------------------------
const axisStyle = () => ({ axisLine: { lineStyle: { color: AXIS } }, axisLabel: { color: AXIS, fontSize: fs() },
  splitLine: { lineStyle: { color: GRIDLINE } } });

function renderBreakdowns(b) {
  const dayStarts = b.days.map((_, i) => {
    const d = new Date(Date.now() - (b.days.length - 1 - i) * 86400e3);
    return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(d);
  });
  chart("chart-trend").setOption({
    color: ["#2ee6d6", "#ffc53d"], tooltip: { trigger: "axis" },
    legend: { textStyle: { color: TEXT, fontSize: fs() }, top: 0, right: 8, data: [t("cockpit.trend_received"), t("cockpit.trend_closed")] },
    grid: { left: 40, right: 12, top: 28, bottom: 22 },
    xAxis: { type: "category", data: b.days, ...axisStyle() },
    yAxis: { type: "value", ...axisStyle() },
    series: [
      { name: t("cockpit.trend_received"), type: "line", smooth: true, data: b.received_by_day, areaStyle: { opacity: 0.15 }, dayStarts },
      { name: t("cockpit.trend_closed"), type: "line", smooth: true, data: b.closed_by_day },
    ],
  }, true);
  chart("chart-trend").off("click");
  chart("chart-trend").on("click", (p) => {
    const from = dayStarts[p.dataIndex];
    const next = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date(new Date(localDayIso(from)).getTime() + 86400e3));
    location.href = p.seriesIndex === 0 ? eventsUrl({ from, to: next }) : eventsUrl({ closed_from: from, closed_to: next });
  });

  const states = Object.entries(b.by_state);
  setPieOrEmpty("chart-state", states.map(([k, v]) => ({ name: stateLabel(k), value: v, key: k })),
    (p) => eventsUrl({ state: p.data.key }));

  const classes = b.by_major_class;
  setBarOrEmpty("chart-class", classes.map((c) => c[1]), classes.map((c) => ({ value: c[2], key: c[0] })),
    (p) => eventsUrl({ major_class: p.data.key, state: OPEN_STATES }));

  const sources = Object.entries(b.by_source).sort((x, y) => y[1] - x[1]);
  setBarOrEmpty("chart-source", sources.map(([k]) => t(`source.${k}`)), sources.map(([k, v]) => ({ value: v, key: k })),
    (p) => eventsUrl({ source: p.data.key, from: dayStarts[0] }));
}

function showEmpty(id, isEmpty) {
  const box = document.getElementById(id);
  let note = box.parentElement.querySelector(".chart-empty");
  if (isEmpty && !note) {
    note = empty();
    note.classList.add("chart-empty");
    box.parentElement.append(note);
  } else if (!isEmpty && note) note.remove();
  box.hidden = isEmpty;
}

function setPieOrEmpty(id, data, link) {
  showEmpty(id, data.length === 0);
  if (!data.length) return;
  const c = chart(id);
  c.setOption({
    color: PALETTE, tooltip: { trigger: "item" },
    legend: { orient: "vertical", right: 4, top: "middle", textStyle: { color: TEXT, fontSize: fs() }, itemWidth: 10, itemHeight: 10 },
    series: [{ type: "pie", radius: ["45%", "72%"], center: ["36%", "52%"], data,
      label: { color: TEXT, formatter: "{c}", fontSize: fs() }, itemStyle: { borderColor: "#071a33", borderWidth: 2 } }],
  }, true);
  c.off("click");
  c.on("click", (p) => { location.href = link(p); });
}

function setBarOrEmpty(id, names, data, link) {
  showEmpty(id, data.length === 0);
  if (!data.length) return;
  const c = chart(id);
  c.setOption({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    grid: { left: 8, right: 36, top: 6, bottom: 6, containLabel: true },
    xAxis: { type: "value", ...axisStyle(), axisLabel: { show: false } },
    yAxis: { type: "category", inverse: true, data: names, ...axisStyle(), axisLabel: { color: TEXT, fontSize: fs() } },
    series: [{ type: "bar", data, barMaxWidth: 14, label: { show: true, position: "right", color: TEXT, fontSize: fs() },
      itemStyle: { borderRadius: [0, 3, 3, 0], color: new echarts.graphic.LinearGradient(0, 0, 1, 0,
        [{ offset: 0, color: "#1766c2" }, { offset: 1, color: "#2ee6d6" }]) } }],
  }, true);
  c.off("click");
  c.on("click", (p) => { location.href = link(p); });
}

// --- feed ----------------------------------------------------------------------------------------
function feedItem(i, fresh) {
  return el("li", { class: `feed-item${fresh ? " new" : ""} urgency-${i.urgency}`, "data-id": i.id },
    el("time", { datetime: i.at }, fmtShortTime(i.at)),
    el("span", { class: "feed-action" }, actionLabel(i.action)),
    el("a", { href: `/events/${encodeURIComponent(i.number)}`, class: "feed-title" }, i.title),
    el("span", { class: "feed-meta" }, [i.area_name || "", i.to_state ? ` · ${stateLabel(i.to_state)}` : ""].join("")));
}

// A warning in the feed: its level's colour, what happened, the indicator and where; links to the list.
function warningItem(w, fresh) {
  const level = w.to_level || w.from_level || "";
  const q = new URLSearchParams({ indicator: w.indicator_code, state: w.change === "resolved" ? "all" : "open" });
  return el("li", { class: `feed-item feed-warning${fresh ? " new" : ""} level-${level}`, "data-warning": w.warning_id,
    "data-at": w.at },
  el("time", { datetime: w.at }, fmtShortTime(w.at)),
  el("span", { class: `feed-action level-badge level-${level}` }, `${t(`warnings.change.${w.change}`)}${level ? ` · ${t(`level.${level}`)}` : ""}`),
  el("a", { href: `/warnings?${q}`, class: "feed-title" }, `${w.indicator_name || w.indicator_code}`),
  el("span", { class: "feed-meta" }, [w.area_name || w.area_code || "", w.value != null ? ` · ${w.value}` : ""].join("")));
}

// Feed lines are kept newest first by time, whatever their kind (timeline lines and warning changes).
function insertByTime(list, node, at) {
  const when = new Date(at).getTime();
  for (const other of list.children) {
    const o = other.querySelector("time");
    if (o && new Date(o.getAttribute("datetime")).getTime() <= when) { list.insertBefore(node, other); return; }
  }
  list.append(node);
}

function addWarnings(changes, fresh) {
  const list = document.getElementById("feed");
  for (const w of changes) {
    const key = `w${w.id}`;
    if (state.feedIds.has(key)) continue;
    state.feedIds.add(key);
    if (fresh) list.prepend(warningItem(w, true));
    else insertByTime(list, warningItem(w, false), w.at);
  }
  trimFeed(list);
}

function trimFeed(list) {
  while (list.children.length > 60) list.lastElementChild.remove();
  if (!list.children.length) list.append(empty());
  else if (list.children.length > 1) list.querySelector(".empty")?.remove();
}

function addFeed(items, fresh) {
  const list = document.getElementById("feed");
  for (const i of items) {
    if (state.feedIds.has(i.id)) continue;
    state.feedIds.add(i.id);
    list.prepend(feedItem(i, fresh));
  }
  while (list.children.length > 60) list.lastElementChild.remove();
  if (!list.children.length) list.append(empty());
  else list.querySelector(".empty")?.remove();
}

// --- refresh -------------------------------------------------------------------------------------
let refreshTimer = null;
function scheduleRefresh(delay = 800) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshFigures, delay);
}

// The ledgers' five-colour state (台账五色): the sum as a bar, then one line per ledger. Hidden for
// people who may not read ledgers (the API answers 403).
const LEDGER_COLOURS = ["red", "orange", "yellow", "green", "blue"];
async function loadLedgerBoard(gate) {
  let b;
  try { b = await get("/api/ledger-board"); } catch (e) { return; }
  await gate;
  const panel = document.getElementById("ledger-panel");
  const box = clear(document.getElementById("ledger-board"));
  panel.hidden = false;
  if (!b.ledgers.length) { box.append(el("p", { class: "muted" }, t("cockpit.ledgers.none"))); return; }
  const row = (colours) => el("span", { class: "ledger-colours" }, LEDGER_COLOURS.map((c) =>
    el("span", { class: `ledger-colour colour-${c}`, title: t(`ledgers.colour.${c}`) }, `${t(`ledgers.colour.${c}`)} ${colours[c] || 0}`)));
  box.append(row(b.colours), el("ul", { class: "ledger-board" }, b.ledgers.map((l) =>
    el("li", {}, el("a", { href: `/ledgers?ledger=${encodeURIComponent(l.code)}` }, l.name), " ", row(l.colours)))));
}

// Who is on duty now at one's own centre (带班领导, 值班员); hidden where one's unit keeps no roster.
async function loadDutyBoard(gate) {
  let who, now;
  try {
    who = await me();
    now = await get(`/api/duty/on-duty?unit_code=${encodeURIComponent(who.unitCode)}`);
  } catch (e) { return; }
  await gate;
  const names = (shifts) => shifts.map((s) => s.person_name).join("、");
  const box = clear(document.getElementById("duty-board"));
  document.getElementById("duty-panel").hidden = false;
  if (!now.leaders.length && !now.officers.length) { box.append(el("p", { class: "muted" }, t("cockpit.duty.nobody"))); return; }
  box.append(el("p", { class: "muted small" }, now.unit_name), el("dl", {},
    el("dt", {}, t("duty.role.leader_on_duty")), el("dd", { id: "duty-leaders" }, names(now.leaders) || t("common.none")),
    el("dt", {}, t("duty.role.officer")), el("dd", { id: "duty-officers" }, names(now.officers) || t("common.none"))));
}

async function refreshFigures() {
  try {
    const [s, b] = await Promise.all([get(`/api/cockpit/summary${areaQ("?")}`), get(`/api/cockpit/breakdowns?days=14${areaQ()}`)]);
    renderCounters(s);
    renderBreakdowns(b);
    state.warningMarkers = await get(`/api/cockpit/warning-markers${areaQ("?")}`);
    await loadMap();
  } catch (e) { /* the next tick tries again */ }
}

// The two flows (抄送知悉 vs 流转处置): how many events went each way over the last 30 days, and how
// timely each was — copies read by their read deadline (及时知悉率) vs tasks reported back by theirs.
async function loadFlows(gate) {
  let f;
  try { f = await get(`/api/cockpit/flows?days=30${areaQ()}`); } catch (e) { return; }
  await gate;
  const panel = document.getElementById("flows-panel");
  const box = clear(document.getElementById("flows"));
  panel.hidden = false;
  document.getElementById("flows-days").textContent = t("cockpit.flows.days", { n: f.days });
  const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
  const row = (key, flow, rateKey) => el("tr", { class: `flow-${key}` },
    el("th", { scope: "row" }, t(`cockpit.flows.${key}`)),
    el("td", { class: "num" }, String(flow.events)),
    el("td", { class: "num" }, String(flow.tasks)),
    el("td", { class: "num" }, String(flow.done)),
    el("td", { class: "num", title: t(rateKey) }, pct(flow.on_time_rate)),
    el("td", { class: "num" }, String(flow.late_open)));
  box.append(
    el("p", { class: "flows-share" }, t("cockpit.flows.share", { pct: pct(f.notify_share) })),
    el("table", { class: "flows-table" },
      el("thead", {}, el("tr", {}, ["", "cockpit.flows.events", "cockpit.flows.tasks", "cockpit.flows.done",
        "cockpit.flows.rate", "cockpit.flows.late"].map((k) => el("th", { scope: "col" }, k ? t(k) : "")))),
      el("tbody", {}, row("notify", f.notify, "cockpit.flows.rate.notify"), row("handle", f.handle, "cockpit.flows.rate.handle"))));
}

// glance (issue #22): the sectors' vital signs in five colours (城市体征), each linking to its branch of
// the tree; refreshed with the other figures' cadence. Hidden when the tree is empty or unreadable.
const VITAL_LABELS = ["green", "blue", "yellow", "orange", "red"];
async function loadVitals(gate) {
  let v;
  try { v = await get("/api/vital-signs?depth=sector"); } catch (e) { return; }
  await gate;
  const panel = document.getElementById("vitals-panel");
  const shown = panel.hidden;
  panel.hidden = !v.sectors.length;
  // the strip takes a row of the grid: the charts drawn before it appeared must fit their panels again
  if (shown !== panel.hidden) Object.values(state.charts).forEach((c) => c.resize());
  clear(document.getElementById("vitals-sectors")).append(...v.sectors.map((n) => {
    const label = n.colour ? t(`vitals.colour.${n.colour}`) : t("vitals.colour.none");
    const worst = VITAL_LABELS.slice(1).reverse().find((c) => n.counts[c]);
    return el("li", { class: `vital-sector vital-is-${n.colour || "none"}`, "data-code": n.code, "data-colour": n.colour || "none" },
      el("a", { href: `/vital-signs#vital-${encodeURIComponent(n.code)}`, title: label },
        el("span", { class: "vital-sector-name" }, el("span", { class: `vital-dot vital-${n.colour || "none"}`, "aria-hidden": "true" }), n.name),
        el("span", { class: "vital-sector-state" }, worst ? `${label} · ${n.counts[worst]}` : label)));
  }));
}
// Risk points (风险点全量落图) as diamonds in their state's colour. loadMap rebuilds the map's option
// from scratch (notMerge); rather than touch it, the layer is merged back after each such rebuild.
// The layer comes compact (GET /api/cockpit/risk-layer: parallel arrays of code, kind, state, lon, lat)
// and is drawn as one large-mode series per state, each fed a flat Float64Array [lon, lat, lon, lat, …]:
// no object per point, no per-point style, one canvas path per colour. A click opens the point's page.
const RISK_COLOURS = { normal: "#52c41a", watch: "#ffc53d", in_rectification: "#3aa0ff", warning: "#f5222d" };
let riskLayer = null; // { layer, byState: [{ state, index: Int32Array, coords: Float64Array }] }
function splitRiskLayer(layer) {
  const n = layer.code.length;
  const counts = layer.states.map(() => 0);
  for (let i = 0; i < n; i++) counts[layer.state[i]] += 1;
  const byState = layer.states.map((st, k) => ({ state: st, index: new Int32Array(counts[k]), coords: new Float64Array(counts[k] * 2), n: 0 }));
  for (let i = 0; i < n; i++) {
    const g = byState[layer.state[i]];
    g.index[g.n] = i;
    g.coords[2 * g.n] = layer.lon[i];
    g.coords[2 * g.n + 1] = layer.lat[i];
    g.n += 1;
  }
  return { layer, byState };
}
function riskTooltip(p) {
  const g = riskLayer && riskLayer.byState[p.seriesId === undefined ? -1 : Number(p.seriesId.slice(5))];
  if (!g) return "";
  const i = g.index[p.dataIndex];
  const kind = riskLayer.layer.kinds[riskLayer.layer.kind[i]];
  return [riskLayer.layer.code[i], `${kind ? kind[1] : ""} · ${t(`risk.state.${g.state}`)}`]
    .map((x) => echarts.format.encodeHTML(x)).join("<br>");
}
// warning drawn last, on top: a red diamond is never hidden under a green one. A state of more than
// 2,000 points (in practice: normal) is drawn in large mode as 3.5 px squares — under 4 px ECharts fills
// rectangles straight onto the canvas instead of building a diamond path a point (20,000 points drew
// several times faster in Chromium, docs/vital-signs.md); the rarer states stay diamonds.
// (Large mode throws on an empty series in ECharts 5.6, and progressive: 0 made it slower, not faster.)
const riskSeries = () => (riskLayer ? riskLayer.byState : []).map((g, k) => ({
  id: `risk-${k}`, type: "scatter", coordinateSystem: "geo", symbol: "diamond", name: g.state,
  large: g.n > 2000, symbolSize: g.n > 2000 ? 3.5 : (riskLayer.layer.code.length > 2000 ? 6 : 9),
  zlevel: 2, z: 2 + k, data: g.coords, itemStyle: { color: RISK_COLOURS[g.state] || "#999" },
  tooltip: { formatter: riskTooltip } }));
function riskPointAt(p) {
  if (!riskLayer || p.componentType !== "series" || !String(p.seriesId || "").startsWith("risk-")) return null;
  const g = riskLayer.byState[Number(p.seriesId.slice(5))];
  return g ? riskLayer.layer.code[g.index[p.dataIndex]] : null;
}
// the layer is asked for at once with the first screen (prefetched) rather than after it is drawn: its
// 20,000 points are the biggest answer of the page and would otherwise start late. Resolves once
// ECharts has drawn it (or at once when there is nothing to draw).
const fetchRiskPoints = () => get("/api/cockpit/risk-layer");
async function loadRiskPoints(prefetched) {
  let layer;
  try { layer = await (prefetched || fetchRiskPoints()); } catch (e) { return; }
  riskLayer = splitRiskLayer(layer);
  const map = state.charts.map;
  if (!map) return;
  if (!map.__riskLayer) {
    const rebuild = map.setOption.bind(map);
    map.setOption = (option, notMerge, ...rest) => {
      rebuild(option, notMerge, ...rest);
      if (notMerge === true && riskLayer && riskLayer.layer.code.length) rebuild({ series: riskSeries() });
      if (notMerge === true && flood && flood.points.length) rebuild({ series: [floodSeries()] });
    };
    map.__riskLayer = true;
  }
  // drawn = ECharts has finished rendering the layer; the benchmark (bench_vital_signs.py) and the
  // browser tests wait for it
  const done = new Promise((resolve) => {
    const drawn = () => {
      map.off("finished", drawn);
      document.body.dataset.riskLayer = "drawn";
      window.__riskLayerDrawnAt = performance.now();
      resolve();
    };
    map.on("finished", drawn);
  });
  map.setOption({ series: riskSeries() });
  document.body.dataset.riskPoints = String(layer.code.length);
  return done;
}
// The flood-season layer (汛期图层, off until the duty officer switches it on): every 易涝点 in scope
// as a large circle in its state's colour, its nearest rainfall, river level and water depth in the
// tooltip (GET /api/flood-season, the /flood-season page's figures); a click opens the point's page.
// Refreshed with the risk layer while on; merged back after each rebuild of the map like it.
let flood = null; // null: off; else the answer of /api/flood-season
const floodMeasure = (m, key) => {
  if (!m) return `${t(`flood.${key}`)}：${t("flood.none")}`;
  const v = `${Number(m.value).toFixed(2)} ${m.unit || ""}`.trim();
  return `${t(`flood.${key}`)}：${v}${m.warning_level ? ` ${t(`warning_level.${m.warning_level}`)}${t("flood.warning")}` : ""}`
    + `${m.stale ? ` ${t("flood.stale")}` : ""} · ${m.via === "attached" ? t("flood.attached") : t("flood.distance", { m: m.distance_m })}`;
};
const floodSeries = () => ({ id: "flood", type: "scatter", coordinateSystem: "geo", symbol: "circle", zlevel: 3,
  symbolSize: 16, itemStyle: { borderColor: "#fff", borderWidth: 2 },
  data: (flood ? flood.points : []).map((f) => ({ name: f.name, value: [f.lon, f.lat], flood: f,
    itemStyle: { color: RISK_COLOURS[f.state] || "#999" } })),
  tooltip: { formatter: (p) => {
    const f = p.data.flood;
    return [`${f.name}（${f.code}）`, `${f.area_name || ""} · ${t(`risk.state.${f.state}`)}`,
      floodMeasure(f.rainfall, "rainfall"), floodMeasure(f.water_level, "water_level"), floodMeasure(f.water_depth, "water_depth")]
      .map((x) => echarts.format.encodeHTML(x)).join("<br>");
  } } });
async function loadFlood() {
  if (flood === null) return;
  let got;
  try { got = await get("/api/flood-season"); } catch (e) { return; }
  if (flood === null) return; // switched off meanwhile
  flood = got;
  const map = state.charts.map;
  if (!map) return;
  map.setOption({ series: [floodSeries()] });
  document.body.dataset.floodPoints = String(got.points.length);
}
function toggleFlood() {
  const button = document.getElementById("flood-toggle");
  const on = flood === null;
  button.setAttribute("aria-pressed", String(on));
  flood = on ? { points: [] } : null;
  if (on) { loadFlood(); return; }
  if (state.charts.map) state.charts.map.setOption({ series: [floodSeries()] });
  delete document.body.dataset.floodPoints;
}
function startVitals(gate) { loadVitals(gate); setInterval(() => { loadVitals(); loadRiskPoints(); loadFlood(); }, 30000); }

async function main() {
  // What the first screen needs (counters, map, markers) is asked for at once, while ECharts is still
  // loading; the panels and the feed are asked for only once it is drawn, so that on a busy server
  // their queries do not queue in front of the map's.
  const mapData = fetchMap();
  const summaryP = get(`/api/cockpit/summary${areaQ("?")}`).then(renderCounters);
  const riskP = fetchRiskPoints();
  riskP.catch(() => {}); // a refusal is handled where the layer is drawn
  echartsReady();
  shell();
  try {
    await Promise.all([summaryP, loadMap(mapData)]);
  } catch (e) {
    // an area outside the reader's scope (or none such): say so where the map would be, and stop —
    // the server answers nothing of it anyway (404)
    if (AREA && e.status === 404) {
      clear(document.getElementById("map")).append(el("p", { class: "error", role: "alert", id: "cockpit-error" },
        t("cockpit.not_found"), " ", el("a", { href: "/" }, t("cockpit.own_area"))));
      document.body.dataset.cockpitError = "404";
      return;
    }
    throw e;
  }
  // what a wall display needs first is drawn; the benchmark and the browser tests wait for this
  document.body.dataset.ready = "1";
  window.__cockpitReadyAt = performance.now();
  // then the risk layer, before anything else: the panels below are asked for now, but drawn once the
  // layer is (or after 1.5 s at most) — each appearing panel changes the grid's rows, so the map is
  // resized and drawn again with its 20,000 points, and their charts and DOM would share the frames
  // the layer is drawn in; the warning triangles are a new option of the map, drawn again as well
  // the controls that need no chart of their own answer from the start: the risk layer can be drawn
  // (and a hand on the flood switch) before the live feed below has answered
  document.getElementById("flood-toggle").addEventListener("click", toggleFlood);
  document.getElementById("rank-search").addEventListener("input", renderRank);
  const layerDrawn = loadRiskPoints(riskP);
  const gate = Promise.race([layerDrawn, new Promise((resolve) => { setTimeout(resolve, 1500); })]);
  get(`/api/cockpit/breakdowns?days=14${areaQ()}`).then(async (b) => { await gate; renderBreakdowns(b); }).catch(() => {});
  loadLedgerBoard(gate);
  loadDutyBoard(gate);
  loadFlows(gate);
  // a town's own panel (#20): a town's people's, or the town's a leader above opened
  import("./cockpit_town.js").then((m) => m.loadTownCockpit(state.focus?.level === "town" ? state.focus.code : null)).catch(() => {});
  startVitals(gate);
  loadWarningMarkers(gate).catch(() => {});
  const items = await get(`/api/live/feed?limit=40${areaQ()}`).then((got) => { addFeed(got, false); return got; });
  get(`/api/live/warnings?limit=20${areaQ()}`).then((changes) => addWarnings(changes, false)).catch(() => {});
  const status = document.getElementById("feed-status");
  openStream(items.length ? items[items.length - 1].id : null, (item) => { addFeed([item], true); scheduleRefresh(); },
    (up) => { status.textContent = up ? t("cockpit.feed_live") : t("cockpit.feed_offline"); status.className = `badge ${up ? "live" : "off"}`; },
    (change) => { addWarnings([change], true); scheduleRefresh(); }, AREA);
  await echartsReady();
  chart("map").on("click", onMapClick);
  for (const b of document.querySelectorAll("[data-level]")) {
    b.addEventListener("click", () => { state.level = b.dataset.level; state.within = state.focus?.code || AREA; loadMap(); });
  }
  window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
  setInterval(refreshFigures, 30000);
}

main();
