// 预案模板编辑: the template library with a form to create a template or change one (a new version
// is kept each time). Fields the form does not show (checklists, order, the run's event) are kept as
// they were; the API's problems appear at the field they name, in Chinese (config_errors.js).
import { can, clear, el, get, post, shell, t, toast } from "./core.js";
import { clearErrors, field, problems, showErrors, slot } from "./config_errors.js";

let who = null;
let editing = null; // the document being edited (null: a new template)
const $ = (id) => document.getElementById(id);
const csv = (s) => String(s || "").split(/[,，、\s]+/).map((x) => x.trim()).filter(Boolean);
const LEVELS = { warning: ["blue", "yellow", "orange", "red"], event_class: ["normal", "urgent", "critical"] };
const ROLES = ["town_centre", "district_centre", "village_units", "grid_units"];

async function loadList() {
  const body = clear($("pe-body"));
  const list = await get("/api/plans");
  if (!list.length) body.append(el("tr", {}, el("td", { colspan: 5 }, t("common.empty"))));
  for (const p of list) {
    body.append(el("tr", { "data-plan": p.code },
      el("td", { class: "mono" }, p.code), el("th", { scope: "row" }, p.name), el("td", {}, `v${p.version}`),
      el("td", {}, (p.document.tasks || []).length),
      el("td", {}, can(who, "plan.write") ? el("button", { type: "button", class: "btn small", "aria-label": `${t("cfg.edit")} ${p.name}`,
        onclick: () => edit(p.document) }, t("cfg.edit")) : null)));
  }
  document.body.dataset.ready = "1";
}

function levelOptions(kind) {
  return (LEVELS[kind] || []).map((v) => [v, t(kind === "warning" ? `warning_level.${v}` : `urgency.${v}`)]);
}

function taskRow(task, i) {
  const row = el("fieldset", { class: "cfg-row pe-task", "data-index": String(i) },
    el("legend", {}, t("cfg.plan.task_n", { n: i + 1 })),
    field(t("cfg.plan.task_key"), "key", `$.tasks[${i}].key`, { value: task.key || "" }),
    field(t("cfg.plan.task_title"), "title", `$.tasks[${i}].title`, { value: task.title || "" }),
    field(t("cfg.plan.task_role"), "role", `$.tasks[${i}].role`, { value: task.role || "", attrs: { list: "pe-roles" } }),
    field(t("cfg.plan.task_part"), "part", `$.tasks[${i}].part`, { value: task.part || "lead",
      options: [["lead", t("plans.part.lead")], ["assist", t("plans.part.assist")]] }),
    field(t("cfg.plan.task_deadline"), "deadline", `$.tasks[${i}].deadline`, { value: task.deadline || "" }),
    field(t("cfg.plan.task_after"), "after", `$.tasks[${i}].after`, { value: (task.after || []).join(", ") }),
    field(t("cfg.plan.task_instruction"), "instruction", `$.tasks[${i}].instruction`, { value: task.instruction || "", type: "textarea" }),
    slot(`$.tasks[${i}]`),
    el("button", { type: "button", class: "btn ghost small", onclick: () => { row.remove(); renumber(); } }, t("cfg.remove")));
  row._original = task;
  return row;
}

// Rows keep their order on the page; their paths follow it, so the API's $.tasks[i] finds its row.
function renumber() {
  [...document.querySelectorAll("#pe-tasks .pe-task")].forEach((row, i) => {
    row.dataset.index = String(i);
    row.querySelector("legend").textContent = t("cfg.plan.task_n", { n: i + 1 });
    for (const s of row.querySelectorAll("[data-error-for]")) {
      s.dataset.errorFor = s.dataset.errorFor.replace(/^\$\.tasks\[\d+\]/, `$.tasks[${i}]`);
    }
  });
}

function edit(doc) {
  editing = doc ? structuredClone(doc) : null;
  const d = editing || { trigger: { kind: "manual" }, confirmation: "propose", tasks: [{ part: "lead" }] };
  const tr = d.trigger || { kind: "manual" };
  const form = clear($("pe-form"));
  $("pe-edit").hidden = false;
  $("pe-edit-h").textContent = doc ? t("cfg.plan.edit_h", { name: doc.name }) : t("cfg.plan.new_h");
  const kind = field(t("cfg.plan.trigger_kind"), "trigger_kind", "$.trigger.kind", { value: tr.kind,
    options: ["manual", "warning", "event_class"].map((k) => [k, t(`cfg.plan.trigger.${k}`)]) });
  const level = field(t("cfg.plan.at_least"), "at_least", "$.trigger.at_least", { value: tr.at_least || "",
    options: levelOptions(tr.kind) });
  const codes = field(t("cfg.plan.trigger_codes"), "trigger_codes", "$.trigger.classes",
    { value: (tr.indicators || tr.classes || []).join(", ") });
  codes.append(slot("$.trigger.indicators"));
  const showTrigger = () => {
    const k = form.elements.namedItem("trigger_kind").value;
    codes.hidden = level.hidden = k === "manual";
    const sel = form.elements.namedItem("at_least");
    const keep = sel.value;
    clear(sel).append(...levelOptions(k).map(([v, text]) => el("option", { value: v, selected: v === keep }, text)));
  };
  kind.querySelector("select").addEventListener("change", showTrigger);
  form.append(
    field(t("cfg.plan.code"), "code", "$.code", { value: d.code || "", attrs: doc ? { readonly: true } : {} }),
    field(t("cfg.plan.name"), "name", "$.name", { value: d.name || "" }),
    field(t("cfg.plan.description"), "description", "$.description", { value: d.description || "", type: "textarea" }),
    kind, codes, level,
    field(t("cfg.plan.confirmation"), "confirmation", "$.confirmation", { value: d.confirmation || "propose",
      options: [["propose", t("plans.confirmation.propose")], ["auto", t("plans.confirmation.auto")]] }),
    field(t("cfg.plan.accept_within"), "accept_within", "$.accept_within", { value: d.accept_within || "" }),
    el("h3", {}, t("cfg.plan.tasks")), slot("$.tasks"),
    el("div", { id: "pe-tasks" }, (d.tasks || []).map(taskRow)),
    el("datalist", { id: "pe-roles" }, ROLES.map((r) => el("option", { value: r }, t(`plans.role.${r}`)))),
    el("p", {}, el("button", { type: "button", class: "btn ghost", id: "pe-add-task", onclick: () => {
      $("pe-tasks").append(taskRow({ part: "lead" }, document.querySelectorAll("#pe-tasks .pe-task").length));
    } }, t("cfg.plan.add_task"))),
    slot(""), slot("$"),
    el("p", { class: "cfg-actions" }, el("button", { type: "submit", class: "btn primary" }, t("cfg.save")),
      el("button", { type: "button", class: "btn ghost", onclick: () => { $("pe-edit").hidden = true; } }, t("cfg.cancel"))));
  showTrigger();
  $("pe-edit").scrollIntoView({ block: "start" });
}

function documentOf(form) {
  const doc = editing ? structuredClone(editing) : {};
  const item = (name) => form.elements.namedItem(name);
  const text = (name) => item(name).value.trim();
  const put = (obj, key, value) => { if (value === "" || value === undefined) delete obj[key]; else obj[key] = value; };
  doc.code = text("code");
  doc.name = text("name");
  put(doc, "description", text("description"));
  const kind = text("trigger_kind");
  doc.trigger = kind === "manual" ? { kind } : { kind, [kind === "warning" ? "indicators" : "classes"]: csv(text("trigger_codes")),
    at_least: text("at_least") };
  doc.confirmation = text("confirmation");
  put(doc, "accept_within", text("accept_within"));
  doc.tasks = [...form.querySelectorAll(".pe-task")].map((row) => {
    const task = structuredClone(row._original || {});
    const v = (n) => row.querySelector(`[name=${n}]`).value.trim();
    task.key = v("key");
    task.title = v("title");
    task.role = v("role");
    task.part = v("part");
    task.deadline = v("deadline");
    const after = csv(v("after"));
    if (after.length) task.after = after; else delete task.after;
    put(task, "instruction", v("instruction"));
    return task;
  });
  return doc;
}

async function save(ev) {
  ev.preventDefault();
  const form = $("pe-form");
  clearErrors(form);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const saved = await post("/api/plans", documentOf(form));
    toast(t("cfg.plan.saved", { name: saved.name, version: saved.version }));
    editing = saved.document;
    $("pe-edit-h").textContent = t("cfg.plan.edit_h", { name: saved.name });
    form.elements.namedItem("code").readOnly = true;
    await loadList();
  } catch (e) {
    showErrors(form, problems(e));
    toast(t("cfg.not_saved"), "error");
  } finally { button.disabled = false; }
}

(async () => {
  who = await shell();
  $("pe-new").hidden = !can(who, "plan.write");
  $("pe-new").addEventListener("click", () => edit(null));
  $("pe-form").addEventListener("submit", save);
  await loadList();
  const code = new URLSearchParams(location.search).get("code");
  if (code && can(who, "plan.write")) edit((await get(`/api/plans/${encodeURIComponent(code)}`)).document);
})();
