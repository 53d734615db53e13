// Evaluation (监督评价): the five-colour map of the child areas (drawn from our own boundaries, no map
// tiles), rankings with the movement against the previous period, red and black lists, and the
// reports (日报/周调度/月盘点) to download or generate now.
import { clear, echartsReady, el, errorText, fmtTime, get, post, shell, t, toast, todayYmd } from "./core.js";
import { loadAccuracy } from "./model_accuracy.js";
import { loadDutyFigures } from "./eval_duty.js";

/* global echarts */
const LEVELS = ["city", "district", "town", "village", "grid"];
// the scheme names its bands by colour; these are the shades drawn for the usual five (others as given)
const SHADES = { green: "#52c41a", blue: "#1677ff", yellow: "#fadb14", orange: "#fa8c16", red: "#f5222d", grey: "#3b4a5e",
  black: "#262626", purple: "#9254de" };
const shade = (c) => SHADES[c] || c || SHADES.grey;
const pct = (v) => (v === null || v === undefined ? t("common.none") : `${(v * 100).toFixed(1)}%`);
const state = { by: "unit", area: null, chart: null };

// --- the period (day / ISO week / month / quarter / year), written as the API reads it ------------
function isoWeek(ymd) {
  const d = new Date(`${ymd}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 3 - ((d.getUTCDay() + 6) % 7)); // the Thursday of its week
  const year = d.getUTCFullYear();
  const week = Math.ceil(((d - Date.UTC(year, 0, 1)) / 864e5 + 1) / 7);
  return `${year}-W${String(week).padStart(2, "0")}`;
}

export function periodLabel(kind, ymd) {
  const [y, m] = ymd.split("-");
  if (kind === "day") return ymd;
  if (kind === "week") return isoWeek(ymd);
  if (kind === "month") return `${y}-${m}`;
  if (kind === "quarter") return `${y}-Q${Math.floor((Number(m) - 1) / 3) + 1}`;
  if (kind === "half") return `${y}-H${Number(m) <= 6 ? 1 : 2}`;
  return y;
}

function currentPeriod() {
  return periodLabel(document.getElementById("p-kind").value, document.getElementById("p-date").value || todayYmd());
}

// --- the five-colour map -----------------------------------------------------------------------
async function loadMap(period) {
  const body = clear(document.getElementById("map-body"));
  const q = new URLSearchParams({ period, by: "area" });
  if (state.area) q.set("area", state.area);
  let cm;
  try { cm = await get(`/api/evaluation/colour-map?${q}`); } catch (e) {
    body.append(el("tr", {}, el("td", { colspan: 3 }, errorText(e))));
    return;
  }
  document.getElementById("period-title").textContent = cm.period.title;
  const legend = clear(document.getElementById("eval-legend"));
  for (const b of [...cm.bands, { colour: "grey", label: t("eval.no_data"), min_score: null }]) {
    legend.append(el("li", {}, el("span", { class: "swatch", style: `background:${shade(b.colour)}` }),
      b.min_score === null ? b.label : `${b.label} ≥${b.min_score}`));
  }
  for (const it of cm.items) {
    body.append(el("tr", { "data-area": it.code, "data-colour": it.colour },
      el("th", { scope: "row" }, it.name), el("td", {}, it.score === null ? t("common.none") : it.score.toFixed(1)),
      el("td", {}, el("span", { class: "swatch", style: `background:${shade(it.colour)}` }), ` ${it.band}`)));
  }
  const child = cm.area ? LEVELS[LEVELS.indexOf(cm.area.level) + 1] : "town";
  const within = cm.area ? `&within=${encodeURIComponent(cm.area.code)}` : "";
  const [layer] = await Promise.all([get(`/api/cockpit/map-layer?level=${child}${within}`), echartsReady()]);
  const name = `eval-${child}-${cm.area ? cm.area.code : "all"}`;
  echarts.registerMap(name, layer);
  const byCode = Object.fromEntries(cm.items.map((it) => [it.code, it]));
  const names = Object.fromEntries(layer.features.map((f) => [f.properties.code, f.properties.name]));
  state.chart = state.chart || echarts.init(document.getElementById("eval-map"));
  state.chart.setOption({
    backgroundColor: "transparent", animation: false,
    tooltip: { trigger: "item", confine: true, backgroundColor: "rgba(6,20,40,0.92)", borderColor: "#1f6fb2", textStyle: { color: "#d6e9ff" },
      formatter: (p) => {
        const it = byCode[p.name];
        const text = `${names[p.name] || p.name}：${it && it.score !== null ? `${it.score.toFixed(1)}（${it.band}）` : t("eval.no_data")}`;
        return echarts.format.encodeHTML(text);
      } },
    series: [{ type: "map", map: name, nameProperty: "code", roam: true, layoutCenter: ["50%", "50%"], layoutSize: "95%",
      label: { show: true, color: "#fff", formatter: (p) => names[p.name] || "" },
      itemStyle: { borderColor: "#0b1f3a", borderWidth: 1 },
      emphasis: { label: { color: "#fff" }, itemStyle: { borderColor: "#fff", borderWidth: 2 } },
      select: { disabled: true },
      data: layer.features.map((f) => {
        const it = byCode[f.properties.code];
        return { name: f.properties.code, value: it ? it.score : null, itemStyle: { areaColor: shade(it ? it.colour : "grey") } };
      }) }],
  }, true);
  document.getElementById("eval-map").dataset.areas = String(layer.features.length);
}

// --- rankings and the red/black lists -------------------------------------------------------------
function movement(r) {
  if (r.previous_rank === null || r.previous_rank === undefined) return el("span", { class: "mv-new" }, t("eval.new"));
  const n = r.previous_rank - r.rank;
  if (n > 0) return el("span", { class: "mv-up", title: t("eval.up", { n }) }, `▲${n}`, el("span", { class: "sr-only" }, t("eval.up", { n })));
  if (n < 0) return el("span", { class: "mv-down", title: t("eval.down", { n: -n }) }, `▼${-n}`, el("span", { class: "sr-only" }, t("eval.down", { n: -n })));
  return el("span", { class: "muted" }, t("eval.same"));
}

async function loadRankings(period) {
  const body = clear(document.getElementById("rank-body"));
  const q = new URLSearchParams({ period, by: state.by });
  if (state.area) q.set("area", state.area);
  const kind = document.getElementById("unit-kind");
  kind.disabled = state.by !== "unit";
  if (state.by === "unit" && kind.value) q.set("unit_kind", kind.value);
  let r;
  try { r = await get(`/api/evaluation/rankings?${q}`); } catch (e) {
    body.append(el("tr", {}, el("td", { colspan: 7 }, errorText(e))));
    return;
  }
  document.getElementById("rank-previous").textContent = t("eval.previous", { label: r.previous_period });
  if (!r.ranking.length) body.append(el("tr", {}, el("td", { colspan: 9 }, t("common.empty"))));
  for (const x of r.ranking) {
    body.append(el("tr", { "data-code": x.code },
      el("td", {}, x.rank), el("th", { scope: "row" }, x.name),
      el("td", {}, el("span", { class: "swatch", style: `background:${shade(x.colour)}` }), ` ${x.score.toFixed(1)}`),
      el("td", {}, movement(x)), el("td", {}, pct(x.closure_rate)), el("td", {}, pct(x.on_time_closure_rate)),
      // 台账 beside the events (unit rankings carry them; an area ranking has none)
      el("td", {}, pct(x.ledger_report_rate)), el("td", {}, pct(x.ledger_completion_rate)),
      el("td", { class: "eval-data-quality" }, x.runway_indicators
        ? t("gov.eval.data_quality_cell", { coverage: pct(x.data_coverage_rate), fresh: pct(x.data_freshness_rate), ack: pct(x.warning_ack_on_time_rate) })
        : t("common.none"))));

  }
  for (const [id, list] of [["red-list", r.red_list], ["black-list", r.black_list]]) {
    const box = clear(document.getElementById(id));
    if (!list.length) box.append(el("li", { class: "muted" }, t("eval.list_empty")));
    list.forEach((x) => box.append(el("li", {}, `${x.name} `, el("span", { class: "muted" }, x.score.toFixed(1)))));
  }
}

// --- 赛马比拼 (issue #20): the towns' ranking of the period as the district published it -------------------
// The district centre publishes (once per period, kept as it stood); the district's towns read it. Before
// that the period's ranking of the towns is the district's own: the towns see "not published".
async function loadPublications(period) {
  const body = clear(document.getElementById("pub-body"));
  const status = document.getElementById("pub-status");
  const list = clear(document.getElementById("pub-list"));
  let pubs;
  try { pubs = await get("/api/evaluation/publications"); } catch (e) { status.textContent = errorText(e); return; }
  document.getElementById("pub-form").hidden = !pubs.can_publish;
  if (!pubs.items.length) list.append(el("li", { class: "muted" }, t("eval.pub.none")));
  for (const p of pubs.items) {
    list.append(el("li", { "data-period": p.period }, t("eval.pub.item", { title: p.period_title || p.period, towns: p.towns,
      by: p.published_by, at: fmtTime(p.published_at) }), p.note ? el("span", { class: "muted" }, ` ${p.note}`) : ""));
  }
  const title = document.getElementById("period-title").textContent || period;
  let r;
  try { r = await get(`/api/evaluation/publications/${encodeURIComponent(period)}`); } catch (e) {
    status.dataset.published = "false";
    status.textContent = e.status === 404 ? t("eval.pub.not_published", { title }) : errorText(e);
    return;
  }
  status.dataset.published = "true";
  status.textContent = t("eval.pub.published", { title: r.period.title, at: fmtTime(r.published.published_at), by: r.published.published_by });
  for (const x of r.ranking) {
    const own = x.code === r.own;
    body.append(el("tr", { "data-code": x.code, class: own ? "own" : "", ...(own ? { "aria-current": "true" } : {}) },
      el("td", {}, x.rank), el("th", { scope: "row" }, own ? `${x.name}（${t("eval.pub.own")}）` : x.name),
      el("td", {}, el("span", { class: "swatch", style: `background:${shade(x.colour)}` }), ` ${x.score.toFixed(1)}`),
      el("td", {}, movement(x)), el("td", {}, pct(x.closure_rate)), el("td", {}, pct(x.on_time_closure_rate))));
  }
}

async function publishRanking(ev) {
  ev.preventDefault();
  const period = currentPeriod();
  const title = document.getElementById("period-title").textContent || period;
  const error = document.getElementById("pub-error");
  error.textContent = "";
  if (!window.confirm(t("eval.pub.confirm", { title }))) return;
  const button = document.getElementById("pub-submit");
  button.disabled = true;
  try {
    const body = { period, note: document.getElementById("pub-note").value || null };
    if (state.area) body.area = state.area; // an installation-wide publisher names the district
    await post("/api/evaluation/publications", body);
    toast(t("eval.pub.done", { title }));
    document.getElementById("pub-note").value = "";
    await loadPublications(period);
  } catch (e) { error.textContent = errorText(e); } finally { button.disabled = false; }
}

// --- 台账: the responsible leaders' ledger figures, ranked, for the scoring window the period falls in ---------
const LEDGER_KIND = { day: "monthly", week: "monthly", month: "monthly", quarter: "quarterly", half: "half_year", year: "annual" };

async function loadLedgerLeaders() {
  const body = clear(document.getElementById("ledger-leaders-body"));
  const q = new URLSearchParams({ by: "leader", period_kind: LEDGER_KIND[document.getElementById("p-kind").value] || "monthly",
    day: document.getElementById("p-date").value || todayYmd() });
  let f;
  try { f = await get(`/api/ledger-figures?${q}`); } catch (e) {
    body.append(el("tr", {}, el("td", { colspan: 9 }, errorText(e))));
    return;
  }
  document.getElementById("ledger-leaders-period").textContent = `${f.title} · ${t("eval.previous", { label: f.previous_period })}`;
  if (!f.rows.length) body.append(el("tr", {}, el("td", { colspan: 9 }, t("common.empty"))));
  for (const x of f.rows) {
    body.append(el("tr", {}, el("td", {}, x.place), el("th", { scope: "row" }, x.name), el("td", {}, x.score.toFixed(1)),
      el("td", {}, movement({ rank: x.place, previous_rank: x.previous_place })), el("td", {}, pct(x.report_rate)),
      el("td", {}, pct(x.completion_rate)), el("td", {}, x.overdue), el("td", {}, x.stalled), el("td", {}, x.reopened)));
  }
}

// --- reports ---------------------------------------------------------------------------------------
async function loadReports() {
  const body = clear(document.getElementById("reports-body"));
  let list;
  try { list = await get("/api/reports"); } catch (e) { body.append(el("tr", {}, el("td", { colspan: 5 }, errorText(e)))); return; }
  if (!list.length) body.append(el("tr", {}, el("td", { colspan: 5 }, t("common.empty"))));
  for (const r of list) {
    body.append(el("tr", { "data-report": r.id },
      el("th", { scope: "row" }, r.title), el("td", {}, t(`eval.report.${r.kind}`)), el("td", {}, r.period),
      el("td", {}, `${fmtTime(r.generated_at)} · ${r.generated_by}`),
      el("td", { class: "downloads" }, ["html", "xlsx", "docx"].map((f) => el("a", { class: "btn small", href: r.downloads[f],
        download: f === "html" ? null : "", target: f === "html" ? "_blank" : null, rel: "noopener",
        "aria-label": `${r.title} .${f}` }, `.${f}`)))));
  }
}

// 事件责任人: each named person's tasks in the period, reported, on time, overdue (issue #20)
async function loadAssignees(period) {
  const body = clear(document.getElementById("assignees-body"));
  let out;
  try { out = await get(`/api/evaluation/people?${new URLSearchParams({ period })}`); }
  catch (e) { body.append(el("tr", {}, el("td", { colspan: 7 }, errorText(e)))); return; }
  const rows = out.people.filter((p) => p.assigned || p.figures)
    .sort((a, b) => ((b.assigned || {}).tasks || 0) - ((a.assigned || {}).tasks || 0));
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 9 }, t("common.empty"))));
  for (const p of rows) {
    const a = p.assigned || { tasks: 0, reported: 0, on_time: 0, overdue: 0, on_time_rate: null };
    const f = p.figures || {};
    // 结案率/按期结案率: the units' rules, the deciding lead task's person answering for the case
    body.append(el("tr", { "data-person": p.code }, el("th", { scope: "row" }, p.name || p.code), el("td", {}, p.unit || ""),
      el("td", {}, String(a.tasks)), el("td", {}, String(a.reported)), el("td", {}, String(a.on_time)),
      el("td", {}, String(a.overdue)), el("td", {}, pct(a.on_time_rate)),
      el("td", { class: "closure" }, pct(f.closure_rate)), el("td", { class: "on-time-closure" }, pct(f.on_time_closure_rate))));
  }
}

// 网格队伍与网格员履职 (issue #20): per grid team the standard rates of units beside its duty completion;
// per grid worker his duty list's completion
async function loadGridTeams(period) {
  const teams = clear(document.getElementById("grid-teams-body"));
  const people = clear(document.getElementById("grid-people-body"));
  const q = new URLSearchParams({ period, group_by: "unit", unit_kind: "grid_team" });
  if (state.area) q.set("area", state.area);
  try {
    const [fig, ppl] = await Promise.all([get(`/api/evaluation/figures?${q}`),
      get(`/api/evaluation/people?${new URLSearchParams({ period })}`)]);
    const groups = fig.groups.filter((g) => g.duties || g.dispatched || g.due);
    if (!groups.length) teams.append(el("tr", {}, el("td", { colspan: 6 }, t("common.empty"))));
    for (const g of groups) {
      const d = g.duties || {};
      teams.append(el("tr", { "data-unit": g.code }, el("th", { scope: "row" }, g.name), el("td", {}, pct(g.closure_rate)),
        el("td", {}, pct(g.on_time_closure_rate)), el("td", {}, String(d.due || 0)), el("td", {}, String(d.overdue || 0)),
        el("td", {}, pct(d.completion_rate))));
    }
    const rows = ppl.people.filter((p) => p.duties).sort((a, b) => (a.duties.completion_rate ?? 2) - (b.duties.completion_rate ?? 2));
    if (!rows.length) people.append(el("tr", {}, el("td", { colspan: 8 }, t("common.empty"))));
    for (const p of rows) {
      const d = p.duties;
      const f = p.figures || {};
      people.append(el("tr", { "data-person": p.code }, el("th", { scope: "row" }, p.name || p.code), el("td", {}, String(d.due)),
        el("td", {}, String(d.on_time)), el("td", {}, String(d.late)), el("td", {}, String(d.overdue)), el("td", {}, pct(d.completion_rate)),
        el("td", { class: "closure" }, pct(f.closure_rate)), el("td", { class: "on-time-closure" }, pct(f.on_time_closure_rate))));
    }
  } catch (e) { teams.append(el("tr", {}, el("td", { colspan: 6 }, errorText(e)))); }
}

// 好差评 (issue #24): 好评率, 差评整改率 and on-time rectification per window, department, town or clerk in the
// period, ranked by the active scheme's rating items when it has them
let svcRatesSeq = 0; // a period or grouping changed twice quickly: only the last answer is drawn
async function loadServiceRates(period) {
  const seq = ++svcRatesSeq;
  const by = document.getElementById("svc-rates-by").value;
  let rows;
  let failed = null;
  try { rows = await get(`/api/services/rates?${new URLSearchParams({ by, period })}`); } catch (e) { failed = e; }
  if (seq !== svcRatesSeq) return;
  const body = clear(document.getElementById("svc-rates-body"));
  document.getElementById("svc-rates-name").textContent = t(`eval.svc.by.${by}`);
  if (failed) { body.append(el("tr", {}, el("td", { colspan: 9 }, errorText(failed)))); return; }
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 9 }, t("common.empty"))));
  rows.forEach((r, i) => body.append(el("tr", { "data-key": r.key, "data-by": by },
    el("td", {}, String(i + 1)), el("th", { scope: "row" }, r.name), el("td", {}, String(r.ratings)),
    el("td", {}, String(r.good)), el("td", {}, String(r.bad)), el("td", { "data-rate": "good" }, pct(r.good_rate)),
    el("td", { "data-rate": "rectification" }, pct(r.rectification_rate)), el("td", { "data-rate": "on_time" }, pct(r.on_time_rate)),
    el("td", {}, r.score === null ? t("common.none") : r.score.toFixed(1)))));
  Object.assign(document.getElementById("svc-rates").dataset, { loaded: by, period });
}

async function refresh() {
  const period = currentPeriod();
  const q = new URLSearchParams(location.search);
  q.set("period", period);
  history.replaceState(null, "", `/evaluation?${q}`);
  await Promise.all([loadMap(period).catch((e) => toast(errorText(e), "error")), loadRankings(period),
    loadDutyFigures(period, state.area), loadAssignees(period), loadGridTeams(period), loadLedgerLeaders(), loadServiceRates(period)]);
  await loadPublications(period); // after the map: it names the period in Chinese
}

function setBy(by) {
  state.by = by;
  document.getElementById("by-unit").setAttribute("aria-pressed", String(by === "unit"));
  document.getElementById("by-area").setAttribute("aria-pressed", String(by === "area"));
  loadRankings(currentPeriod());
}

(async () => {
  const who = await shell();
  // a district-wide person (administrator, auditor) sees the district's towns, not the city's districts
  if (!who.scopeCodes) {
    const districts = await get("/api/areas?level=district").catch(() => []);
    if (districts.length) state.area = districts[0].code;
  }
  const params = new URLSearchParams(location.search);
  document.getElementById("p-date").value = todayYmd();
  const p = params.get("period");
  if (p) {
    const kind = /^\d{4}-\d{2}-\d{2}$/.test(p) ? "day" : /W/.test(p) ? "week" : /Q/.test(p) ? "quarter" : /H/.test(p) ? "half" : /^\d{4}-\d{2}$/.test(p) ? "month" : "year";
    document.getElementById("p-kind").value = kind;
  }
  document.getElementById("period-form").addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
  document.getElementById("p-kind").addEventListener("change", () => refresh());
  document.getElementById("by-unit").addEventListener("click", () => setBy("unit"));
  document.getElementById("by-area").addEventListener("click", () => setBy("area"));
  document.getElementById("unit-kind").addEventListener("change", () => loadRankings(currentPeriod()));
  document.getElementById("svc-rates-by").addEventListener("change", () => loadServiceRates(currentPeriod()));
  document.getElementById("pub-form").addEventListener("submit", publishRanking);
  document.getElementById("report-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = document.getElementById("report-error");
    const button = document.getElementById("generate");
    error.textContent = "";
    button.disabled = true;
    try {
      const body = { kind: document.getElementById("r-kind").value };
      const day = document.getElementById("r-date").value;
      if (day) body.date = day;
      if (state.area) body.area = state.area;
      await post("/api/reports", body);
      toast(t("eval.generated"));
      await loadReports();
    } catch (e) { error.textContent = errorText(e); } finally { button.disabled = false; }
  });
  await Promise.all([refresh(), loadReports(), loadAccuracy()]);
  window.addEventListener("resize", () => state.chart && state.chart.resize());
  document.body.dataset.ready = "1";
})();
