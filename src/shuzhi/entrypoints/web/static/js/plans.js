// Plans (预案): the template library with each template's detail, one-click activation for chosen
// areas (with a confirmation), running and past runs, and the run board with stand-down and review.
import { ApiError, badge, can, clear, duration, el, errorText, fmtTime, get, post, shell, t, toast } from "./core.js";
import { actionForm } from "./forms.js";

let who = null;
let templates = [];
let boardTimer = null;
const params = new URLSearchParams(location.search);

function triggerText(doc) {
  const tr = doc.trigger || { kind: "manual" };
  if (tr.kind === "warning") {
    return t("plans.trigger.warning", { what: (tr.indicators || []).join("、"), level: t(`warning_level.${tr.at_least}`) });
  }
  if (tr.kind === "event_class") {
    return t("plans.trigger.event_class", { what: (tr.classes || []).join("、"), level: t(`urgency.${tr.at_least || "normal"}`) });
  }
  return t("plans.trigger.manual");
}

function roleText(role) {
  if (String(role).startsWith("unit:")) return role.slice(5);
  return t(`plans.role.${role}`) === `plans.role.${role}` ? role : t(`plans.role.${role}`);
}

// --- templates ----------------------------------------------------------------------------------
async function loadTemplates() {
  const body = clear(document.getElementById("templates-body"));
  try { templates = await get("/api/plans"); } catch (e) { body.append(el("tr", {}, el("td", { colspan: 7 }, errorText(e)))); return; }
  if (!templates.length) body.append(el("tr", {}, el("td", { colspan: 7 }, t("common.empty"))));
  for (const p of templates) {
    body.append(el("tr", { "data-plan": p.code },
      el("td", { class: "mono" }, p.code), el("th", { scope: "row" }, p.name), el("td", {}, `v${p.version}`),
      el("td", {}, triggerText(p.document), el("br"), el("span", { class: "muted small" }, t(`plans.confirmation.${p.document.confirmation || "propose"}`))),
      el("td", {}, (p.document.tasks || []).length), el("td", {}, p.enabled ? t("common.yes") : t("common.no")),
      el("td", {}, el("button", { type: "button", class: "btn small", "aria-label": `${t("common.view")} ${p.name}`,
        onclick: () => showTemplate(p.code) }, t("common.view")))));
  }
}

async function showTemplate(code) {
  const p = templates.find((x) => x.code === code) || await get(`/api/plans/${encodeURIComponent(code)}`);
  const panel = document.getElementById("detail");
  panel.hidden = false;
  document.getElementById("detail-h").textContent = `${t("plans.detail")}：${p.name}（v${p.version}）`;
  const box = clear(document.getElementById("detail-body"));
  const doc = p.document;
  box.append(el("dl", { class: "kv" },
    el("dt", {}, t("plans.code")), el("dd", { class: "mono" }, p.code),
    el("dt", {}, t("plans.trigger")), el("dd", {}, triggerText(doc), ` · ${t(`plans.confirmation.${doc.confirmation || "propose"}`)}`),
    doc.description ? [el("dt", {}, t("plans.description")), el("dd", { class: "pre" }, doc.description)] : null));
  const tasks = [...(doc.tasks || [])].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  box.append(el("div", { class: "table-wrap" }, el("table", { class: "grid-table" },
    el("caption", { class: "sr-only" }, t("plans.detail")),
    el("thead", {}, el("tr", {}, ["plans.task_key", "plans.task_role", "plans.task_deadline", "plans.task_after", "plans.task_checklist"]
      .map((k) => el("th", { scope: "col" }, t(k))))),
    el("tbody", {}, tasks.map((k) => el("tr", {},
      el("td", {}, el("strong", {}, k.title), el("br"), el("span", { class: "muted small" }, k.instruction || "")),
      el("td", {}, roleText(k.role), " ", badge(t(`plans.part.${k.part || "lead"}`))),
      el("td", {}, k.deadline), el("td", {}, (k.after || []).join("、") || t("common.none")),
      el("td", {}, (k.checklist || []).join("；") || t("common.none"))))))));
  if (can(who, "plan.activate") && p.enabled) box.append(await activationForm(p));
  panel.scrollIntoView({ block: "start" });
}

// One click (一键启动), but never by accident: the areas are chosen and the start is confirmed.
async function activationForm(p) {
  const towns = await get("/api/areas?level=town").catch(() => []);
  const districts = await get("/api/areas?level=district").catch(() => []);
  const inScope = (a) => !who.scopeCodes || who.scopeCodes.some((c) => a.path.includes(c));
  const choices = [...districts, ...towns].filter(inScope);
  const form = actionForm(t("plans.activate"), [
    { name: "title", label: t("plans.activate_title") },
    { name: "reason", label: t("plans.activate_reason"), type: "textarea" }],
  async (f) => {
    const codes = [...f.querySelectorAll("input[name=area]:checked")].map((x) => x.value);
    if (!codes.length) throw new Error(t("plans.areas_required"));
    if (!window.confirm(t("plans.activate_confirm", { name: p.name, n: codes.length }))) return;
    const done = await post(`/api/plans/${encodeURIComponent(p.code)}/activate`, {
      area_codes: codes, title: f.title.value.trim() || null, reason: f.reason.value.trim() || null });
    toast(t("plans.activated", done));
    await loadRuns();
    await showBoard(done.run_id);
  }, { cls: "primary", open: true });
  const fs = el("fieldset", { class: "area-choice" }, el("legend", {}, t("plans.areas")),
    choices.map((a) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "area", value: a.code }),
      ` ${a.name}`, el("span", { class: "muted small" }, ` ${t(`level.${a.level}`)}`))));
  const f = form.querySelector("form");
  f.prepend(fs);
  return form;
}

// --- runs ---------------------------------------------------------------------------------------
function runItem(r) {
  return el("li", { "data-run": r.id },
    el("button", { type: "button", class: "run-link", onclick: () => showBoard(r.id) },
      el("strong", {}, r.template_name), " ", badge(t(`plans.run_state.${r.state}`), `run-${r.state}`)),
    el("span", { class: "muted small" }, ` ${r.event_number || ""} · ${fmtTime(r.started_at || r.ended_at)}`));
}

async function loadRuns() {
  const active = clear(document.getElementById("runs-active"));
  const past = clear(document.getElementById("runs-past"));
  let runs = [];
  try { runs = await get("/api/plan-runs?limit=100"); } catch (e) { active.append(el("li", { class: "error" }, errorText(e))); return; }
  const running = runs.filter((r) => r.state === "active" || r.state === "proposed");
  const done = runs.filter((r) => !(r.state === "active" || r.state === "proposed"));
  if (!running.length) active.append(el("li", { class: "muted" }, t("common.empty")));
  if (!done.length) past.append(el("li", { class: "muted" }, t("common.empty")));
  running.forEach((r) => active.append(runItem(r)));
  done.forEach((r) => past.append(runItem(r)));
}

// --- the run board ------------------------------------------------------------------------------
function timeLeft(k) {
  if (k.seconds_left === null || k.seconds_left === undefined || ["reported_back", "verified", "cancelled", "waiting"].includes(k.state)) {
    return el("span", { class: "muted" }, t("common.none"));
  }
  const ms = k.seconds_left * 1000;
  return el("span", { class: ms < 0 ? "clock-overdue" : ms < 4 * 3600e3 ? "clock-soon" : "clock-ok", title: fmtTime(k.handle_due_at) },
    ms < 0 ? t("event.overdue_by", { t: duration(ms) }) : t("event.remaining", { t: duration(ms) }));
}

function stateOf(k) {
  if (k.state === "waiting") return badge(t("plans.waiting"), "task-waiting");
  return badge(t(`task_state.${k.state}`), `task-${k.state}`);
}

let boardFilter = "all";

// One row of the board's table.
function boardRow(k, areaNames) {
  return el("tr", { class: k.overdue ? "overdue" : "", "data-step": k.step_id, "data-state": k.state },
    el("td", {}, el("strong", {}, k.title), " ", badge(t(`plans.part.${k.part || "lead"}`))),
    el("td", {}, k.unit_name), el("td", {}, t(`level.${k.unit_level}`)), el("td", {}, k.area_code ? areaNames[k.area_code] || k.area_code : t("common.none")),
    el("td", {}, stateOf(k)), el("td", {}, timeLeft(k)));
}

// The server filters and pages the board (a city-wide run has thousands of tasks): "more" asks for the next page.
function boardUrl(id, offset) {
  return `/api/plan-runs/${id}?show=${encodeURIComponent(boardFilter)}&offset=${offset}`;
}

async function showBoard(id) {
  clearTimeout(boardTimer);
  const box = clear(document.getElementById("board-body"));
  let b;
  try { b = await get(boardUrl(id, 0)); } catch (e) {
    box.append(el("p", { class: "error" }, e instanceof ApiError && e.status === 404 ? t("common.empty") : errorText(e)));
    return;
  }
  history.replaceState(null, "", `/plans?run=${b.id}`);
  document.getElementById("board-h").textContent = `${t("plans.board")}：${b.template_name}`;
  const c = b.counts || {};
  const areaNames = Object.fromEntries(b.affected_areas.map((a) => [a.code, a.name]));
  box.dataset.run = b.id;
  box.dataset.state = b.state;
  box.append(el("div", { class: "badges" }, badge(t(`plans.run_state.${b.state}`), `run-${b.state}`), badge(`v${b.template_version}`),
      b.warning_level ? badge(t(`warning_level.${b.warning_level}`), `warn-${b.warning_level}`) : null),
    el("dl", { class: "kv" },
      el("dt", {}, t("plans.event")), el("dd", {}, b.event_number ? el("a", { href: `/events/${encodeURIComponent(b.event_number)}` }, b.event_number) : t("common.none")),
      el("dt", {}, t("plans.areas")), el("dd", { id: "board-areas" }, b.affected_areas.map((a) => a.name || a.code).join("、") || t("common.none")),
      el("dt", {}, t("plans.started_at")), el("dd", {}, `${fmtTime(b.started_at)}${b.started_by ? ` · ${b.started_by}` : ""}`),
      b.ended_at ? [el("dt", {}, t("plans.ended_at")), el("dd", {}, fmtTime(b.ended_at))] : null,
      b.end_reason ? [el("dt", {}, t("common.reason")), el("dd", { class: "pre" }, b.end_reason)] : null),
    el("p", { class: "muted", id: "board-counts" }, t("plans.counts", { total: b.total_tasks, dispatched: c.dispatched ?? 0,
      done: (c.reported_back ?? 0) + (c.verified ?? 0), waiting: c.waiting ?? 0, overdue: b.overdue })));
  if (b.problems && b.problems.length) {
    box.append(el("details", { class: "problems" }, el("summary", {}, `${t("plans.problems")}（${b.problems.length}）`),
      el("ul", {}, b.problems.map((p) => el("li", {}, p.message || JSON.stringify(p))))));
  }
  // hundreds of tasks on a district-wide run: a filter keeps the ones that need attention in view
  const filter = el("select", { id: "board-filter" }, ["all", "open", "overdue", "waiting"].map((k) =>
    el("option", { value: k, selected: k === boardFilter }, t(`plans.filter.${k}`))));
  filter.addEventListener("change", () => { boardFilter = filter.value; showBoard(b.id); });
  box.append(el("div", { class: "board-tools" }, el("label", { class: "inline" }, t("plans.filter"), filter)));
  box.append(el("div", { class: "table-wrap board-wrap" }, el("table", { class: "grid-table", id: "board-table" },
    el("caption", { class: "sr-only" }, t("plans.board")),
    el("thead", {}, el("tr", {}, ["plans.task_key", "plans.unit", "plans.level", "plans.area", "plans.state", "plans.time_left"]
      .map((k) => el("th", { scope: "col" }, t(k))))),
    el("tbody", {}, b.tasks.map((k) => boardRow(k, areaNames))))));
  const shownNote = el("p", { class: "muted", id: "board-shown" });
  let loaded = b.tasks.length;
  const more = el("button", { type: "button", class: "btn", id: "board-more" }, t("plans.more"));
  const paged = () => {
    shownNote.textContent = t("plans.shown", { shown: loaded, matched: b.matched });
    more.hidden = loaded >= b.matched;
  };
  more.addEventListener("click", async () => {
    try {
      const next = await get(boardUrl(b.id, loaded));
      document.querySelector("#board-table tbody").append(...next.tasks.map((k) => boardRow(k, areaNames)));
      loaded += next.tasks.length;
      paged();
    } catch (e) { toast(errorText(e), "error"); }
  });
  box.append(el("div", { class: "board-tools" }, shownNote, more));
  paged();
  const actions = el("div", { class: "task-actions" });
  if (can(who, "plan.activate") && b.state === "active") {
    actions.append(actionForm(t("plans.stand_down"), [{ name: "reason", label: t("plans.stand_down_reason"), type: "textarea", required: true }],
      async (f) => {
        if (!window.confirm(t("plans.stand_down_confirm"))) return;
        await post(`/api/plan-runs/${b.id}/stand-down`, { reason: f.reason.value.trim(), expected_version: b.version });
        toast(t("common.done"));
        await loadRuns();
        await showBoard(b.id);
      }, { cls: "danger" }));
  }
  if (can(who, "plan.activate") && b.state === "proposed") {
    actions.append(el("button", { type: "button", class: "btn primary", onclick: async () => {
      try { await post(`/api/plan-runs/${b.id}/confirm`, {}); await loadRuns(); await showBoard(b.id); } catch (e) { toast(errorText(e), "error"); }
    } }, t("plans.confirm_run")));
    actions.append(el("button", { type: "button", class: "btn", onclick: async () => {
      try { await post(`/api/plan-runs/${b.id}/dismiss`, {}); await loadRuns(); await showBoard(b.id); } catch (e) { toast(errorText(e), "error"); }
    } }, t("plans.dismiss_run")));
  }
  const finished = b.state === "stood_down" || ["closed", "called_back"].includes(b.event_state);
  if (finished) {
    actions.append(el("a", { class: "btn", id: "review-html", href: `/api/plan-runs/${b.id}/review?format=html`, target: "_blank", rel: "noopener" }, t("plans.review_html")),
      el("a", { class: "btn", id: "review-docx", href: `/api/plan-runs/${b.id}/review?format=docx` }, t("plans.review_docx")));
  }
  if (actions.children.length) box.append(actions);
  if (b.state === "active") boardTimer = setTimeout(() => showBoard(b.id), 30_000);
}

(async () => {
  who = await shell();
  await Promise.all([loadTemplates(), loadRuns()]);
  if (params.get("plan")) await showTemplate(params.get("plan")).catch(() => {});
  if (params.get("run")) await showBoard(Number(params.get("run")));
  document.body.dataset.ready = "1";
})();
