// One event: facts, map, tasks and their clocks, attachments, timeline, and the actions allowed now.
import { ApiError, actionLabel, badge, can, clear, clockOf, el, empty, errorText, fmtTime, get, post, shell, stateLabel,
  t, toast } from "./core.js";
import { actionForm, taskActions, uploadPhotos } from "./forms.js";

/* global echarts */
const number = document.getElementById("event-root").dataset.number;
const base = `/api/events/${encodeURIComponent(number)}`;
let who = null;

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
      mine && can(who, "task.handle") ? taskActions(number, task, e.version, reload) : null));
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
  if (!box.children.length) box.append(el("p", { class: "muted" }, t("common.none")));
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
  await Promise.all([renderActions(e), renderAttachments(), renderTimeline(), drawMap(e).catch(() => {})]);
  document.body.dataset.ready = "1";
  document.body.dataset.state = e.state;
}

(async () => {
  who = await shell();
  await reload();
})();
