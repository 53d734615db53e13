// Small forms for the loop's actions (reason, units, photos), shared by the event page and the workbenches.
import { api, el, errorText, fmtTime, post, t, toast } from "./core.js";

let seq = 0;

// A collapsible form: <details><summary>label</summary><form>fields… submit</form></details>.
// fields: [{name, label, type: "text"|"textarea"|"datetime"|"file"|"checkbox", required}]
export function actionForm(label, fields, onSubmit, { cls = "", open = false, submitLabel } = {}) {
  const form = el("form", { class: "action-form" });
  for (const f of fields) {
    const id = `f${++seq}`;
    let input;
    if (f.type === "textarea") input = el("textarea", { id, name: f.name, rows: 3, maxlength: 2000, required: f.required });
    else if (f.type === "file") input = el("input", { id, name: f.name, type: "file", accept: "image/jpeg,image/png,image/webp", multiple: true, capture: "environment" });
    else if (f.type === "datetime") input = el("input", { id, name: f.name, type: "datetime-local", required: f.required, value: f.value });
    else if (f.type === "select") {
      input = el("select", { id, name: f.name, required: f.required },
        (f.options || []).map(([v, label]) => el("option", { value: v, selected: v === f.value }, label)));
    }
    else if (f.type === "checkbox") input = el("input", { id, name: f.name, type: "checkbox" });
    else input = el("input", { id, name: f.name, type: "text", required: f.required, maxlength: 200, value: f.value, list: f.list });
    form.append(f.type === "checkbox" ? el("label", { for: id, class: "check" }, input, ` ${f.label}`)
      : el("label", { for: id }, f.label), f.type === "checkbox" ? "" : input);
  }
  const error = el("p", { class: "error", role: "alert" });
  const submit = el("button", { type: "submit", class: `btn ${cls || "primary"}` }, submitLabel || label);
  form.append(error, submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    for (const f of fields) {
      const v = form.elements[f.name];
      if (f.required && v && !String(v.value).trim()) {
        error.textContent = f.type === "textarea" && f.name === "reason" ? t("common.reason_required")
          : t("error.with_field", { field: f.label, text: t("error.missing") });
        v.focus();
        return;
      }
    }
    submit.disabled = true;
    try {
      await onSubmit(form);
    } catch (e) {
      error.textContent = errorText(e);
    } finally {
      submit.disabled = false;
    }
  });
  return el("details", { class: `action ${cls}`, open }, el("summary", { class: `btn ${cls}` }, label), form);
}

// Upload the photos picked in ``input`` to the event (and task), one request per file.
export async function uploadPhotos(number, taskId, input) {
  const files = input && input.files ? [...input.files] : [];
  if (files.length) toast(t("tasks.uploading"));
  for (const file of files) {
    const fd = new FormData();
    fd.append("file", file, file.name);
    const q = taskId ? `?task_id=${encodeURIComponent(taskId)}` : "";
    await api("POST", `/api/events/${encodeURIComponent(number)}/attachments${q}`, undefined, { form: fd });
  }
  return files.length;
}

// A datetime-local value is Shanghai wall time; the API wants a zone.
export const localInputToIso = (v) => (v ? `${v}:00+08:00` : null);

// The handler's actions on one task: accept, return, ask for extension, report back with photos.
export function taskActions(number, task, eventVersion, done) {
  const path = `/api/events/${encodeURIComponent(number)}/tasks/${task.id}`;
  const box = el("div", { class: "task-actions" });
  const acts = new Set(task.allowed_actions);
  if (acts.has("accept")) {
    box.append(el("button", { type: "button", class: "btn primary", onclick: async (ev) => {
      ev.target.disabled = true;
      try { await post(`${path}/accept`, {}); toast(t("common.done")); done(); } catch (e) { toast(errorText(e), "error"); ev.target.disabled = false; }
    } }, t("tasks.accept")));
  }
  if (acts.has("return")) {
    box.append(actionForm(t("tasks.return"), [{ name: "reason", label: t("tasks.return_reason"), type: "textarea", required: true }],
      async (f) => { await post(`${path}/return`, { reason: f.reason.value.trim() }); toast(t("common.done")); done(); }, { cls: "warn" }));
  }
  if (acts.has("request_extension")) {
    box.append(actionForm(t("tasks.extension"), [
      { name: "until", label: t("tasks.extension_until"), type: "datetime", required: true },
      { name: "reason", label: t("tasks.extension_reason"), type: "textarea", required: true }],
    async (f) => {
      await post(`${path}/extension`, { until: localInputToIso(f.until.value), reason: f.reason.value.trim() });
      toast(t("common.done")); done();
    }, { cls: "ghost" }));
  }
  if (acts.has("escalate")) {
    // 超出本单位能力: the task rises, with the reason, to the centre one level up
    box.append(actionForm(t("work.escalate_task"), [{ name: "reason", label: t("work.escalate_reason"), type: "textarea", required: true }],
      async (f) => { await post(`${path}/escalate`, { reason: f.reason.value.trim() }); toast(t("common.done")); done(); }, { cls: "warn" }));
  }
  if (acts.has("report_back")) {
    box.append(actionForm(t("tasks.report_back"), [
      { name: "result", label: t("tasks.result"), type: "textarea", required: true },
      { name: "photos", label: t("tasks.photos"), type: "file" }],
    async (f) => {
      await uploadPhotos(number, task.id, f.photos);
      await post(`${path}/report-back`, { result: f.result.value.trim() });
      toast(t("common.done")); done();
    }));
  }
  return box;
}

// Shanghai wall time of an ISO instant, as a datetime-local value (yyyy-mm-ddThh:mm).
export function isoToLocalInput(iso) {
  if (!iso) return "";
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false }).formatToParts(new Date(iso));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour === "24" ? "00" : p.hour}:${p.minute}`;
}

// The dispatching centre's decisions on one task (task.decide): an extension request approved with a
// date (the one asked for, or another) or denied with a reason; suspend (the clock stops) and resume.
export function decideActions(number, task, done) {
  const path = `/api/events/${encodeURIComponent(number)}/tasks/${task.id}`;
  const box = el("div", { class: "task-actions decide-actions" });
  const acts = new Set(task.allowed_actions);
  const version = task.version ?? task.task_version;
  if (acts.has("approve_extension")) {
    if (task.extension_requested_until) {
      box.append(el("p", { class: "ext-request", role: "note" }, t("work.extension_requested", { until: fmtTime(task.extension_requested_until) }),
        task.extension_reason ? el("span", { class: "muted" }, `（${task.extension_reason}）`) : null));
    }
    box.append(actionForm(t("work.approve_extension"), [
      { name: "until", label: t("work.approve_until"), type: "datetime", required: true, value: isoToLocalInput(task.extension_requested_until) },
      { name: "reason", label: t("common.reason"), type: "textarea" }],
    async (f) => {
      await post(`${path}/extension/decision`, { approve: true, until: localInputToIso(f.until.value),
        reason: f.reason.value.trim() || null, expected_version: version });
      toast(t("common.done")); done();
    }));
  }
  if (acts.has("deny_extension")) {
    box.append(actionForm(t("work.deny_extension"), [{ name: "reason", label: t("work.deny_reason"), type: "textarea", required: true }],
      async (f) => {
        await post(`${path}/extension/decision`, { approve: false, reason: f.reason.value.trim(), expected_version: version });
        toast(t("common.done")); done();
      }, { cls: "warn" }));
  }
  if (acts.has("suspend")) {
    box.append(actionForm(t("work.suspend"), [{ name: "reason", label: t("work.suspend_reason"), type: "textarea", required: true }],
      async (f) => { await post(`${path}/suspend`, { reason: f.reason.value.trim(), expected_version: version }); toast(t("common.done")); done(); },
      { cls: "ghost" }));
  }
  if (acts.has("resume")) {
    box.append(el("button", { type: "button", class: "btn", onclick: async (ev) => {
      ev.target.disabled = true;
      try { await post(`${path}/resume`, { expected_version: version }); toast(t("common.done")); done(); } catch (e) { toast(errorText(e), "error"); ev.target.disabled = false; }
    } }, t("work.resume")));
  }
  return box.children.length ? box : null;
}
