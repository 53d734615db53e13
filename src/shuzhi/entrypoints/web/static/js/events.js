// The event list: filters in the URL (so every cockpit figure can link here), saved views, cursor paging.
import { badge, clear, el, errorText, fmtTime, get, localDayIso, shell, stateLabel, t, toast } from "./core.js";
import { installRegister } from "./register.js";

const STATES = ["registered", "notifying", "dispatched", "handling", "reported_back", "verified", "closed",
  "called_back", "merged", "cancelled"];
const SOURCES = ["hotline", "citizen_platform", "grid_patrol", "sensor_warning", "online_app", "legacy_system",
  "duty_officer", "upper_centre"];
const VIEWS_KEY = "shuzhi.eventViews";
const form = document.getElementById("filter-form");
let cursor = null;

function option(value, text) { return el("option", { value }, text); }

async function fillSelects() {
  const stateSel = document.getElementById("f-state");
  STATES.forEach((s) => stateSel.append(option(s, stateLabel(s))));
  const sourceSel = document.getElementById("f-source");
  SOURCES.forEach((s) => sourceSel.append(option(s, t(`source.${s}`))));
  const [classes, towns] = await Promise.all([get("/api/event-classes"), get("/api/areas?level=town")]);
  const majors = new Map();
  for (const c of classes) majors.set(c.major_code, c.major_name);
  const majorSel = document.getElementById("f-major");
  [...majors.entries()].sort().forEach(([code, name]) => majorSel.append(option(code, name)));
  const areaSel = document.getElementById("f-area");
  towns.forEach((a) => areaSel.append(option(a.code, a.name)));
}

function addDay(ymd) {
  const d = new Date(new Date(localDayIso(ymd)).getTime() + 86400e3);
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(d);
}

// The page's own query (dates as yyyy-mm-dd) → the API's query (times with the +08:00 zone).
function apiQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of params) {
    if (!v) continue;
    if (k === "from") q.append("received_from", localDayIso(v));
    else if (k === "to") q.append("received_to", localDayIso(addDay(v)));
    else if (k === "dispatched_from" || k === "closed_from") q.append(k, localDayIso(v));
    else if (k === "closed_to") q.append(k, localDayIso(v));
    else if (k === "overdue") q.append("overdue", "true");
    else q.append(k, v);
  }
  return q;
}

function readUrlIntoForm(params) {
  form.reset();
  const states = params.getAll("state");
  document.getElementById("f-state").value = states.length === 1 ? states[0] : "";
  document.getElementById("f-major").value = params.get("major_class") || "";
  document.getElementById("f-source").value = params.get("source") || "";
  document.getElementById("f-area").value = params.get("area_code") || "";
  document.getElementById("f-from").value = params.get("from") || "";
  document.getElementById("f-to").value = params.get("to") || "";
  document.getElementById("f-q").value = params.get("q") || "";
  document.getElementById("f-overdue").checked = params.get("overdue") === "1";
  const described = [];
  for (const [k, v] of params) described.push(`${k}=${k === "state" ? stateLabel(v) : v}`);
  document.getElementById("active-filters").textContent = described.length ? described.join("；") : "";
}

function formParams() {
  const params = new URLSearchParams();
  const current = new URLSearchParams(location.search);
  const fd = new FormData(form);
  const state = fd.get("state");
  if (state) params.set("state", state);
  else if (current.getAll("state").length > 1) current.getAll("state").forEach((s) => params.append("state", s));
  for (const k of ["major_class", "source", "area_code", "from", "to", "q"]) if (fd.get(k)) params.set(k, fd.get(k));
  for (const k of ["dispatched_from", "closed_from", "closed_to"]) if (current.get(k)) params.set(k, current.get(k));
  if (fd.get("overdue")) params.set("overdue", "1");
  return params;
}

function row(e) {
  return el("tr", {},
    el("td", {}, el("a", { href: `/events/${encodeURIComponent(e.number)}` }, e.number)),
    el("td", { class: "title-cell" }, e.title),
    el("td", {}, e.event_class_name || t("common.none")),
    el("td", {}, e.area_name || t("common.none")),
    el("td", {}, t(`source.${e.source}`)),
    el("td", {}, badge(t(`urgency.${e.urgency}`), `urgency-${e.urgency}`)),
    el("td", {}, badge(stateLabel(e.state), `state-${e.state}`)),
    el("td", {}, fmtTime(e.received_at)));
}

async function load(append) {
  const params = new URLSearchParams(location.search);
  const q = apiQuery(params);
  q.set("limit", "50");
  if (append && cursor) q.set("cursor", cursor);
  else q.set("with_total", "true");
  const body = document.getElementById("events-body");
  try {
    const page = await get(`/api/events?${q}`);
    if (!append) clear(body);
    page.items.forEach((e) => body.append(row(e)));
    if (!append) {
      document.getElementById("total").textContent = t("common.total", { n: page.total ?? page.items.length });
      if (!page.items.length) body.append(el("tr", {}, el("td", { colspan: 8 }, t("events.no_results"))));
    }
    cursor = page.next_cursor;
    document.getElementById("more").hidden = !cursor;
  } catch (e) {
    toast(errorText(e), "error");
  }
}

// --- saved views (in this browser) ---------------------------------------------------------------
const views = () => JSON.parse(localStorage.getItem(VIEWS_KEY) || "[]");

function renderViews() {
  const box = clear(document.getElementById("views"));
  for (const v of views()) {
    box.append(el("span", { class: "view-chip" },
      el("a", { href: `/events?${v.query}` }, v.name),
      el("button", { type: "button", class: "btn-link", "aria-label": `${t("events.delete_view")} ${v.name}`,
        onclick: () => { localStorage.setItem(VIEWS_KEY, JSON.stringify(views().filter((x) => x.name !== v.name))); renderViews(); } }, "×")));
  }
}

document.getElementById("save-view").addEventListener("click", () => {
  const name = (prompt(t("events.view_name")) || "").trim();
  if (!name) return;
  const list = views().filter((v) => v.name !== name);
  list.push({ name, query: location.search.replace(/^\?/, "") });
  localStorage.setItem(VIEWS_KEY, JSON.stringify(list));
  renderViews();
  toast(t("common.saved"));
});

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  history.pushState(null, "", `/events?${formParams()}`);
  readUrlIntoForm(new URLSearchParams(location.search));
  load(false);
});
document.getElementById("f-reset").addEventListener("click", () => {
  history.pushState(null, "", "/events");
  readUrlIntoForm(new URLSearchParams());
  load(false);
});
document.getElementById("more").addEventListener("click", () => load(true));
window.addEventListener("popstate", () => { readUrlIntoForm(new URLSearchParams(location.search)); load(false); });

(async () => {
  await shell();
  await fillSelects();
  readUrlIntoForm(new URLSearchParams(location.search));
  renderViews();
  await load(false);
  await installRegister(() => load(false));
  document.body.dataset.ready = "1";
})();
