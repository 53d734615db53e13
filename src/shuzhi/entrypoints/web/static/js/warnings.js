// The warnings page: the list in the viewer's scope (filters in the URL, so the cockpit's "active
// warnings" links here), acknowledging for those allowed, and the silences (list, create, expire).
// Indicator names, areas, series and comments come from the API and are put in as text only.
import { api, badge, can, clear, el, empty, errorText, fmtTime, get, post, shell, t, toast } from "./core.js";
import { actionForm, localInputToIso } from "./forms.js";
import { openStream } from "./live.js";

const PAGE = 50;
const form = document.getElementById("w-filter");
const body = document.getElementById("warnings-body");
let who = null;
let offset = 0;

export const levelBadge = (level) => badge(level ? t(`level.${level}`) : t("level.none"), `level-badge level-${level || "none"}`);

function readUrl() {
  const q = new URLSearchParams(location.search);
  document.getElementById("w-state").value = q.get("state") || "open";
  document.getElementById("w-level").value = q.get("level") || "";
  document.getElementById("w-indicator").value = q.get("indicator") || "";
  document.getElementById("w-area").value = q.get("area") || "";
}

function query() {
  const fd = new FormData(form);
  const q = new URLSearchParams();
  for (const k of ["state", "level", "indicator", "area"]) {
    const v = String(fd.get(k) || "").trim();
    if (v) q.set(k, v);
  }
  return q;
}

function ackCell(w) {
  if (w.acknowledged_at) {
    return el("td", {}, el("span", { class: "acked" }, t("warnings.acked", { who: w.acknowledged_by, at: fmtTime(w.acknowledged_at) })),
      w.ack_note ? el("div", { class: "muted small" }, w.ack_note) : null);
  }
  if (!can(who, "warning.ack") || w.state === "cleared") return el("td", { class: "muted" }, t("warnings.not_acked"));
  const label = `${t("warnings.ack_action")}：${w.indicator_name || w.indicator_code} ${w.series_key}`;
  const f = actionForm(t("warnings.ack_action"), [{ name: "comment", label: t("warnings.ack_comment"), type: "textarea" }],
    async (fm) => {
      const comment = fm.comment.value.trim();
      await post(`/api/warnings/${w.id}/ack`, comment ? { comment } : {});
      toast(t("warnings.acked_toast"));
      await reload();
    }, { cls: "small" });
  f.querySelector("summary").setAttribute("aria-label", label);
  return el("td", {}, f);
}

function row(w) {
  return el("tr", { "data-warning": w.id, class: `level-row level-${w.level || "none"}` },
    el("td", {}, levelBadge(w.level), w.suppressed ? badge(t("warnings.suppressed"), "muted") : null),
    el("td", { class: "nowrap" }, t(`warnings.state.${w.state}`)),
    el("td", {}, el("a", { href: `/indicators?code=${encodeURIComponent(w.indicator_code)}&series=${encodeURIComponent(w.series_key)}` },
      w.indicator_name || w.indicator_code), el("div", { class: "muted small" }, w.indicator_code)),
    el("td", {}, w.device_code || w.series_key),
    el("td", {}, w.area_name || w.area_code),
    el("td", {}, fmtTime(w.started_at)),
    el("td", { class: "num" }, w.last_value ?? t("common.none")),
    el("td", {}, w.event_number ? el("a", { href: `/events/${encodeURIComponent(w.event_number)}` }, w.event_number) : t("common.none")),
    ackCell(w));
}

async function load(append) {
  const q = query();
  q.set("limit", PAGE);
  q.set("offset", offset);
  const data = await get(`/api/warnings?${q}`);
  if (!append) clear(body);
  for (const w of data.items) body.append(row(w));
  if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 9 }, empty())));
  document.getElementById("w-total").textContent = t("common.total", { n: data.total });
  const more = document.getElementById("w-more");
  more.hidden = offset + data.items.length >= data.total;
  return data;
}

async function reload() {
  offset = 0;
  setStale(false);
  await load(false);
  document.body.dataset.loaded = String(Date.now());
}

// A live change must not throw away an acknowledgement someone is writing: while an ack form in the
// list is open, the refresh waits (a notice says the list has changed, with a button to refresh now)
// and runs when the form closes.
let stale = false;
function setStale(on) {
  stale = on;
  document.getElementById("w-stale").hidden = !on;
}
const editing = () => body.querySelector("details[open]") !== null;
function refreshWhenFree() {
  if (editing()) setStale(true);
  else reload().catch(() => {});
}
// "toggle" does not bubble: listen while it travels down to the form
body.addEventListener("toggle", () => { if (stale && !editing()) reload().catch(() => {}); }, true);

// --- silences ------------------------------------------------------------------------------------
function matcherText(m) {
  const parts = [];
  if (m.indicators && m.indicators.length) parts.push(`${t("warnings.indicator")}：${m.indicators.join("、")}`);
  if (m.series && m.series.length) parts.push(`${t("warnings.series")}：${m.series.join("、")}`);
  if (m.area) parts.push(`${t("warnings.area")}：${m.area}`);
  if (m.levels && m.levels.length) parts.push(`${t("warnings.level")}：${m.levels.map((l) => t(`level.${l}`)).join("、")}`);
  return parts.join("；");
}

function silenceState(s) {
  const now = Date.now();
  if (new Date(s.ends_at).getTime() <= now) return t("silences.ended");
  if (new Date(s.starts_at).getTime() > now) return t("silences.scheduled");
  return t("silences.active");
}

async function loadSilences() {
  const current = document.getElementById("s-current").checked;
  const rows = await get(`/api/warning-silences?current=${current}`);
  const tbody = clear(document.getElementById("silences-body"));
  for (const s of rows) {
    const ended = new Date(s.ends_at).getTime() <= Date.now();
    tbody.append(el("tr", { "data-silence": s.id },
      el("td", {}, matcherText(s.matcher)),
      el("td", {}, `${fmtTime(s.starts_at)} — ${fmtTime(s.ends_at)}`),
      el("td", {}, s.comment),
      el("td", {}, s.created_by),
      el("td", {}, silenceState(s)),
      el("td", {}, !ended && can(who, "indicator.write") && s.editable !== false ? el("button", { type: "button", class: "btn small warn",
        "aria-label": `${t("silences.expire")}：${s.comment}`,
        onclick: async (ev) => {
          ev.target.disabled = true;
          try { await api("DELETE", `/api/warning-silences/${s.id}`); toast(t("silences.expired_toast")); await loadSilences(); } catch (e) { toast(errorText(e), "error"); ev.target.disabled = false; }
        } }, t("silences.expire")) : null)));
  }
  if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: 6 }, empty())));
}

const splitCodes = (v) => String(v || "").split(/[,，、\s]+/).map((x) => x.trim()).filter(Boolean);

function silenceForm(towns) {
  const f = actionForm(t("silences.create"), [
    { name: "indicators", label: t("silences.indicators"), list: "w-indicators" },
    { name: "series", label: t("silences.series_keys") },
    { name: "starts", label: t("silences.starts"), type: "datetime" },
    { name: "ends", label: t("silences.ends"), type: "datetime", required: true },
    { name: "comment", label: t("silences.comment"), type: "textarea", required: true }],
  async (fm) => {
    const matcher = {};
    const indicators = splitCodes(fm.indicators.value);
    const series = splitCodes(fm.series.value);
    if (indicators.length) matcher.indicators = indicators;
    if (series.length) matcher.series = series;
    if (fm.area.value) matcher.area = fm.area.value;
    const levels = [...fm.querySelectorAll("input[name=levels]:checked")].map((c) => c.value);
    if (levels.length) matcher.levels = levels;
    if (!matcher.indicators && !matcher.series && !matcher.area) throw new Error(t("silences.need_target"));
    if (!fm.ends.value) throw new Error(t("silences.need_end"));
    const doc = { matcher, ends_at: localInputToIso(fm.ends.value), comment: fm.comment.value.trim() };
    if (fm.starts.value) doc.starts_at = localInputToIso(fm.starts.value);
    await post("/api/warning-silences", doc);
    toast(t("silences.created_toast"));
    fm.reset();
    await loadSilences();
  }, { cls: "ghost" });
  // the area and the levels: a select and checkboxes, added to the shared form before its error line
  const fm = f.querySelector("form");
  const areaSel = el("select", { id: "s-area", name: "area" }, el("option", { value: "" }, t("warnings.any")),
    towns.map((a) => el("option", { value: a.code }, a.name)));
  const levels = el("fieldset", { class: "levels" }, el("legend", {}, t("silences.levels")),
    ["blue", "yellow", "orange", "red"].map((l) => el("label", { class: "check" },
      el("input", { type: "checkbox", name: "levels", value: l }), ` ${t(`level.${l}`)}`)));
  fm.insertBefore(levels, fm.querySelector(".error"));
  fm.insertBefore(areaSel, levels);
  fm.insertBefore(el("label", { for: "s-area" }, t("silences.area")), areaSel);
  return f;
}

// --- start ---------------------------------------------------------------------------------------
async function main() {
  who = await shell();
  const [towns, tree] = await Promise.all([get("/api/areas?level=town"), get("/api/indicators/tree").catch(() => [])]);
  const areaSel = document.getElementById("w-area");
  towns.forEach((a) => areaSel.append(el("option", { value: a.code }, a.name)));
  const list = document.getElementById("w-indicators");
  const walk = (nodes) => nodes.forEach((n) => (n.kind === "indicator" ? list.append(el("option", { value: n.code }, n.name)) : walk(n.children || [])));
  walk(tree);
  readUrl();
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    history.replaceState(null, "", `/warnings?${query()}`);
    reload().catch((e) => toast(errorText(e), "error"));
  });
  document.getElementById("w-reset").addEventListener("click", () => {
    history.replaceState(null, "", "/warnings");
    readUrl();
    reload().catch((e) => toast(errorText(e), "error"));
  });
  document.getElementById("w-more").addEventListener("click", () => { offset += PAGE; load(true).catch((e) => toast(errorText(e), "error")); });
  document.getElementById("s-current").addEventListener("change", () => loadSilences().catch((e) => toast(errorText(e), "error")));
  if (can(who, "indicator.write")) document.getElementById("silence-create").append(silenceForm(towns));
  await Promise.all([reload(), loadSilences()]);
  document.body.dataset.ready = "1";
  // a warning that fires, changes level or ends anywhere in scope refreshes the list (debounced), unless
  // an acknowledgement is being written
  let timer = null;
  openStream(null, () => {}, () => {}, () => { clearTimeout(timer); timer = setTimeout(refreshWhenFree, 300); });
  document.getElementById("w-refresh").addEventListener("click", () => reload().catch((e) => toast(errorText(e), "error")));
}

main().catch((e) => toast(errorText(e), "error"));
