// One event: facts, map, tasks and their clocks, attachments, timeline, and the actions allowed now.
import { ApiError, actionLabel, badge, can, clear, clockOf, el, empty, errorText, fmtTime, get, post, shell, stateLabel,
  t, toast } from "./core.js";
import { actionForm, decideActions, localInputToIso, taskActions, uploadPhotos } from "./forms.js";
import { renderEventNotices } from "./notices.js";

/* global echarts */
const number = document.getElementById("event-root").dataset.number;
const base = `/api/events/${encodeURIComponent(number)}`;
let who = null;
let myUnit = null; // the acting person's unit (kind, level, parent): which coordination steps apply
let notice = null; // the outcome of the last action worth keeping on screen (a reclassification's re-dispatch)
const RUNNING = new Set(["dispatched", "accepted", "extension_requested"]);
const LEVELS = ["city", "district", "town", "village", "grid"];

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
    const mine = who && who.unitCode && task.unit_code === who.unitCode;
    box.append(el("article", { class: `card task state-${task.state}`, "data-task": task.id },
      el("header", { class: "card-head" }, el("strong", {}, task.unit_name),
        badge(t(`task_role.${task.role}`)), badge(t(`task_state.${task.state}`), `task-${task.state}`)),
      el("dl", { class: "kv" },
        el("dt", {}, t("event.accept_due")), el("dd", {}, task.accepted_at ? fmtTime(task.accepted_at) : clockOf(task.accept_due_at)),
        el("dt", {}, t("event.handle_due")), el("dd", {}, ["reported_back", "verified"].includes(task.state) ? fmtTime(task.handle_due_at) : clockOf(task.handle_due_at)),
        task.instruction ? [el("dt", {}, t("event.instruction")), el("dd", {}, task.instruction)] : null,
        task.result ? [el("dt", {}, t("event.result")), el("dd", { class: "pre" }, task.result)] : null,
        task.end_reason ? [el("dt", {}, t("common.reason")), el("dd", {}, task.end_reason)] : null),
      task.state === "suspended" && task.suspended_at ? el("p", { class: "muted small" }, t("work.suspended_since", { at: fmtTime(task.suspended_at) })) : null,
      mine && can(who, "task.handle") ? taskActions(number, task, e.version, reload) : null,
      can(who, "task.decide") ? decideActions(number, { ...task, extension_reason: extensionReasons[task.id] }, reload) : null));
  }
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

// --- the duty officer's dispatch: the rules' suggestion, or an override with a reason ------------
async function dispatchPanel(e) {
  const box = el("div", { class: "dispatch" }, el("h3", {}, t("event.suggestion")));
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
    el("p", { class: "muted small" }, decision.rule ? t("event.suggestion_rule", { rule: decision.rule_name || decision.rule }) : t("event.suggestion_fallback")),
    el("button", { type: "button", class: "btn primary", id: "dispatch-suggested", onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        await post(`${base}/auto-dispatch`, { expected_version: e.version });
        toast(t("common.done"));
        reload();
      } catch (err) { toast(errorText(err), "error"); ev.target.disabled = false; }
    } }, t("event.dispatch_suggested")));
  } else if (decision) {
    box.append(el("p", { class: "muted" }, t("event.suggestion_none")));
  }
  const units = await get("/api/units").catch(() => []);
  const listId = "unit-codes";
  box.append(el("datalist", { id: listId }, units.map((u) => el("option", { value: u.code }, u.name))));
  box.append(actionForm(t("event.override"), [
    { name: "units", label: t("event.override_units"), required: true, list: listId },
    { name: "reason", label: t("event.override_reason"), type: "textarea", required: true },
    { name: "replace", label: t("event.override_replace"), type: "checkbox" }],
  async (f) => {
    const codes = f.units.value.split(/[,，\s]+/).filter(Boolean);
    await post(`${base}/override`, {
      units: codes.map((code, i) => ({ unit_code: code, role: i === 0 ? "lead" : "assist" })),
      reason: f.reason.value.trim(), replace: f.replace.checked, expected_version: e.version,
    });
    toast(t("common.done"));
    reload();
  }, { cls: "ghost" }));
  return box;
}

async function renderActions(e) {
  const box = clear(document.getElementById("ev-actions"));
  const acts = new Set(e.allowed_actions);
  const withVersion = (body) => ({ ...body, expected_version: e.version });
  const act = (path, body) => async () => { await post(`${base}/${path}`, withVersion(body)); toast(t("common.done")); reload(); };
  if (can(who, "event.dispatch")) {
    if (acts.has("dispatch") && e.state === "registered") box.append(await dispatchPanel(e));
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
  }
  if (can(who, "event.dispatch")) await coordinationActions(e, box, acts);
  if (can(who, "event.urge")) {
    const open = e.tasks.filter((k) => RUNNING.has(k.state) && k.role !== "notify");
    if (open.length) box.append(urgeForm(e, open));
  }
  if (can(who, "event.verify")) {
    if (acts.has("verify")) {
      box.append(actionForm(t("event.verify_pass"), [{ name: "photos", label: t("verify.photo"), type: "file" }],
        async (f) => { await uploadPhotos(number, null, f.photos); await act("verify", { passed: true })(); }));
      box.append(actionForm(t("event.verify_fail"), [{ name: "reason", label: t("verify.fail_reason"), type: "textarea", required: true }],
        (f) => act("verify", { passed: false, reason: f.reason.value.trim() })(), { cls: "warn" }));
    }
    if (acts.has("close")) box.append(el("button", { type: "button", class: "btn primary", onclick: () => act("close", {})().catch((err) => toast(errorText(err), "error")) }, t("event.close")));
    if (acts.has("callback_satisfied")) {
      box.append(el("button", { type: "button", class: "btn", onclick: () => act("callback", { satisfied: true })().catch((err) => toast(errorText(err), "error")) }, `${t("event.callback")}：${t("event.callback_satisfied")}`));
      box.append(actionForm(`${t("event.callback")}：${t("event.callback_dissatisfied")}`, [{ name: "comment", label: t("common.reason"), type: "textarea", required: true }],
        (f) => act("callback", { satisfied: false, comment: f.comment.value.trim() })(), { cls: "warn" }));
    }
  }
  if (notice) box.prepend(el("p", { class: "notice", role: "status", id: "ev-notice" }, notice));
  if (!box.children.length) box.append(el("p", { class: "muted" }, t("common.none")));
}

// --- 督办: a leader's instruction and a new deadline for the open tasks (all, or the ones ticked) ----
function urgeForm(e, open) {
  const form = actionForm(t("work.urge"), [
    { name: "instruction", label: t("work.urge_instruction"), type: "textarea", required: true },
    { name: "due", label: t("work.urge_due"), type: "datetime", required: true }],
  async (f) => {
    const ids = [...f.querySelectorAll("input[name=urge_task]:checked")].map((x) => Number(x.value));
    if (!ids.length) throw new Error(t("work.urge_tasks"));
    await post(`${base}/urge`, { instruction: f.instruction.value.trim(), due_at: localInputToIso(f.due.value),
      task_ids: ids.length === open.length ? null : ids });
    toast(t("common.done"));
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

async function coordinationActions(e, box, acts) {
  const open = ["registered", "dispatched", "handling"].includes(e.state);
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
  if (!open) return;
  // centres and departments only: a district has thousands of grid units, none of them a target here
  units = units || (await Promise.all(["centre", "department"].map((k) => get(`/api/units?kind=${k}`).catch(() => [])))).flat();
  // 纵向交办: only to a centre below mine whose area holds the event
  const myRank = myUnit ? LEVELS.indexOf(myUnit.level) : -1;
  const lower = units.filter((u) => u.kind === "centre" && LEVELS.indexOf(u.level) > myRank && e.area_chain.includes(u.area_code));
  if (lower.length) {
    box.append(actionForm(t("work.push_down"), [
      { name: "centre", label: t("work.push_down_centre"), type: "select", required: true,
        options: [["", t("work.choose")], ...lower.map((u) => [u.code, u.name])] },
      { name: "instruction", label: t("work.instruction"), type: "textarea" }],
    async (f) => {
      await post(`${base}/push-down`, { centre_code: f.centre.value, instruction: f.instruction.value.trim() || null,
        expected_version: e.version });
      toast(t("common.done")); reload();
    }, { cls: "ghost" }));
  }
  // 横向分拨: departments only (their duties are never pushed down to grassroots units)
  const departments = units.filter((u) => u.kind === "department");
  if (departments.length) {
    box.append(actionForm(t("work.hand_sideways"), [
      { name: "unit", label: t("work.department"), type: "select", required: true,
        options: [["", t("work.choose")], ...departments.map((u) => [u.code, u.name])] },
      { name: "role", label: t("work.role"), type: "select", options: [["lead", t("task_role.lead")], ["assist", t("task_role.assist")]] },
      { name: "reason", label: t("common.reason"), type: "textarea" }],
    async (f) => {
      await post(`${base}/hand-sideways`, { units: [{ unit_code: f.unit.value, role: f.role.value }],
        reason: f.reason.value.trim() || null, expected_version: e.version });
      toast(t("common.done")); reload();
    }, { cls: "ghost" }));
  }
  // 上报: a centre with a centre above it hands the event up
  if (myUnit && myUnit.kind === "centre" && myUnit.parent_code) {
    box.append(actionForm(t("work.escalate_event"), [{ name: "reason", label: t("work.escalate_reason"), type: "textarea", required: true }],
      async (f) => {
        await post(`${base}/escalate`, { reason: f.reason.value.trim(), expected_version: e.version });
        toast(t("common.done")); reload();
      }, { cls: "warn" }));
  }
}

const LIVE = new Set(["dispatched", "accepted", "extension_requested", "suspended", "reported_back"]);
const leadUnits = (ev) => ev.tasks.filter((k) => k.role === "lead" && LIVE.has(k.state)).map((k) => k.unit_name);

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
  await Promise.all([renderActions(e), renderAttachments(), renderTimeline(), drawMap(e).catch(() => {}),
    renderEventNotices(number, document.getElementById("ev-notices"))]);
  document.body.dataset.ready = "1";
  document.body.dataset.state = e.state;
}

(async () => {
  who = await shell();
  if (who.unitCode) myUnit = await get(`/api/units/${encodeURIComponent(who.unitCode)}`).catch(() => null);
  await reload();
})();
