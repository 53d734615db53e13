// One event: facts, map, tasks and their clocks, attachments, timeline, and the actions allowed now.
import { ApiError, actionLabel, badge, can, clear, clockOf, deskChanged, el, empty, errorText, fmtTime, get, post, shell,
  stateLabel, t, toast } from "./core.js";
import { actionForm, decideActions, localInputToIso, taskActions, uploadPhotos } from "./forms.js";
import { renderEventNotices } from "./notices.js";

/* global echarts */
const number = document.getElementById("event-root").dataset.number;
const base = `/api/events/${encodeURIComponent(number)}`;
let who = null;
let notice = null; // the outcome of the last action worth keeping on screen (a reclassification's re-dispatch)

function kv(list) {
  const dl = clear(document.getElementById("ev-kv"));
  for (const [k, v] of list) dl.append(el("dt", {}, k), el("dd", {}, v ?? t("common.none")));
}

async function drawMap(e) {
  const box = document.getElementById("ev-map");
  if (!e.area_code || typeof echarts === "undefined") { box.hidden = true; return; }
  const area = await get(`/api/areas/${encodeURIComponent(e.area_code)}`);
  if (!area.boundary) { box.hidden = true; return; }
  const name = `event-area-${e.area_code}`;
  echarts.registerMap(name, { type: "FeatureCollection", features: [
    { type: "Feature", geometry: area.boundary, properties: { name: area.name } }] });
  const c = echarts.getInstanceByDom(box) || echarts.init(box);
  c.setOption({
    geo: { map: name, roam: true, label: { show: true, color: "#9fd3ff" },
      itemStyle: { areaColor: "#0b3a5e", borderColor: "#4fc3ff" }, emphasis: { disabled: true } },
    series: e.lon != null ? [{ type: "effectScatter", coordinateSystem: "geo", data: [[e.lon, e.lat]], symbolSize: 10,
      itemStyle: { color: "#ff4d4f" } }] : [],
  }, true);
}

let extensionReasons = {};

function renderTasks(e) {
  const box = clear(document.getElementById("ev-tasks"));
  if (!e.tasks.length) { box.append(empty(t("event.no_tasks"))); return; }
  for (const task of e.tasks) {
    // the unit's own task, or one assigned to me by name (a board's post holder sits in another unit)
    const mine = who && ((who.unitCode && task.unit_code === who.unitCode) || (who.code && task.assignee_code === who.code));
    box.append(el("article", { class: `card task state-${task.state}`, "data-task": task.id },
      el("header", { class: "card-head" }, el("strong", {}, task.unit_name),
        badge(t(`task_role.${task.role}`)), badge(t(`task_state.${task.state}`), `task-${task.state}`)),
      el("dl", { class: "kv" },
        el("dt", {}, t("event.accept_due")), el("dd", {}, task.accepted_at ? fmtTime(task.accepted_at) : clockOf(task.accept_due_at)),
        el("dt", {}, t("event.handle_due")), el("dd", {}, ["reported_back", "verified"].includes(task.state) ? fmtTime(task.handle_due_at) : clockOf(task.handle_due_at)),
        task.instruction ? [el("dt", {}, t("event.instruction")), el("dd", {}, task.instruction)] : null,
        task.result ? [el("dt", {}, t("event.result")), el("dd", { class: "pre" }, task.result)] : null,
        task.end_reason ? [el("dt", {}, t("common.reason")), el("dd", {}, task.end_reason)] : null,
        task.role !== "notify" ? [el("dt", {}, t("task.assignee")), el("dd", { class: "assignee" }, task.assignee_name || t("task.assignee_none"))] : null),
      task.state === "suspended" && task.suspended_at ? el("p", { class: "muted small" }, t("work.suspended_since", { at: fmtTime(task.suspended_at) })) : null,
      mine && can(who, "task.handle") ? taskActions(number, task, e.version, reload) : null,
      mine && task.state === "notified" && can(who, "task.handle") ? el("button", { type: "button", class: "btn primary ack", onclick: async (ev) => {
        ev.target.disabled = true;
        try { await post(`${base}/tasks/${task.id}/read`, {}); toast(t("inbox.acknowledged")); deskChanged(); reload(); }
        catch (err) { toast(errorText(err), "error"); ev.target.disabled = false; }
      } }, t("inbox.acknowledge")) : null,
      can(who, "task.decide") ? decideActions(number, { ...task, extension_reason: extensionReasons[task.id] }, reload) : null,
      assignAction(task),
      mine && BOARD_CODE.test(task.unit_code) && task.working && task.role !== "notify" && can(who, "task.handle") ? handToBoard(task) : null));
  }
}

// --- 事件责任人: the unit's leader (or a superior centre) gives the task to a named member -------------
const BOARD_CODE = /^B\d+-[a-z]/; // a town board's unit (domain/town.py board_unit_code)

function assignAction(task) {
  if (!can(who, "task.assign") || task.role === "notify" || !task.working) return null;
  const holder = el("div", { class: "assign-box" });
  const open = el("button", { type: "button", class: "btn ghost assign-open", onclick: async () => {
    open.disabled = true;
    let people;
    try { people = await get(`${base}/tasks/${task.id}/members`); }
    catch (err) { toast(errorText(err), "error"); open.disabled = false; return; }
    open.remove();
    if (!people.length) { holder.append(empty(t("task.assign.nobody"))); return; }
    holder.append(actionForm(task.assignee_code ? t("task.reassign") : t("task.assign"), [
      { name: "person_code", label: t("task.assign.person"), type: "select", required: true,
        options: people.filter((p) => p.code !== task.assignee_code).map((p) => [p.code, p.post ? `${p.name}（${p.post}）` : p.name]) },
      { name: "reason", label: t("common.reason"), type: "textarea" },
    ], async (f) => {
      const body = { person_code: f.elements.person_code.value, expected_version: task.version };
      if (f.elements.reason.value.trim()) body.reason = f.elements.reason.value.trim();
      await post(`${base}/tasks/${task.id}/assign`, body);
      toast(t("task.assign.done", { name: f.elements.person_code.selectedOptions[0].textContent }));
      deskChanged();
      reload();
    }, { open: true }));
  } }, task.assignee_code ? t("task.reassign") : t("task.assign"));
  holder.append(open);
  return holder;
}

function handToBoard(task) {
  const holder = el("div", { class: "assign-box" });
  const open = el("button", { type: "button", class: "btn ghost", onclick: async () => {
    open.disabled = true;
    let boards;
    try { boards = await get("/api/town-boards"); } catch (err) { toast(errorText(err), "error"); open.disabled = false; return; }
    open.remove();
    const own = task.unit_code.split("-").slice(1).join("-");
    holder.append(actionForm(t("task.hand_to_board"), [
      { name: "board_key", label: t("task.hand_to_board.to"), type: "select", required: true,
        options: boards.filter((b) => b.key !== own).map((b) => [b.key, b.name]) },
      { name: "reason", label: t("common.reason"), type: "textarea", required: true },
    ], async (f) => {
      await post(`${base}/tasks/${task.id}/hand-to-board`, { board_key: f.elements.board_key.value,
        reason: f.elements.reason.value.trim(), expected_version: task.version });
      toast(t("task.hand_to_board.done"));
      deskChanged();
      reload();
    }, { open: true }));
  } }, t("task.hand_to_board"));
  holder.append(open);
  return holder;
}

async function renderAttachments() {
  const box = clear(document.getElementById("ev-attachments"));
  const files = await get(`${base}/attachments`);
  if (!files.length) { box.append(empty(t("event.no_attachments"))); return; }
  for (const f of files) {
    const isImage = f.content_type.startsWith("image/");
    box.append(el("figure", { class: "photo" },
      el("a", { href: f.url, target: "_blank", rel: "noopener" },
        isImage ? el("img", { src: f.url, alt: f.filename, loading: "lazy" }) : el("span", { class: "file" }, f.filename)),
      el("figcaption", {}, `${f.filename} · ${fmtTime(f.created_at)}`)));
  }
}

// 台账: the ledger items this event belongs to (a task it arose from, a problem its pattern became);
// shown only when there are some the reader may see
async function renderLedgerItems() {
  let found = [];
  try { found = await get(`${base}/ledger-items`); } catch { found = []; }
  document.getElementById("ev-ledger-panel").hidden = !found.length;
  const list = clear(document.getElementById("ev-ledger-items"));
  for (const x of found) {
    list.append(el("li", {}, el("a", { href: `/ledgers?ledger=${encodeURIComponent(x.ledger)}&item=${x.item_id}` }, `${x.number} ${x.title}`),
      ` · ${x.ledger_name} · ${x.lead_unit_name} · ${t(`ledgers.state.${x.state}`)}`));
  }
}

async function renderTimeline() {
  const list = clear(document.getElementById("ev-timeline"));
  const lines = await get(`${base}/timeline`);
  extensionReasons = {};
  for (const l of lines) if (l.action === "task.request_extension" && l.task_id) extensionReasons[l.task_id] = l.reason;
  for (const l of lines) {
    list.append(el("li", {},
      el("time", { datetime: l.at }, fmtTime(l.at)),
      el("strong", {}, actionLabel(l.action)),
      l.payload && l.payload.unit ? el("span", { class: "muted" }, ` ${l.payload.unit}`) : null,
      l.to_state && l.from_state !== l.to_state ? el("span", { class: "muted" }, ` → ${l.action.startsWith("task.") ? t(`task_state.${l.to_state}`) : stateLabel(l.to_state)}`) : null,
      el("span", { class: "tl-actor" }, l.actor),
      l.reason ? el("p", { class: "tl-reason pre" }, l.reason) : null));
  }
}

// --- keyboard shortcuts for the frequent desk actions: shown in the buttons' titles, never while typing ----
const SHORTCUTS = { copy: "c", auto_dispatch: "a", dispatch: "d", override: "o", urge: "u", verify: "v", close: "j" };
const shortcutTitle = (label, action) => (SHORTCUTS[action] ? t("desk.shortcut_title", { label, key: SHORTCUTS[action].toUpperCase() }) : label);

function typing(target) {
  if (!target || !(target instanceof Element)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat || typing(ev.target)) return;
  const action = Object.keys(SHORTCUTS).find((a) => SHORTCUTS[a] === ev.key.toLowerCase());
  if (!action) return;
  const target = document.querySelector(`[data-shortcut="${action}"]`);
  if (!target) return;
  ev.preventDefault();
  if (target.tagName === "DETAILS") {
    target.open = true;
    target.scrollIntoView({ block: "nearest" });
    const first = target.querySelector("form input:not([type=hidden]):not([type=checkbox]), form select, form textarea");
    if (first) first.focus();
  } else target.click();
});

// A desk action's collapsible form, tagged with its action (for the shortcut and its title).
function deskForm(action, label, fields, onSubmit, opts) {
  const d = actionForm(label, fields, onSubmit, opts);
  d.dataset.action = action;
  if (SHORTCUTS[action]) {
    d.dataset.shortcut = action;
    d.querySelector("summary").title = shortcutTitle(label, action);
    d.querySelector("summary").setAttribute("aria-keyshortcuts", SHORTCUTS[action].toUpperCase());
  }
  return d;
}

function deskButton(action, label, cls, onclick) {
  return el("button", { type: "button", class: `btn ${cls}`, "data-action": action, "data-shortcut": SHORTCUTS[action] ? action : null,
    title: shortcutTitle(label, action), "aria-keyshortcuts": SHORTCUTS[action] ? SHORTCUTS[action].toUpperCase() : null, onclick }, label);
}

// --- 抄送知悉: to many units at once, picked one by one or from copy lists -------------------------
let copyUnits = null;

async function copyPanel(e) {
  const [lists, units] = await Promise.all([get("/api/copy-lists").catch(() => []),
    copyUnits ? Promise.resolve(copyUnits)
      : Promise.all(["centre", "department"].map((k) => get(`/api/units?kind=${k}`).catch(() => []))).then((x) => x.flat())]);
  copyUnits = units;
  const choices = units.filter((u) => !who || u.code !== who.unitCode);
  const form = el("form", { class: "action-form copy-form", id: "copy-form" });
  const count = el("p", { class: "muted small", id: "copy-count", "aria-live": "polite" });
  const recount = () => {
    const n = form.querySelectorAll("input[name=copy_unit]:checked:not(:disabled)").length;
    const l = form.querySelectorAll("input[name=copy_list]:checked").length;
    count.textContent = t("desk.copy_selected", { n, l });
  };
  // a later round: the units already copied are shown, ticked and greyed (an event copies a unit once)
  const copied = new Set((e.tasks || []).filter((k) => k.role === "notify").map((k) => k.unit_code));
  const unitBox = el("div", { class: "copy-units" }, choices.map((u) => el("label", { class: "check", "data-search": `${u.code} ${u.name}` },
    el("input", { type: "checkbox", name: "copy_unit", value: u.code, onchange: recount, disabled: copied.has(u.code),
      checked: copied.has(u.code), "data-copied": copied.has(u.code) ? "1" : null }),
    ` ${u.name}`, copied.has(u.code) ? el("span", { class: "muted small" }, t("desk.already_copied")) : null)));
  const filter = el("input", { type: "search", id: "copy-filter", placeholder: t("desk.copy_filter"), "aria-label": t("desk.copy_filter"),
    oninput: () => {
      const q = filter.value.trim();
      for (const l of unitBox.children) l.hidden = q !== "" && !l.dataset.search.includes(q);
    } });
  const all = el("button", { type: "button", class: "btn ghost", id: "copy-all", onclick: () => {
    for (const l of unitBox.children) if (!l.hidden && !l.querySelector("input").disabled) l.querySelector("input").checked = true;
    recount();
  } }, t("desk.copy_select_shown"));
  const none = el("button", { type: "button", class: "btn ghost", onclick: () => {
    for (const i of form.querySelectorAll("input[type=checkbox]:not(:disabled)")) i.checked = false;
    recount();
  } }, t("desk.copy_clear"));
  const reason = el("textarea", { id: "copy-reason", name: "reason", rows: 2, maxlength: 2000 });
  const error = el("p", { class: "error", role: "alert" });
  const submit = el("button", { type: "submit", class: "btn primary", id: "copy-submit" }, t("desk.copy_submit"));
  form.append(...[
    lists.length ? el("fieldset", { class: "copy-lists" }, el("legend", {}, t("desk.copy_lists")),
      lists.map((l) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "copy_list", value: l.id, onchange: recount }),
        ` ${l.name}（${t("desk.copy_list_size", { n: l.unit_codes.length })}）`))) : null,
    el("fieldset", { class: "copy-pick" }, el("legend", {}, t("desk.copy_units")), el("div", { class: "copy-tools" }, filter, all, none), unitBox),
    count, el("label", { for: "copy-reason" }, t("desk.copy_reason")), reason, error, submit].filter(Boolean));
  recount();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const codes = [...form.querySelectorAll("input[name=copy_unit]:checked:not(:disabled)")].map((x) => x.value);
    const ids = [...form.querySelectorAll("input[name=copy_list]:checked")].map((x) => Number(x.value));
    if (!codes.length && !ids.length) { error.textContent = t("desk.copy_none"); return; }
    submit.disabled = true;
    try {
      const after = await post(`${base}/notify`, { unit_codes: codes, copy_lists: ids, reason: reason.value.trim() || null,
        expected_version: e.version });
      toast(t("desk.copied", { n: after.tasks.filter((k) => k.role === "notify").length }));
      deskChanged();
      reload();
    } catch (err) { error.textContent = errorText(err); } finally { submit.disabled = false; }
  });
  const label = t("desk.copy");
  return el("details", { class: "action", id: "act-copy", "data-action": "copy", "data-shortcut": "copy" },
    el("summary", { class: "btn", title: shortcutTitle(label, "copy"), "aria-keyshortcuts": "C" }, label), form);
}

// --- the rules' suggestion and why: which rule matched, on which conditions ------------------------
function conditionText(leaf) {
  if (leaf.not) return t("desk.why_not", { cond: conditionText(leaf.not) });
  const value = Array.isArray(leaf.value) ? leaf.value.join("、") : typeof leaf.value === "object" ? JSON.stringify(leaf.value) : String(leaf.value);
  return `${t(`cond.field.${leaf.field}`)} ${t(`cond.op.${leaf.op}`)} ${value}`;
}

function explanation(decision, e) {
  const box = el("div", { class: "explain", id: "dispatch-why" });
  if (decision.rule) {
    box.append(el("p", {}, t("event.suggestion_rule", { rule: `${decision.rule_name || decision.rule}（${decision.rule}${decision.rule_version ? ` v${decision.rule_version}` : ""}）` })));
    if (decision.why.length) box.append(el("p", { class: "muted small" }, t("desk.why_matched")), el("ul", { class: "why" }, decision.why.map((w) => el("li", {}, conditionText(w)))));
  } else if (decision.fallback) {
    box.append(el("p", {}, t("event.suggestion_fallback")));
  }
  if (decision.passed_over.length) {
    box.append(el("p", { class: "muted small" }, t("desk.passed_over", { rules: decision.passed_over.map((p) => p.rule).join("、") })));
  }
  if (e.mode === "notify") box.append(el("p", { class: "notice" }, t("desk.auto_notify_mode")));
  return box;
}

async function dispatchPanel(e, acts) {
  const box = el("div", { class: "dispatch" }, el("h3", {}, e.state === "notifying" ? t("desk.to_case") : t("event.suggestion")));
  if (acts.has("auto_dispatch")) {
    let decision = null;
    try {
      decision = await post("/api/dispatch/dry-run", { number: e.number });
    } catch (err) {
      box.append(el("p", { class: "error" }, errorText(err)));
    }
    if (decision && decision.lead) {
      box.append(el("p", { class: "suggestion", id: "suggestion" },
        el("span", { class: "badge state-dispatched" }, t("event.lead")), ` ${decision.lead.name}`,
        ...decision.assist.map((u) => [" ", el("span", { class: "badge" }, t("event.assist")), ` ${u.name}`])),
      explanation(decision, e),
      deskButton("auto_dispatch", t("event.dispatch_suggested"), "primary", async (ev) => {
        ev.target.disabled = true;
        try {
          await post(`${base}/auto-dispatch`, { expected_version: e.version });
          toast(t("common.done"));
          deskChanged();
          reload();
        } catch (err) { toast(errorText(err), "error"); ev.target.disabled = false; }
      }));
      box.lastChild.id = "dispatch-suggested";
    } else if (decision) {
      box.append(el("p", { class: "muted" }, t("event.suggestion_none")));
    }
  }
  const units = await get("/api/units").catch(() => []);
  const listId = "unit-codes";
  box.append(el("datalist", { id: listId }, units.map((u) => el("option", { value: u.code }, u.name))));
  const codesOf = (v) => v.split(/[,，、\s]+/).filter(Boolean);
  if (acts.has("dispatch")) {
    box.append(deskForm("dispatch", e.state === "notifying" ? t("desk.to_case_dispatch") : t("desk.dispatch"), [
      { name: "lead", label: t("desk.lead_unit"), required: true, list: listId },
      { name: "assist", label: t("desk.assist_units"), list: listId },
      { name: "due", label: t("desk.due"), type: "datetime" },
      { name: "instruction", label: t("event.instruction"), type: "textarea" }],
    async (f) => {
      const instruction = f.instruction.value.trim() || null;
      const units = [{ unit_code: f.lead.value.trim(), role: "lead", instruction },
        ...codesOf(f.assist.value).map((code) => ({ unit_code: code, role: "assist", instruction }))];
      await post(`${base}/dispatch`, { units, due_at: localInputToIso(f.due.value), expected_version: e.version });
      toast(t("common.done"));
      deskChanged();
      reload();
    }, { cls: "primary" }));
  }
  if (acts.has("override")) box.append(overrideForm(e, listId, codesOf));
  return box;
}

function overrideForm(e, listId, codesOf) {
  return deskForm("override", t("event.override"), [
    { name: "units", label: t("event.override_units"), required: true, list: listId },
    { name: "reason", label: t("event.override_reason"), type: "textarea", required: true },
    { name: "replace", label: t("event.override_replace"), type: "checkbox" }],
  async (f) => {
    const codes = codesOf(f.units.value);
    await post(`${base}/override`, {
      units: codes.map((code, i) => ({ unit_code: code, role: i === 0 ? "lead" : "assist" })),
      reason: f.reason.value.trim(), replace: f.replace.checked, expected_version: e.version,
    });
    toast(t("common.done"));
    deskChanged();
    reload();
  }, { cls: "ghost" });
}

// What this person may do on the event now: the API's answer (role, standing, state) decides.
async function deskActions() {
  try { return await get(`${base}/desk-actions`); } catch { return { actions: [], push_down_to: [], escalate_to: null }; }
}

async function renderActions(e) {
  const box = clear(document.getElementById("ev-actions"));
  const desk = await deskActions();
  const acts = new Set(desk.actions);
  box.dataset.actions = desk.actions.join(" ");
  const withVersion = (body) => ({ ...body, expected_version: e.version });
  const act = (path, body) => async () => { await post(`${base}/${path}`, withVersion(body)); toast(t("common.done")); deskChanged(); reload(); };
  if (acts.has("copy")) box.append(await copyPanel(e));
  if (acts.has("dispatch") || acts.has("auto_dispatch")) box.append(await dispatchPanel(e, acts));
  else if (acts.has("override")) {
    const units = await get("/api/units").catch(() => []);
    box.append(el("datalist", { id: "unit-codes" }, units.map((u) => el("option", { value: u.code }, u.name))),
      overrideForm(e, "unit-codes", (v) => v.split(/[,，、\s]+/).filter(Boolean)));
  }
  if (acts.has("urge")) {
    const open = e.tasks.filter((k) => k.clock_running && k.role !== "notify");
    if (open.length) box.append(urgeForm(e, open));
  }
  await coordinationActions(e, box, acts, desk);
  if (acts.has("verify")) {
    box.append(deskForm("verify", t("event.verify_pass"), [{ name: "photos", label: t("verify.photo"), type: "file" }],
      async (f) => { await uploadPhotos(number, null, f.photos); await act("verify", { passed: true })(); }));
    box.append(actionForm(t("event.verify_fail"), [{ name: "reason", label: t("verify.fail_reason"), type: "textarea", required: true }],
      (f) => act("verify", { passed: false, reason: f.reason.value.trim() })(), { cls: "warn" }));
  }
  if (acts.has("close")) box.append(deskButton("close", t("event.close"), "primary", () => act("close", {})().catch((err) => toast(errorText(err), "error"))));
  if (acts.has("callback")) {
    box.append(deskButton("callback", `${t("event.callback")}：${t("event.callback_satisfied")}`, "", () => act("callback", { satisfied: true })().catch((err) => toast(errorText(err), "error"))));
    box.append(actionForm(`${t("event.callback")}：${t("event.callback_dissatisfied")}`, [{ name: "comment", label: t("common.reason"), type: "textarea", required: true }],
      (f) => act("callback", { satisfied: false, comment: f.comment.value.trim() })(), { cls: "warn" }));
  }
  if (acts.has("withdraw")) {
    box.append(actionForm(t("desk.withdraw"), [{ name: "reason", label: t("common.reason"), type: "textarea", required: true }],
      (f) => act("withdraw", { reason: f.reason.value.trim() })(), { cls: "ghost" }));
  }
  if (acts.has("merge")) {
    box.append(actionForm(t("event.merge"), [
      { name: "master", label: t("event.merge_master"), required: true },
      { name: "reason", label: t("common.reason"), type: "textarea" }],
    (f) => act("merge", { master_number: f.master.value.trim(), reason: f.reason.value.trim() || null })(), { cls: "ghost" }));
  }
  if (acts.has("cancel")) {
    box.append(actionForm(t("event.cancel"), [{ name: "reason", label: t("common.reason"), type: "textarea", required: true }],
      (f) => act("cancel", { reason: f.reason.value.trim() })(), { cls: "danger" }));
  }
  if (notice) box.prepend(el("p", { class: "notice", role: "status", id: "ev-notice" }, notice));
  if (!box.children.length) box.append(el("p", { class: "muted" }, t("common.none")));
  else box.prepend(el("p", { class: "muted small shortcut-hint" }, t("desk.shortcut_hint")));
}

// --- 督办: a leader's instruction and a new deadline for the open tasks (all, or the ones ticked) ----
function urgeForm(e, open) {
  const form = deskForm("urge", t("work.urge"), [
    { name: "instruction", label: t("work.urge_instruction"), type: "textarea", required: true },
    { name: "due", label: t("work.urge_due"), type: "datetime", required: true }],
  async (f) => {
    const ids = [...f.querySelectorAll("input[name=urge_task]:checked")].map((x) => Number(x.value));
    if (!ids.length) throw new Error(t("work.urge_tasks"));
    await post(`${base}/urge`, { instruction: f.instruction.value.trim(), due_at: localInputToIso(f.due.value),
      task_ids: ids.length === open.length ? null : ids });
    toast(t("common.done"));
    deskChanged();
    reload();
  }, { cls: "warn" });
  const fs = el("fieldset", { class: "urge-tasks" }, el("legend", {}, t("work.urge_tasks")),
    open.map((k) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "urge_task", value: k.id, checked: true }),
      ` ${k.unit_name}（${t(`task_state.${k.state}`)}）`)));
  const f = form.querySelector("form");
  f.insertBefore(fs, f.querySelector(".error"));
  return form;
}

// --- reclassify, push down, hand sideways, escalate: the centre's moves on the event --------------
let classes = null;
let units = null;

async function coordinationActions(e, box, acts, desk) {
  if (acts.has("reclassify")) {
    classes = classes || await get("/api/event-classes").catch(() => []);
    box.append(actionForm(t("work.reclassify"), [
      { name: "cls", label: t("work.reclassify_class"), type: "select", required: true, value: e.event_class_code,
        options: [["", t("work.choose")], ...classes.map((c) => [c.code, `${c.code} ${c.major_name || ""}/${c.name}`])] },
      { name: "urgency", label: t("work.reclassify_urgency"), type: "select",
        options: [["", t("work.keep_urgency")], ...["normal", "urgent", "critical"].map((u) => [u, t(`urgency.${u}`)])] },
      { name: "reason", label: t("common.reason"), type: "textarea", required: true }],
    async (f) => {
      const leadsBefore = leadUnits(e);
      const after = await post(`${base}/reclassify`, { event_class_code: f.cls.value, urgency: f.urgency.value || null,
        reason: f.reason.value.trim(), expected_version: e.version });
      notice = reclassifyOutcome(leadsBefore, leadUnits(after), after.state);
      toast(notice);
      reload();
    }, { cls: "ghost" }));
  }
  // 纵向交办: the lower centres whose area holds the event, as the API answered
  if (acts.has("push_down")) {
    box.append(deskForm("push_down", t("work.push_down"), [
      { name: "centre", label: t("work.push_down_centre"), type: "select", required: true,
        options: [["", t("work.choose")], ...desk.push_down_to.map((u) => [u.code, u.name])] },
      { name: "instruction", label: t("work.instruction"), type: "textarea" }],
    async (f) => {
      await post(`${base}/push-down`, { centre_code: f.centre.value, instruction: f.instruction.value.trim() || null,
        expected_version: e.version });
      toast(t("common.done")); deskChanged(); reload();
    }, { cls: "ghost" }));
  }
  // 横向分拨: departments only (their duties are never pushed down to grassroots units)
  if (acts.has("hand_sideways")) {
    units = units || await get("/api/units?kind=department").catch(() => []);
    const departments = units.filter((u) => u.kind === "department");
    if (departments.length) {
      box.append(deskForm("hand_sideways", t("work.hand_sideways"), [
        { name: "unit", label: t("work.department"), type: "select", required: true,
          options: [["", t("work.choose")], ...departments.map((u) => [u.code, u.name])] },
        { name: "role", label: t("work.role"), type: "select", options: [["lead", t("task_role.lead")], ["assist", t("task_role.assist")]] },
        { name: "reason", label: t("common.reason"), type: "textarea" }],
      async (f) => {
        await post(`${base}/hand-sideways`, { units: [{ unit_code: f.unit.value, role: f.role.value }],
          reason: f.reason.value.trim() || null, expected_version: e.version });
        toast(t("common.done")); deskChanged(); reload();
      }, { cls: "ghost" }));
    }
  }
  // 上报: to the centre above mine
  if (acts.has("escalate")) {
    const to = desk.escalate_to ? `（${desk.escalate_to.name}）` : "";
    box.append(deskForm("escalate", `${t("work.escalate_event")}${to}`, [{ name: "reason", label: t("work.escalate_reason"), type: "textarea", required: true }],
      async (f) => {
        await post(`${base}/escalate`, { reason: f.reason.value.trim(), expected_version: e.version });
        toast(t("common.done")); deskChanged(); reload();
      }, { cls: "warn" }));
  }
}

const leadUnits = (ev) => ev.tasks.filter((k) => k.role === "lead" && k.working).map((k) => k.unit_name);

function reclassifyOutcome(before, after, state) {
  if (!before.length) return t("work.reclassify_none");
  if (before.join() === after.join()) return t("work.reclassify_kept", { units: after.join("、") });
  if (!after.length || state === "registered") return t("work.reclassify_back");
  return t("work.reclassify_moved", { from: before.join("、"), to: after.join("、") });
}

async function reload() {
  let e;
  try {
    e = await get(base);
  } catch (err) {
    document.getElementById("ev-title").textContent = err instanceof ApiError && err.status === 404 ? t("event.not_found") : errorText(err);
    return;
  }
  document.getElementById("ev-title").textContent = e.title;
  document.title = `${e.title} · ${t("app.name")}`;
  const badges = clear(document.getElementById("ev-badges"));
  badges.append(badge(stateLabel(e.state), `state-${e.state}`), badge(t(`urgency.${e.urgency}`), `urgency-${e.urgency}`),
    badge(t(`source.${e.source}`)));
  document.getElementById("ev-meta").textContent = `${e.number} · ${fmtTime(e.received_at)}`;
  document.getElementById("ev-desc").textContent = e.description || t("common.none");
  kv([[t("events.class"), e.event_class_name ? `${e.major_class} / ${e.event_class_name}` : null],
    [t("events.area_name"), e.area_name], [t("event.address"), e.address], [t("event.reporter"), e.reporter_name],
    [t("events.received_at"), fmtTime(e.received_at)]]);
  renderTasks(e);
  await Promise.all([renderActions(e), renderAttachments(), renderTimeline(), renderLedgerItems(), drawMap(e).catch(() => {}),
    renderEventNotices(number, document.getElementById("ev-notices"))]);
  document.body.dataset.ready = "1";
  document.body.dataset.state = e.state;
}

(async () => {
  who = await shell();
  await reload();
})();
