// Shared browser code: messages, the API wrapper, who is acting, safe DOM building, time formats.
//
// Rule of the house: text that came from the API (titles, descriptions, names, reasons) is only ever
// put into the page as text nodes (el(), textContent), never as HTML.

const MESSAGES = JSON.parse(document.getElementById("messages").textContent);

export function t(key, vars) {
  let s = MESSAGES[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

// --- who is acting ----------------------------------------------------------------------------
// Sign-in sets the HttpOnly session cookie (the browser sends it; scripts never see it) and gives
// a CSRF token, which every request that changes something echoes in X-CSRF-Token. authHeaders()
// is the one place that knows how a request names its person.
const CSRF_KEY = "shuzhi.csrf";

export const session = {
  csrf: () => sessionStorage.getItem(CSRF_KEY),
  setCsrf(token) { if (token) sessionStorage.setItem(CSRF_KEY, token); },
  clear() { sessionStorage.removeItem(CSRF_KEY); },
};

export function authHeaders(method) {
  const csrf = session.csrf();
  return csrf && method !== "GET" ? { "X-CSRF-Token": csrf } : {};
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// priority: the Fetch priority hint ("high" | "low" | "auto"): a page can ask early for something big it
// draws last without its bytes going ahead of the first screen's (Chromium honours it)
export async function api(method, path, body, { form, signal, priority } = {}) {
  const headers = { Accept: "application/json", ...authHeaders(method) };
  const init = { method, headers, credentials: "same-origin", signal };
  if (priority) init.priority = priority;
  if (form) init.body = form;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const r = await fetch(path, init);
  const type = r.headers.get("content-type") || "";
  const data = type.includes("application/json") ? await r.json() : null;
  if (!r.ok) {
    if (r.status === 401 && !location.pathname.startsWith("/login")) goLogin();
    throw new ApiError(r.status, data);
  }
  return data;
}

export const get = (path, options) => api("GET", path, undefined, options);
export const post = (path, body) => api("POST", path, body ?? {});

export function goLogin() {
  location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

// --- the current person --------------------------------------------------------------------------
let mePromise = null;

export function me() {
  if (!mePromise) mePromise = loadMe();
  return mePromise;
}

async function loadMe() {
  const m = await get("/api/auth/me");
  // a new tab has no token in its sessionStorage yet: the session's own token comes with /me
  session.setCsrf(m.csrf_token);
  if (m.must_change_password) { goLogin(); return new Promise(() => {}); }
  return normaliseMe(m);
}

function normaliseMe(m) {
  const person = m.person || {};
  const scope = m.scope || { all_areas: true, areas: [] };
  return {
    code: m.code, name: m.name, role: m.role, unitName: m.unit_name || person.unit_name || "",
    unitCode: m.unit_code || person.unit_code || "",
    scope: scope.all_areas ? null : scope.areas.map((a) => a.name || a.code),
    scopeCodes: scope.all_areas ? null : scope.areas.map((a) => a.code),
    permissions: new Set(m.permissions || []),
  };
}

export const can = (who, permission) => who.permissions.has(permission);

// --- DOM ---------------------------------------------------------------------------------------
// el("a", {href, class}, "text", child) — strings become text nodes; attributes via setAttribute.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node) { node.replaceChildren(); return node; }

export function empty(text) {
  return el("div", { class: "empty", role: "status" }, el("strong", {}, text || t("common.empty")));
}

let toastTimer = null;
export function toast(text, kind = "ok") {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.className = "toast"; }, 4000);
}

// Every API error a page shows: Chinese text from the message catalogue, naming the field.
// The API answers 4xx with {detail, field} (a service's rule) or, for a body that does not parse,
// {detail, field, errors: [{field, message, type}]} (pydantic's error type is the code); the English
// detail is for logs and API clients, never shown as it is.
const DETAIL_CODES = [
  [/changed by someone else|version \d+, you had|reload and retry/i, "stale"],
  [/^cannot [\w ]+: the (event|task) is/i, "state"],
  [/unknown( or inactive)? unit|is not an active centre/i, "unknown_unit"],
  [/is inactive/i, "inactive"],
  [/neither sits in nor covers|not in .*area/i, "out_of_area"],
  [/already has an open task/i, "duplicate_task"],
  [/named twice/i, "duplicate"],
  [/no lead unit/i, "no_lead"],
  [/must be in the future/i, "future"],
  [/may only bring a deadline forward/i, "urge_later"],
  [/has no open task/i, "no_open_task"],
  [/copy lists have no units/i, "empty_copy_list"],
  [/time zone/i, "timezone"],
  [/no upper centre|neither owns this event/i, "no_escalation"],
  [/ranking of [\w-]+ is already published/i, "published_already"],
  [/is published by the district centre|name a district|name the district/i, "district_publishes"],
  [/has not begun: nothing to rank/i, "period_not_begun"],
];

// The one reading of a refusal's body: [{field, type, message}] — pydantic's list, or the service's one
// problem (detail and field). Every page reads errors through this.
export function apiProblems(e) {
  const b = (e && e.body) || {};
  if (Array.isArray(b.errors) && b.errors.length) {
    return b.errors.map((x) => ({ field: x.field || null, type: x.type ? String(x.type) : null,
      message: String(x.message || b.detail || "") }));
  }
  return [{ field: b.field || null, type: null, message: String(b.detail || (e && e.message) || "") }];
}

// The first of `rules` ([pattern, key, (match) => variables]) whose pattern the message matches: [key, vars].
export function matchRule(message, rules) {
  for (const [re, key, vars] of rules) {
    const m = re.exec(message || "");
    if (m) return [key, vars ? vars(m) : undefined];
  }
  return null;
}

// A problem's code: its pydantic type, else the rule its English detail matches (error.<code> in the catalogue).
export function problemCode(p) {
  if (p.type) return p.type;
  const found = matchRule(p.message, DETAIL_CODES);
  return found ? found[0] : null;
}

export function errorCode(e) {
  if (!(e instanceof ApiError)) return null;
  return problemCode(apiProblems(e)[0]) || `status_${e.status}`;
}

// "units[1].unit_code" → 承办单位编码（第 2 项）: the longest path with a catalogue label wins.
export function fieldLabel(field) {
  if (!field) return "";
  const index = /\[(\d+)\]/.exec(field);
  const parts = field.replace(/\[\d+\]/g, "").split(".").filter(Boolean);
  let label = null;
  for (let i = 0; i < parts.length && !label; i++) {
    const key = `field.${parts.slice(i).join(".")}`;
    if (MESSAGES[key]) label = MESSAGES[key];
  }
  if (!label) label = MESSAGES[`field.${parts[0]}`] || field;
  return index ? t("error.field_item", { field: label, n: Number(index[1]) + 1 }) : label;
}

const HIDDEN_FIELDS = new Set(["actor", "expected_version"]);

export function apiErrorText(e) {
  if (!(e instanceof ApiError)) {
    if (e instanceof TypeError) return t("common.network_error");
    return String(e && e.message ? e.message : e);
  }
  const code = errorCode(e);
  const { field } = apiProblems(e)[0];
  const text = MESSAGES[`error.${code}`] || MESSAGES[`error.status_${e.status}`] || t("error.status_other");
  // who is acting and the version the page read are not fields the person filled in
  return field && !HIDDEN_FIELDS.has(field) ? t("error.with_field", { field: fieldLabel(field), text }) : text;
}

// A problem code (pydantic's error type, an import row's code) in Chinese, or the fallback as given.
export const codeText = (code, fallback) => (code && MESSAGES[`error.${code}`]) || fallback;

// Kept for the pages that already call it: the same Chinese text.
export const errorText = apiErrorText;

// --- time (stored UTC, shown in Asia/Shanghai) ---------------------------------------------------
const TZ = "Asia/Shanghai";
const fmtFull = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hour12: false });
const fmtShort = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, month: "2-digit", day: "2-digit", hour: "2-digit",
  minute: "2-digit", second: "2-digit", hour12: false });
const fmtClock = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
  weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

export const fmtTime = (iso) => (iso ? fmtFull.format(new Date(iso)) : t("common.none"));
export const fmtShortTime = (iso) => (iso ? fmtShort.format(new Date(iso)) : t("common.none"));

export function duration(ms) {
  const m = Math.max(0, Math.round(Math.abs(ms) / 60000));
  if (m >= 1440) return t("time.days", { n: Math.floor(m / 1440) }) + (m % 1440 >= 60 ? t("time.hours", { n: Math.floor((m % 1440) / 60) }) : "");
  if (m >= 60) return t("time.hours", { n: Math.floor(m / 60) }) + (m % 60 ? t("time.minutes", { n: m % 60 }) : "");
  return t("time.minutes", { n: m });
}

// The clock of a deadline: remaining time, or how long overdue (with a class for colour).
export function clockOf(dueIso) {
  if (!dueIso) return el("span", { class: "muted" }, t("common.none"));
  const left = new Date(dueIso).getTime() - Date.now();
  return el("span", { class: left < 0 ? "clock-overdue" : left < 4 * 3600e3 ? "clock-soon" : "clock-ok",
    title: fmtTime(dueIso) }, `${fmtTime(dueIso)}（${left < 0 ? t("event.overdue_by", { t: duration(left) }) : t("event.remaining", { t: duration(left) })}）`);
}

// Shanghai midnight of a yyyy-mm-dd date, as the ISO string the API expects.
export const localDayIso = (ymd) => `${ymd}T00:00:00+08:00`;
export function todayYmd() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
  return parts;
}

export const stateLabel = (s) => t(`state.${s}`);
// a timeline action by its full code (event.cancel 作废 and task.cancel 撤销 differ): shuzhi.domain.labels
export const actionLabel = (a) => t(`action.${a}`);

export function badge(text, cls) { return el("span", { class: `badge ${cls || ""}` }, text); }

// ECharts (1 MB to parse) is loaded on first use, so a page can send its API requests before the
// browser spends its time on it; charts wait for it, data fetching does not.
let echartsPromise = null;
export function echartsReady() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!echartsPromise) {
    echartsPromise = new Promise((ok, fail) => {
      const tag = document.createElement("script");
      tag.src = "/static/vendor/echarts.min.js";
      tag.addEventListener("load", () => ok(window.echarts));
      tag.addEventListener("error", fail);
      document.head.append(tag);
    });
  }
  return echartsPromise;
}

// --- the header ----------------------------------------------------------------------------------
export async function shell() {
  const clock = document.getElementById("clock");
  const tick = () => { clock.textContent = fmtClock.format(new Date()); };
  tick();
  setInterval(tick, 1000);
  document.getElementById("signout").addEventListener("click", async () => {
    try { await api("POST", "/api/auth/logout", {}); } catch { /* no sign-in on this server */ }
    session.clear();
    goLogin();
  });
  const who = await me();
  document.getElementById("who-name").textContent = `${who.name}（${t(`role.${who.role}`)}）`;
  document.getElementById("who-unit").textContent = who.unitName;
  document.getElementById("who-scope").textContent =
    `${t("header.scope")}：${who.scope ? who.scope.join("、") : t("header.scope_all")}`;
  import("./notices.js").then((m) => m.watchNotices());  // urgent notices as browser notifications
  watchDeskCounts();
  return who;
}

// --- the header's desk counts: unread (copies + messages) and waiting (tasks to sign for + work from
// below), polled and refreshed after every action (a page fires "shuzhi:desk-changed"), never a reload.
export async function refreshDeskCounts() {
  const box = document.getElementById("desk-counts");
  if (!box) return;
  try {
    const c = await get("/api/desk/counts");
    const unread = c.unread_copies + c.unread_messages;
    const waiting = c.tasks_waiting + c.from_below;
    document.getElementById("count-unread").textContent = String(unread);
    document.getElementById("count-waiting").textContent = String(waiting);
    box.title = t("header.counts_title", { copies: c.unread_copies, messages: c.unread_messages,
      tasks: c.tasks_waiting, below: c.from_below });
    box.classList.toggle("has-unread", unread + waiting > 0);
    box.hidden = false;
  } catch { /* the counts wait for the next poll */ }
}

function watchDeskCounts() {
  refreshDeskCounts();
  setInterval(refreshDeskCounts, window.__shuzhiCountsPollMs || 30000);
  document.addEventListener("shuzhi:desk-changed", refreshDeskCounts);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshDeskCounts(); });
}

export const deskChanged = () => document.dispatchEvent(new Event("shuzhi:desk-changed"));
