// The workbench: my unit's open tasks (handlers), nearest deadline first, with their actions; and, for
// the dispatching centre (task.decide), the extension requests waiting for its decision.
import { badge, can, clear, clockOf, el, empty, errorText, fmtTime, get, shell, t, toast } from "./core.js";
import { decideActions, taskActions } from "./forms.js";

// Actions reload the list; two reloads can overlap (accept, then report back at once). Only the latest
// one draws, and it clears the list only once its answer is in, so an older answer never brings back
// a card that a newer one removed.
let loadSeq = 0;
let decisionsSeq = 0;

async function load() {
  const seq = ++loadSeq;
  let tasks;
  try { tasks = await get("/api/my/tasks"); } catch (e) {
    if (seq === loadSeq) clear(document.getElementById("tasks")).append(el("p", { class: "error" }, errorText(e)));
    return;
  }
  if (seq !== loadSeq) return;
  const box = clear(document.getElementById("tasks"));
  if (!tasks.length) box.append(empty(t("tasks.empty")));
  for (const k of tasks) {
    const task = { id: k.task_id, state: k.task_state, allowed_actions: k.allowed_actions };
    box.append(el("article", { class: `card task state-${k.task_state}`, "data-number": k.number },
      el("header", { class: "card-head" },
        el("a", { href: `/events/${encodeURIComponent(k.number)}`, class: "card-title" }, k.title),
        badge(t(`task_state.${k.task_state}`), `task-${k.task_state}`), badge(t(`urgency.${k.urgency}`), `urgency-${k.urgency}`)),
      el("p", { class: "muted small" }, [k.number, k.class_name, k.address].filter(Boolean).join(" · ")),
      k.instruction ? el("p", {}, `${t("event.instruction")}：`, k.instruction) : null,
      el("p", {}, `${t("tasks.due")}：`, k.task_state === "reported_back" ? fmtTime(k.handle_due_at) : clockOf(k.handle_due_at)),
      taskActions(k.number, task, null, () => { toast(t("common.done")); load(); })));
  }
}

async function loadDecisions() {
  document.getElementById("decisions-panel").hidden = false;
  const seq = ++decisionsSeq;
  let items;
  try { items = await get("/api/my/decisions"); } catch (e) {
    if (seq === decisionsSeq) clear(document.getElementById("decisions")).append(el("p", { class: "error" }, errorText(e)));
    return;
  }
  if (seq !== decisionsSeq) return;
  const box = clear(document.getElementById("decisions"));
  if (!items.length) box.append(empty(t("work.pending_empty")));
  for (const k of items) {
    const task = { id: k.task_id, state: k.task_state, version: k.task_version, allowed_actions: ["approve_extension", "deny_extension"],
      extension_requested_until: k.extension_requested_until, extension_reason: k.reason };
    box.append(el("article", { class: "card task decision", "data-number": k.number, "data-task": k.task_id },
      el("header", { class: "card-head" },
        el("a", { href: `/events/${encodeURIComponent(k.number)}`, class: "card-title" }, k.title),
        badge(k.unit_name), badge(t(`urgency.${k.urgency}`), `urgency-${k.urgency}`)),
      el("p", { class: "muted small" }, [k.number, k.class_name].filter(Boolean).join(" · ")),
      el("p", {}, `${t("tasks.due")}：`, clockOf(k.handle_due_at)),
      decideActions(k.number, task, () => { loadDecisions(); })));
  }
}

(async () => {
  const who = await shell();
  const work = [];
  if (can(who, "task.decide")) work.push(loadDecisions());
  if (can(who, "task.handle")) work.push(load());
  else document.getElementById("tasks").closest("section").hidden = true;
  await Promise.all(work);
  document.body.dataset.ready = "1";
})();
