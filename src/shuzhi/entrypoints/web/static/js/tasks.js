// The handler's workbench: open tasks of my unit, nearest deadline first, with their actions.
import { badge, clear, clockOf, el, empty, errorText, fmtTime, get, shell, t, toast } from "./core.js";
import { taskActions } from "./forms.js";

async function load() {
  const box = clear(document.getElementById("tasks"));
  let tasks;
  try { tasks = await get("/api/my/tasks"); } catch (e) { box.append(el("p", { class: "error" }, errorText(e))); return; }
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
  document.body.dataset.ready = "1";
}


(async () => { await shell(); await load(); })();
