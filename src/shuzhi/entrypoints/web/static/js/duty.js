// The duty page (值班管理): the roster of a centre by week (add, edit, delete a shift; import the centre's
// Excel), who is on duty now, the duty log and the daily report, the shift handover with the open
// items, and on-post checks. Text from the API goes in as text; errors are shown in Chinese at the field.
import { ApiError, api, badge, can, clear, el, empty, fmtTime, get, me, post, shell, t, toast, todayYmd } from "./core.js";

const enc = encodeURIComponent;
const TZ = "Asia/Shanghai";
const S = { who: null, unit: null, centres: [], people: [], weekStart: null, shifts: [] };
const $ = (id) => document.getElementById(id);

// --- time: yyyy-mm-dd days and datetime-local inputs are Shanghai wall time ----------------------------
const ymdPlus = (ymd, days) => {
  const d = new Date(`${ymd}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
};
const mondayOf = (ymd) => ymdPlus(ymd, -((new Date(`${ymd}T00:00:00Z`).getUTCDay() + 6) % 7));
const dayIso = (ymd) => `${ymd}T00:00:00+08:00`;
const inputToIso = (v) => (v ? `${v}:00+08:00` : null);
const localParts = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hour12: false });
function isoToInput(iso) {
  const p = Object.fromEntries(localParts.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour === "24" ? "00" : p.hour}:${p.minute}`;
}
const localYmd = (iso) => isoToInput(iso).slice(0, 10);

// --- errors: in Chinese, at the field the API names ---------------------------------------------------
const CJK = /[\u4e00-\u9fff]/;
export function zhMessage(e) {
  if (!(e instanceof ApiError)) return t("duty.err.network");
  if (e.status === 403) return t("duty.err.forbidden");
  if (e.status === 404) return t("duty.err.not_found");
  const msg = String(e.message || "");
  const inParens = msg.match(/[（(]([^()（）]*[\u4e00-\u9fff][^()（）]*)[)）]\s*$/);
  if (inParens) return inParens[1];
  if (CJK.test(msg)) return msg;
  const field = e.body && e.body.field;
  const key = `duty.err.${field}`;
  if (field && t(key) !== key) return t(key);
  if (e.status === 409) return t("duty.err.conflict");
  return t("duty.err.invalid");
}

function clearErrors(form) {
  for (const n of form.querySelectorAll("[data-error]")) n.textContent = "";
  for (const n of form.querySelectorAll("[aria-invalid]")) n.removeAttribute("aria-invalid");
}

// the roster's rules name the person and role as such; the form's fields are person_code and role
const FIELD_ALIASES = { person: "person_code" };

function showError(form, e) {
  const raw = e instanceof ApiError && e.body ? e.body.field : null;
  const field = FIELD_ALIASES[raw] || raw;
  const slot = (field && form.querySelector(`[data-error="${field}"]`)) || form.querySelector('[data-error="_"]');
  const text = zhMessage(e);
  if (slot) slot.textContent = text; else toast(text, "error");
  const input = field && form.elements[field];
  if (input && input.setAttribute) { input.setAttribute("aria-invalid", "true"); input.focus(); }
}

async function submitting(form, fn) {
  clearErrors(form);
  const buttons = form.querySelectorAll("button[type=submit]");
  buttons.forEach((b) => { b.disabled = true; });
  try { await fn(); } catch (e) { showError(form, e); } finally { buttons.forEach((b) => { b.disabled = false; }); }
}

// --- centre and who is on duty -----------------------------------------------------------------------
async function loadCentres() {
  const all = await get("/api/units?kind=centre");
  const scope = S.who.scopeCodes;
  S.centres = all.filter((u) => !scope || scope.some((c) => String(u.area_code || "").startsWith(c)));
  const select = clear($("d-unit"));
  for (const u of S.centres) select.append(el("option", { value: u.code }, u.name));
  const wanted = new URLSearchParams(location.search).get("unit");
  S.unit = [wanted, S.who.unitCode].find((c) => c && S.centres.some((u) => u.code === c)) || (S.centres[0] || {}).code;
  if (S.unit) select.value = S.unit;
}

const names = (shifts) => shifts.map((s) => s.person_name).join("、") || t("common.none");

async function loadNow() {
  const box = clear($("d-now"));
  const now = await get(`/api/duty/on-duty?unit_code=${enc(S.unit)}`);
  box.append(el("strong", {}, t("duty.now")), " ",
    el("span", { id: "d-now-leaders" }, `${t("duty.role.leader_on_duty")}：${names(now.leaders)}`), "　",
    el("span", { id: "d-now-officers" }, `${t("duty.role.officer")}：${names(now.officers)}`));
}

async function loadPeople() {
  S.people = await get(`/api/duty/people?unit_code=${enc(S.unit)}`);
  for (const name of ["person_code", "to_person_code"]) {
    for (const select of document.querySelectorAll(`select[name="${name}"]`)) {
      clear(select).append(el("option", { value: "" }, t("duty.choose_person")),
        ...S.people.filter((p) => name === "person_code" || p.code !== S.who.code)
          .map((p) => el("option", { value: p.code }, `${p.name}（${p.unit_name}）`)));
    }
  }
}

// --- the roster by week --------------------------------------------------------------------------------
async function loadWeek() {
  const end = ymdPlus(S.weekStart, 7);
  $("d-week-label").textContent = t("duty.week_of", { a: S.weekStart, b: ymdPlus(S.weekStart, 6) });
  S.shifts = await get(`/api/duty/shifts?unit_code=${enc(S.unit)}&start=${enc(dayIso(S.weekStart))}&end=${enc(dayIso(end))}&limit=500`);
  const body = clear($("d-shift-body"));
  if (!S.shifts.length) { body.append(el("tr", {}, el("td", { colspan: 7 }, empty(t("duty.roster_empty"))))); return; }
  for (const s of S.shifts) {
    const del = el("button", { type: "button", class: "btn small warn", "data-delete": s.id }, t("duty.delete"));
    del.addEventListener("click", () => deleteShift(s, del));
    body.append(el("tr", { "data-shift": s.id },
      el("td", {}, localYmd(s.starts_at)), el("td", {}, s.role_label), el("td", {}, s.person_name),
      el("td", {}, fmtTime(s.starts_at)), el("td", {}, fmtTime(s.ends_at)), el("td", {}, s.note),
      el("td", {}, el("button", { type: "button", class: "btn small", onclick: () => editShift(s) }, t("duty.edit")), " ", del)));
  }
}

function resetShiftForm() {
  const f = $("d-shift-form");
  f.reset();
  f.elements.id.value = "";
  f.elements.version.value = "";
  clearErrors(f);
  $("d-shift-form-title").textContent = t("duty.shift_add");
  $("d-shift-cancel").hidden = true;
}

function editShift(s) {
  const f = $("d-shift-form");
  clearErrors(f);
  f.elements.id.value = s.id;
  f.elements.version.value = s.version;
  f.elements.person_code.value = s.person_code;
  f.elements.role.value = s.role;
  f.elements.starts_at.value = isoToInput(s.starts_at);
  f.elements.ends_at.value = isoToInput(s.ends_at);
  f.elements.note.value = s.note;
  $("d-shift-form-title").textContent = t("duty.shift_edit", { name: s.person_name });
  $("d-shift-cancel").hidden = false;
  f.elements.person_code.focus();
}

// a delete is asked twice (the button turns into 确认删除) rather than through a browser dialog
async function deleteShift(s, button) {
  if (button.dataset.armed !== "1") { button.dataset.armed = "1"; button.textContent = t("duty.delete_confirm"); return; }
  try {
    await api("DELETE", `/api/duty/shifts/${s.id}?expected_version=${s.version}`);
    toast(t("duty.deleted"));
    await refreshRoster();
  } catch (e) { toast(zhMessage(e), "error"); }
}

function required(form, names) {
  for (const n of names) {
    if (!String(form.elements[n].value || "").trim()) {
      throw new ApiError(422, { detail: t(`duty.err.${n}`), field: n });
    }
  }
}

async function saveShift(ev) {
  ev.preventDefault();
  const f = ev.target;
  await submitting(f, async () => {
    required(f, ["person_code", "starts_at", "ends_at"]);
    const body = { person_code: f.elements.person_code.value, role: f.elements.role.value,
      starts_at: inputToIso(f.elements.starts_at.value), ends_at: inputToIso(f.elements.ends_at.value),
      note: f.elements.note.value };
    if (f.elements.id.value) {
      await api("PATCH", `/api/duty/shifts/${f.elements.id.value}`, { ...body, expected_version: Number(f.elements.version.value) });
    } else {
      await post("/api/duty/shifts", { unit_code: S.unit, ...body });
    }
    toast(t("common.saved"));
    resetShiftForm();
    await refreshRoster();
  });
}

async function refreshRoster() { await Promise.all([loadWeek(), loadNow()]); }

async function importRoster(ev) {
  ev.preventDefault();
  const f = ev.target;
  const dry = ev.submitter && ev.submitter.dataset.dry === "1";
  const box = clear($("d-import-result"));
  const file = f.elements.file.files[0];
  if (!file) { box.append(el("p", { class: "error", role: "alert" }, t("duty.err.file"))); return; }
  const fd = new FormData();
  fd.append("file", file, file.name);
  const q = new URLSearchParams({ unit_code: S.unit, dry_run: dry ? "true" : "false" });
  if (f.elements.handover.value) q.set("handover", f.elements.handover.value);
  try {
    const r = await api("POST", `/api/duty/shifts/import?${q}`, undefined, { form: fd });
    box.append(el("p", { role: "status", id: "d-import-done" },
      t(dry ? "duty.import_checked" : "duty.imported", { n: r.created, u: r.updated })));
    if (!dry) await refreshRoster();
  } catch (e) {
    const rows = e instanceof ApiError && Array.isArray(e.body.details) ? e.body.details : [];
    if (!rows.length) { box.append(el("p", { class: "error", role: "alert" }, zhMessage(e))); return; }
    box.append(el("h4", { class: "error" }, t("duty.import_errors", { n: rows.length })),
      el("ul", { class: "import-errors", id: "d-import-errors" }, rows.map((r) =>
        el("li", {}, `${t("duty.import_row", { row: r.row })}${r.column ? `「${r.column}」` : ""}：${r.message}`))));
  }
}

// --- duty log and daily report ---------------------------------------------------------------------------
function logDay() { return $("d-log-day").value || todayYmd(); }

async function loadLog() {
  const day = logDay();
  for (const fmt of ["docx", "xlsx"]) {
    $(`d-report-${fmt}`).href = `/api/duty/daily-report?unit_code=${enc(S.unit)}&day=${day}&format=${fmt}`;
  }
  const entries = await get(`/api/duty/log?unit_code=${enc(S.unit)}&day=${day}`);
  const list = clear($("d-log-list"));
  if (!entries.length) { list.append(el("li", {}, empty(t("duty.log_empty")))); return; }
  for (const e of entries) {
    list.append(el("li", { class: "duty-log-entry", "data-kind": e.kind },
      el("time", { datetime: e.occurred_at }, fmtTime(e.occurred_at)), " ", badge(e.kind_label, `kind-${e.kind}`), " ",
      el("span", { class: "content" }, e.content),
      e.counterpart ? el("span", { class: "muted" }, ` · ${t("duty.log_counterpart")}：${e.counterpart}`) : "",
      e.event_number ? el("a", { href: `/events/${enc(e.event_number)}`, class: "small" }, ` ${e.event_number}`) : "",
      el("span", { class: "muted small" }, ` · ${e.person_name || e.created_by}`)));
  }
}

async function addLog(ev) {
  ev.preventDefault();
  const f = ev.target;
  await submitting(f, async () => {
    required(f, ["content"]);
    const body = { unit_code: S.unit, kind: f.elements.kind.value, content: f.elements.content.value,
      counterpart: f.elements.counterpart.value };
    if (f.elements.occurred_at.value) body.occurred_at = inputToIso(f.elements.occurred_at.value);
    if (f.elements.event_number.value.trim()) body.event_number = f.elements.event_number.value.trim();
    await post("/api/duty/log", body);
    toast(t("duty.log_added"));
    f.reset();
    await loadLog();
  });
}

// --- handover ------------------------------------------------------------------------------------------
const KINDS = ["warnings", "awaiting_dispatch", "awaiting_verification", "plans", "notices", "copies"];

function itemsList(items, id) {
  const open = KINDS.filter((k) => items[k] && items[k].count);
  if (!open.length) return el("p", { class: "muted", id }, t("duty.no_open_items"));
  return el("ul", { class: "open-items", id }, open.map((k) => el("li", { "data-kind": k },
    el("strong", {}, `${t(`duty.item.${k}`)} ${items[k].count}`), " ",
    items[k].items.slice(0, 8).map((i) => (i.number
      ? el("a", { href: `/events/${enc(i.number)}`, class: "item" }, `${i.number} ${i.label || ""}`)
      : el("span", { class: "item" }, i.label))))));
}

async function loadHandover() {
  const open = await get(`/api/duty/open-items?unit_code=${enc(S.unit)}`);
  clear($("d-open-items")).append(itemsList(open.items, "d-open-list"));
  const list = clear($("d-handover-list"));
  const rows = await get(`/api/duty/handovers?unit_code=${enc(S.unit)}&limit=20`);
  if (!rows.length) { list.append(el("li", {}, empty(t("duty.handovers_empty")))); return; }
  for (const h of rows) {
    const li = el("li", { class: `duty-handover state-${h.state}`, "data-handover": h.id },
      el("div", {}, badge(h.state_label, `state-${h.state}`), " ",
        `${fmtTime(h.offered_at)} ${h.from_person_name} → ${h.to_person_name}`),
      h.note ? el("p", {}, `${t("duty.handover_note")}：${h.note}`) : "",
      itemsList(h.items, null),
      h.state === "confirmed" ? el("p", { class: "muted" },
        `${t("duty.confirmed_at")} ${fmtTime(h.decided_at)}${h.confirm_note ? `：${h.confirm_note}` : ""}`) : "");
    if (h.state === "offered" && h.to_person_code === S.who.code) li.append(confirmForm(h));
    if (h.state === "offered" && h.from_person_code === S.who.code) {
      li.append(el("button", { type: "button", class: "btn small", onclick: async () => {
        try { await post(`/api/duty/handovers/${h.id}/withdraw`, { expected_version: h.version }); await loadHandover(); }
        catch (e) { toast(zhMessage(e), "error"); }
      } }, t("duty.handover_withdraw")));
    }
    list.append(li);
  }
}

function confirmForm(h) {
  const f = el("form", { class: "filter-form duty-form", id: `d-confirm-${h.id}`, novalidate: true },
    el("label", {}, t("duty.confirm_note"), el("textarea", { name: "note", rows: 2, maxlength: 2000 }),
      el("span", { class: "field-error", "data-error": "note", role: "alert" })),
    el("p", { class: "form-error", "data-error": "_", role: "alert" }),
    el("div", { class: "buttons" }, el("button", { type: "submit", class: "btn primary" }, t("duty.handover_confirm"))));
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submitting(f, async () => {
      await post(`/api/duty/handovers/${h.id}/confirm`, { note: f.elements.note.value, expected_version: h.version });
      toast(t("duty.handover_confirmed"));
      await Promise.all([loadHandover(), loadNow()]);
    });
  });
  return f;
}

async function offerHandover(ev) {
  ev.preventDefault();
  const f = ev.target;
  await submitting(f, async () => {
    required(f, ["to_person_code"]);
    await post("/api/duty/handovers", { unit_code: S.unit, to_person_code: f.elements.to_person_code.value,
      note: f.elements.note.value });
    toast(t("duty.handover_offered"));
    f.reset();
    await loadHandover();
  });
}

// --- on-post checks -------------------------------------------------------------------------------------
async function loadChecks() {
  const rows = await get("/api/duty/presence-checks?limit=50");
  const list = clear($("d-check-list"));
  if (!rows.length) { list.append(el("li", {}, empty(t("duty.checks_empty")))); return; }
  for (const c of rows) {
    const li = el("li", { class: `duty-check state-${c.state}`, "data-check": c.id },
      badge(c.state_label, `state-${c.state}`), " ",
      `${c.unit_name} · ${t("duty.check_by")} ${c.by_unit_name} · ${fmtTime(c.asked_at)} · ${t("duty.check_due")} ${fmtTime(c.due_at)}`,
      c.person_name ? el("span", { class: "muted" }, ` · ${c.person_name}`) : "");
    if (c.state === "pending" && c.unit_code === S.who.unitCode) {
      li.append(" ", el("button", { type: "button", class: "btn small primary", onclick: async () => {
        try { await post(`/api/duty/presence-checks/${c.id}/confirm`, {}); toast(t("duty.check_confirmed")); await loadChecks(); }
        catch (e) { toast(zhMessage(e), "error"); await loadChecks(); }
      } }, t("duty.check_confirm")));
    }
    list.append(li);
  }
}

function setupCheckForm() {
  const own = S.centres.find((u) => u.code === S.who.unitCode);
  const lower = own ? S.centres.filter((u) => u.code !== own.code && String(u.area_code || "").startsWith(own.area_code || "~")) : [];
  const f = $("d-check-form");
  f.hidden = !can(S.who, "duty.check") || !lower.length;
  clear(f.elements.unit_code).append(...lower.map((u) => el("option", { value: u.code }, u.name)));
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submitting(f, async () => {
      await post("/api/duty/presence-checks", { unit_code: f.elements.unit_code.value, minutes: Number(f.elements.minutes.value) });
      toast(t("duty.check_asked"));
      await loadChecks();
    });
  });
}

// --- page ------------------------------------------------------------------------------------------------
async function loadUnit() {
  history.replaceState(null, "", `/duty?unit=${enc(S.unit)}`);
  resetShiftForm();
  await Promise.all([loadNow(), loadPeople(), loadWeek(), loadLog(), loadHandover()]);
}

async function main() {
  shell();
  S.who = await me();
  await loadCentres();
  S.weekStart = mondayOf(todayYmd());
  $("d-log-day").value = todayYmd();
  if (!S.unit) { clear($("d-now")).append(empty(t("duty.no_centre"))); return; }
  $("d-unit").addEventListener("change", async (e) => { S.unit = e.target.value; await loadUnit(); });
  $("d-week-prev").addEventListener("click", () => { S.weekStart = ymdPlus(S.weekStart, -7); loadWeek(); });
  $("d-week-next").addEventListener("click", () => { S.weekStart = ymdPlus(S.weekStart, 7); loadWeek(); });
  $("d-shift-form").addEventListener("submit", saveShift);
  $("d-shift-cancel").addEventListener("click", resetShiftForm);
  $("d-import-form").addEventListener("submit", importRoster);
  $("d-log-form").addEventListener("submit", addLog);
  $("d-log-day").addEventListener("change", loadLog);
  $("d-handover-form").addEventListener("submit", offerHandover);
  setupCheckForm();
  await Promise.all([loadUnit(), loadChecks()]);
  document.body.dataset.ready = "1";
}

main();
