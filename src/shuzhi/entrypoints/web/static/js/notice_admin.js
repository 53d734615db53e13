// 通知配置 (notice.admin): the units' WeCom / DingTalk group robots (secrets only masked), the escalation
// policies edited step by step with refusals at the field, and one person's notices in one's scope.
// Others see the policies read-only and nothing else.
import { ApiError, api, can, clear, el, fmtTime, get, post, shell, t, toast } from "./core.js";
import { clearFieldErrors, errorMessage, errorSlot, showFieldErrors } from "./field_errors.js";
import { renderNotices } from "./notice_list.js";

const OPTIONS = JSON.parse(document.getElementById("nu-options").textContent);
let seq = 0;

// --- robots ------------------------------------------------------------------------------------

function robotRow(r) {
  const toggle = el("button", { type: "button", class: `btn small ${r.enabled ? "danger" : ""}`, onclick: async () => {
    try { await api("PATCH", `/api/notice-robots/${r.id}`, { enabled: !r.enabled }); toast(t("common.done")); loadRobots(); }
    catch (e) { toast(errorMessage(e), "error"); }
  } }, r.enabled ? t("nu.robots.disable") : t("nu.robots.enable"));
  const remove = el("button", { type: "button", class: "btn small ghost", onclick: async () => {
    if (!window.confirm(t("nu.robots.remove_confirm", { name: r.name }))) return;
    try { await api("DELETE", `/api/notice-robots/${r.id}`); toast(t("nu.robots.removed")); loadRobots(); }
    catch (e) { toast(errorMessage(e), "error"); }
  } }, t("nu.robots.remove"));
  return el("tr", { "data-robot": r.id, class: r.enabled ? "" : "inactive" },
    el("td", {}, r.unit_code), el("td", {}, t(`nu.robots.kind.${r.kind}`)), el("th", { scope: "row" }, r.name),
    el("td", { class: "mono" }, r.webhook), el("td", { class: "mono nu-secret" }, r.secret || t("nu.robots.unsigned")),
    el("td", {}, el("span", { class: `badge ${r.enabled ? "state-closed" : "state-cancelled"}` }, r.enabled ? t("nu.robots.on") : t("nu.robots.off"))),
    el("td", { class: "user-actions" }, toggle, " ", remove));
}

async function loadRobots() {
  const body = clear(document.getElementById("nu-robots-body"));
  try {
    const list = await get("/api/notice-robots");
    if (!list.length) body.append(el("tr", {}, el("td", { colspan: 7 }, t("common.empty"))));
    list.forEach((r) => body.append(robotRow(r)));
  } catch (e) { body.append(el("tr", {}, el("td", { colspan: 7 }, errorMessage(e)))); }
}

async function setUpRobots() {
  document.getElementById("nu-robots").hidden = false;
  const units = await get("/api/units").catch(() => []);
  document.getElementById("nu-robot-unit").append(...units.map((u) => el("option", { value: u.code }, `${u.name}（${u.code}）`)));
  const form = document.getElementById("nu-robot-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const body = Object.fromEntries(new FormData(form).entries());
    body.secret = body.secret || null;
    try {
      await post("/api/notice-robots", body);
      toast(t("nu.robots.added"));
      form.reset();
      document.getElementById("nu-robot-add").open = false;
      await loadRobots();
    } catch (e) { showFieldErrors(form, e); }
  });
  await loadRobots();
}

// --- escalation policies ----------------------------------------------------------------------------

const checks = (name, values, chosen, labelKey) => el("div", { class: "nu-checks" }, values.map((v) => {
  const id = `nu${++seq}`;
  return el("label", { for: id, class: "check" },
    el("input", { id, type: "checkbox", name, value: v, checked: chosen.includes(v) }), ` ${t(`${labelKey}.${v}`)}`);
}));

function stepBox(step, i, renumber) {
  const id = `nu${++seq}`;
  const box = el("fieldset", { class: "nu-step", "data-step": i },
    el("legend", {}, t("nu.policies.step", { n: i + 1 })),
    el("label", { for: id }, t("nu.policies.after"),
      el("input", { id, name: "after_minutes", type: "number", min: 0, max: 10080, step: 1, value: step.after_minutes ?? "", class: "nu-after" })),
    errorSlot(`steps[${i}].after_minutes`, `#${id}`),
    el("div", { class: "nu-group" }, el("span", { class: "muted" }, t("nu.policies.who")), checks("who", OPTIONS.who, step.who || [], "notices.who")),
    errorSlot(`steps[${i}].who`),
    el("div", { class: "nu-group" }, el("span", { class: "muted" }, t("nu.policies.channels")), checks("channels", OPTIONS.channels, step.channels || [], "notices.channel")),
    errorSlot(`steps[${i}].channels`),
    errorSlot(`steps[${i}]`));
  box.append(el("button", { type: "button", class: "btn small ghost", onclick: () => { box.remove(); renumber(); } }, t("nu.policies.remove_step")));
  return box;
}

function stepsOf(form) {
  return [...form.querySelectorAll(".nu-step")].map((box) => {
    const raw = box.querySelector("input[name=after_minutes]").value.trim();
    return {
      after_minutes: raw === "" || Number.isNaN(Number(raw)) ? raw : Number(raw),
      who: [...box.querySelectorAll("input[name=who]:checked")].map((b) => b.value),
      channels: [...box.querySelectorAll("input[name=channels]:checked")].map((b) => b.value),
    };
  });
}

function policyForm(p, reload) {
  const isNew = !p.code;
  const ids = { code: `nu${++seq}`, name: `nu${++seq}`, kind: `nu${++seq}`, enabled: `nu${++seq}` };
  const steps = el("div", { class: "nu-steps" });
  const form = el("form", { class: "action-form nu-policy-form", novalidate: true });
  // after a step is removed its slots keep the API's field names (steps[i]…) in order
  const renumber = () => {
    const current = stepsOf(form);
    clear(steps).append(...current.map((s, i) => stepBox(s, i, renumber)));
  };
  (p.steps || []).forEach((s, i) => steps.append(stepBox(s, i, renumber)));
  form.append(
    isNew ? el("label", { for: ids.code }, t("nu.policies.code"), el("input", { id: ids.code, name: "code", maxlength: 40, autocomplete: "off" })) : null,
    isNew ? errorSlot("code", `#${ids.code}`) : null,
    el("label", { for: ids.name }, t("nu.policies.name"), el("input", { id: ids.name, name: "name", maxlength: 100, value: p.name || "" })),
    errorSlot("name", `#${ids.name}`),
    el("label", { for: ids.kind }, t("nu.policies.kind"), el("select", { id: ids.kind, name: "kind" },
      OPTIONS.kinds.map((k) => el("option", { value: k, selected: k === p.kind }, t(`nu.kind.${k}`))))),
    errorSlot("kind", `#${ids.kind}`),
    el("label", { for: ids.enabled, class: "check" }, el("input", { id: ids.enabled, name: "enabled", type: "checkbox", checked: p.enabled !== false }), ` ${t("nu.policies.enabled")}`),
    steps,
    errorSlot("steps"),
    el("button", { type: "button", class: "btn small", onclick: () => {
      const current = stepsOf(form);
      const last = current[current.length - 1];
      steps.append(stepBox({ after_minutes: last && typeof last.after_minutes === "number" ? last.after_minutes + 10 : 0,
        who: [], channels: ["sms", "inapp"] }, current.length, renumber));
    } }, t("nu.policies.add_step")),
    errorSlot(""),
    el("button", { type: "submit", class: "btn primary" }, t("nu.policies.save")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const code = isNew ? form.elements.code.value.trim() : p.code;
    const body = { name: form.elements.name.value.trim(), kind: form.elements.kind.value, enabled: form.elements.enabled.checked,
      steps: stepsOf(form), expected_version: isNew ? null : p.version };
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      if (!code) throw new ApiError(422, { detail: "code must be 1–40 characters", field: "code" });
      await api("PUT", `/api/escalation-policies/${encodeURIComponent(code)}`, body);
      toast(t("nu.policies.saved"));
      await reload();
    } catch (e) { showFieldErrors(form, e); }
    finally { submit.disabled = false; }
  });
  return form;
}

function stepsTable(p) {
  return el("ol", { class: "nu-steps-read" }, p.steps.map((s) => el("li", {},
    `${t("time.minutes", { n: s.after_minutes })}：`,
    s.who.map((w) => t(`notices.who.${w}`)).join("、"), " · ",
    s.channels.map((c) => t(`notices.channel.${c}`)).join("、"))));
}

function policyCard(p, editable, reload) {
  const head = el("div", { class: "nu-policy-head" },
    el("h3", {}, p.name, " ", el("span", { class: "muted mono" }, p.code)),
    el("span", { class: `badge ${p.enabled ? "state-closed" : "state-cancelled"}` }, p.enabled ? t("nu.robots.on") : t("nu.robots.off")),
    el("span", { class: "muted" }, t("nu.policies.version", { v: p.version, who: p.updated_by, at: fmtTime(p.updated_at) })));
  return el("article", { class: "card nu-policy", "data-policy": p.code }, head, stepsTable(p),
    editable ? el("details", { class: "action" }, el("summary", { class: "btn" }, t("nu.policies.title")), policyForm(p, reload)) : null);
}

async function loadPolicies(editable) {
  const box = clear(document.getElementById("nu-policies-list"));
  const reload = () => loadPolicies(editable);
  try {
    const list = await get("/api/escalation-policies");
    list.forEach((p) => box.append(policyCard(p, editable, reload)));
  } catch (e) { box.append(el("p", { class: "error", role: "alert" }, errorMessage(e))); }
}

function setUpNewPolicy() {
  const button = document.getElementById("nu-policy-new");
  button.hidden = false;
  button.addEventListener("click", () => {
    const list = document.getElementById("nu-policies-list");
    const card = el("article", { class: "card nu-policy nu-policy-new", "data-policy": "" }, el("h3", {}, t("nu.policies.new")),
      policyForm({ kind: OPTIONS.kinds[0], enabled: true, steps: [{ after_minutes: 0, who: ["duty_officer"], channels: ["sms", "inapp"] }] },
        () => loadPolicies(true)));
    list.prepend(card);
    card.querySelector("input").focus();
  });
}

// --- one person's notices ---------------------------------------------------------------------------

async function showPerson(code) {
  const box = document.getElementById("nu-person-notices");
  if (!code) { clear(box); return; }
  await renderNotices(box, `/api/people/${encodeURIComponent(code)}/notices`);
}

async function setUpPerson() {
  document.getElementById("nu-person").hidden = false;
  const people = await get("/api/people").catch(() => []);
  document.getElementById("nu-people").append(...people.map((p) => el("option", { value: p.code }, `${p.name}（${p.unit_name || p.unit_code || ""}）`)));
  const form = document.getElementById("nu-person-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const code = form.person.value.trim();
    const url = new URL(location.href);
    if (code) url.searchParams.set("person", code); else url.searchParams.delete("person");
    history.replaceState(null, "", url);
    await showPerson(code);
  });
  const asked = new URL(location.href).searchParams.get("person");
  if (asked) { form.person.value = asked; await showPerson(asked); }
}

(async () => {
  const who = await shell();
  const admin = can(who, "notice.admin");
  document.getElementById("nu-policies-readonly").hidden = admin;
  const jobs = [loadPolicies(admin)];
  if (admin) { setUpNewPolicy(); jobs.push(setUpRobots(), setUpPerson()); }
  await Promise.all(jobs);
  document.body.dataset.ready = "1";
})();
