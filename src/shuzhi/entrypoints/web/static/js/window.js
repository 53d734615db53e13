// The window clerk's page (一窗综办): identify the applicant (masked), find a matter or a bundle, answer
// the questionnaire, fill the shared form once, check the materials (容缺 where the guide allows),
// accept with a receipt, upload scans; look a case up, hand the result out, record the rating, and
// work the 差评 verifications of this point.
import { api, can, clear, el, empty, errorText, fmtTime, get, post, shell, t, toast } from "./core.js";

const LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"];
const DIMS = ["overall", "efficiency", "service_level", "attitude"];
let chosen = null; // {kind, code, doc, matters}

const $ = (id) => document.getElementById(id);
const mask = (s, keepHead, keepTail) => (s.length <= keepHead + keepTail ? s
  : s.slice(0, keepHead) + "*".repeat(s.length - keepHead - keepTail) + s.slice(s.length - keepTail));

function holds(cond, answers) {
  if (!cond) return true;
  if (cond.all) return cond.all.every((c) => holds(c, answers));
  if (cond.any) return cond.any.some((c) => holds(c, answers));
  if (cond.not) return !holds(cond.not, answers);
  const a = answers[cond.question];
  return "equals" in cond ? a === cond.equals : cond.in.includes(a);
}

function answers() {
  const out = {};
  for (const input of document.querySelectorAll("#w-chosen input[data-q]:checked")) out[input.dataset.q] = input.value;
  return out;
}

function materialRows(matter, included) {
  const rows = matter.materials.map((m) => {
    const options = ["provided", ...(m.deferrable ? ["deferred"] : []), ...(m.required ? [] : ["not_provided"])];
    const select = el("select", { "data-matter": matter.code, "data-material": m.code, "aria-label": m.name },
      ...options.map((o) => el("option", { value: o }, t(`window.material.${o}`))));
    return el("li", {}, `${m.name} `, el("span", { class: "muted small" },
      [m.required ? t("window.required") : "", m.deferrable ? t("window.deferrable") : ""].filter(Boolean).join(" · ")), " ", select);
  });
  return el("fieldset", { class: included ? "" : "skipped", "data-matter-box": matter.code, disabled: included ? null : "" },
    el("legend", {}, `${matter.name}（${matter.department}）`, included ? "" : t("window.skipped")), el("ul", {}, ...rows));
}

function renderMaterials() {
  const box = $("w-materials");
  if (!box || !chosen) return;
  const a = answers();
  const items = chosen.kind === "bundle" ? chosen.doc.items : [{ matter_code: chosen.code }];
  clear(box).append(...chosen.matters.map((m) => {
    const item = items.find((i) => i.matter_code === m.code);
    return materialRows(m, holds(item && item.when, a));
  }));
}

async function choose(hit) {
  const box = clear($("w-chosen"));
  if (hit.kind === "bundle") {
    const b = await get(`/api/services/bundles/${encodeURIComponent(hit.code)}`);
    chosen = { kind: "bundle", code: b.code, doc: b.document, matters: b.matters };
    const qs = b.document.questions.map((q) => el("p", {}, q.text, " ",
      ...q.options.map((o) => el("label", {}, el("input", { type: "radio", name: `q-${q.key}`, value: o, "data-q": q.key,
        required: "" }), ` ${t(`window.${o}`) === `window.${o}` ? o : t(`window.${o}`)} `))));
    const fields = b.document.fields.map((f) => el("label", {}, f.label, " ",
      f.kind === "choice"
        ? el("select", { "data-field": f.key }, ...f.options.map((o) => el("option", { value: o }, o)))
        : el("input", { "data-field": f.key, type: f.kind === "date" ? "date" : "text", maxlength: "100" })));
    box.append(el("h2", {}, `${t("window.bundle")}：${b.name}`),
      el("fieldset", {}, el("legend", {}, t("window.questions")), ...qs),
      el("fieldset", {}, el("legend", {}, t("window.form")), ...fields),
      el("h3", {}, t("window.materials")), el("div", { id: "w-materials" }));
    box.addEventListener("change", (e) => { if (e.target.dataset.q) renderMaterials(); });
  } else {
    const m = await get(`/api/services/matters/${encodeURIComponent(hit.code)}`);
    chosen = { kind: "matter", code: m.code, doc: m.guide,
      matters: [{ code: m.code, name: m.name, department: m.department_name, materials: m.guide.materials }] };
    box.append(el("h2", {}, `${t("window.matter")}：${m.name}`),
      el("p", { class: "muted small" }, `${m.department_name} · ${m.guide.legal_basis} · ${m.promised_days}个工作日`),
      el("h3", {}, t("window.materials")), el("div", { id: "w-materials" }));
  }
  renderMaterials();
}

async function search(q) {
  const list = clear($("w-hits"));
  if (!q) return;
  const hits = await get(`/api/services/search?q=${encodeURIComponent(q)}&limit=15`);
  list.append(...hits.map((h) => el("li", { role: "option", tabindex: "0", "data-code": h.code,
    onclick: () => { clear(list); $("w-search").value = h.name; choose(h); },
    onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); e.target.click(); } } },
  h.kind === "bundle" ? `【${t("window.bundle")}】` : "", h.name, " ", el("span", { class: "muted small" }, h.department))));
}

function body() {
  const f = $("w-form");
  const kind = f.querySelector("input[name=kind]:checked").value;
  const id = $("w-id").value.trim().toUpperCase();
  const out = {
    window_code: $("w-window").value, mode: $("w-mode").value,
    applicant: { kind, name: $("w-name").value.trim(), phone: $("w-phone").value.trim(),
      ...(kind === "person" ? { id_number: id } : { credit_code: id }) },
    materials: {}, answers: {}, form: {},
  };
  if (chosen.kind === "bundle") {
    out.bundle_code = chosen.code;
    out.answers = answers();
    for (const input of document.querySelectorAll("#w-chosen [data-field]")) {
      if (input.value.trim()) out.form[input.dataset.field] = input.value.trim();
    }
  } else out.matter_code = chosen.code;
  for (const s of document.querySelectorAll("#w-materials fieldset:not([disabled]) select[data-material]")) {
    (out.materials[s.dataset.matter] ||= {})[s.dataset.material] = s.value;
  }
  if (out.mode === "proxy") {
    out.proxy = { name: f.proxy_name.value.trim(), id_number: f.proxy_id.value.trim().toUpperCase(),
      relation: f.proxy_relation.value.trim() };
  }
  return out;
}

function receipt(r) {
  const scans = el("input", { type: "file", multiple: "", accept: "image/*,application/pdf", id: "w-scans",
    "aria-label": t("window.scans") });
  scans.addEventListener("change", async () => {
    let n = 0;
    for (const file of scans.files) {
      const form = new FormData();
      form.append("file", file);
      try { await api("POST", `/api/events/${encodeURIComponent(r.number)}/attachments`, null, { form }); n += 1; } catch (e) { toast(errorText(e), "error"); }
    }
    toast(t("window.scans_done", { n }));
  });
  clear($("w-receipt")).append(el("article", { class: "card receipt", id: "w-receipt-card" },
    el("h2", {}, t("window.receipt")),
    el("p", {}, `${t("window.number")}：`, el("strong", { id: "w-receipt-number" }, r.number)),
    el("p", {}, r.title, ` · ${r.applicant.name} ${r.applicant.id_number}`),
    el("p", {}, `${t("window.promised")}：${fmtTime(r.promised_at)}（${r.promised_days}个工作日）`),
    el("p", {}, `${t("window.departments")}：${r.departments.map((d) => d.department).join("、")}`),
    r.check_code ? el("p", {}, `${t("rate.check_code")}：`, el("strong", { class: "check-code", id: "w-receipt-code" }, r.check_code),
      " ", el("span", { class: "muted small" }, t("rate.receipt_hint", { url: `${location.origin}/rate` }))) : "",
    ...r.deferred.map((d) => el("p", { class: "warn" }, `${t("window.deferred_due")}：${d.matter} · ${d.material} · ${fmtTime(d.due_at)}`)),
    el("label", {}, t("window.scans"), " ", scans)));
  $("w-case-number").value = r.number;
}

function ratingForm(number) {
  const dims = DIMS.map((d) => el("p", {}, t(`window.dim.${d}`), " ",
    ...LEVELS.map((l) => el("label", {}, el("input", { type: "radio", name: `r-${d}`, value: l, required: "" }),
      ` ${t(`window.level.${l}`)} `))));
  const comment = el("textarea", { name: "comment", maxlength: "1000", "aria-label": t("window.comment") });
  const named = el("input", { type: "checkbox", name: "named", checked: "" });
  const form = el("form", { id: "w-rating" }, el("h3", {}, t("window.rate")), ...dims,
    el("label", {}, t("window.comment"), comment), el("label", {}, named, ` ${t("window.named")}`),
    el("button", { class: "btn primary", type: "submit" }, t("window.submit_rating")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const levels = {};
    for (const d of DIMS) { const c = form.querySelector(`input[name=r-${d}]:checked`); if (c) levels[d] = c.value; }
    try {
      await post(`/api/services/cases/${encodeURIComponent(number)}/rating`,
        { channel: "window", levels, comment: comment.value.trim(), named: named.checked });
      toast(t("window.ok")); loadCase(number); loadBad();
    } catch (err) { toast(errorText(err), "error"); }
  });
  return form;
}

async function loadCase(number) {
  const box = clear($("w-case"));
  let c;
  try { c = await get(`/api/services/cases/${encodeURIComponent(number)}`); } catch (e) { box.append(el("p", { class: "error" }, errorText(e))); return; }
  const owed = c.materials.filter((m) => m.status === "deferred");
  box.append(el("article", { class: "card", id: "w-case-card", "data-state": c.state },
    el("h3", {}, `${c.title} · ${t(`window.state.${c.state}`)}`),
    el("p", { class: "small" }, `${c.applicant.name} ${c.applicant.id_number} · ${t("window.promised")}：${fmtTime(c.promised_at)}`),
    el("ul", {}, ...c.shares.map((s) => el("li", {}, `${s.department}：${s.task_state || s.state}`))),
    ...(c.approvals || []).map((a) => el("p", { class: "approval", "data-seal": a.seal_unit },
      `${t("window.seal")}：${a.seal_unit} · ${a.document_number} `,
      el("a", { href: a.url, download: "" }, t("window.approval_doc")))),
    ...owed.map((m) => el("p", {}, `${m.name}（${t("window.material.deferred")}，${fmtTime(m.due_at)}） `,
      el("button", { class: "btn", type: "button", "data-supply": m.id, onclick: async () => {
        try { await post(`/api/services/cases/${encodeURIComponent(number)}/materials/${m.id}/supply`, {}); toast(t("window.ok")); loadCase(number); } catch (e) { toast(errorText(e), "error"); }
      } }, t("window.supply")))),
    c.state === "completed" ? el("button", { class: "btn", type: "button", onclick: async () => {
      await post(`/api/services/cases/${encodeURIComponent(number)}/deliver`, { how: "window" }); loadCase(number);
    } }, t("window.deliver")) : "",
    c.rated ? el("p", { class: "muted" }, t("window.rated"))
      : (["completed", "delivered", "rejected"].includes(c.state) ? ratingForm(number) : "")));
}

const NEXT = { open: ["call_back"], called_back: ["classify_real", "classify_mistaken", "classify_malicious"],
  rectifying: ["rectify"], rectified: ["reply"], replied: ["close"],
  // the rating office (evaluation.write) decides an appeal; the server refuses anyone else (403)
  appealing: ["uphold_appeal", "reject_appeal"] };
let who = null;
const nextActions = (state) => (state === "appealing" && !(who && can(who, "evaluation.write")) ? [] : NEXT[state] || []);
const FIELD = { call_back: "callback_note", classify_mistaken: "appeal", classify_malicious: "appeal",
  rectify: "rectification", reply: "reply", close: "outcome" };

async function loadBad() {
  const box = clear($("w-bad"));
  let items;
  try { items = await get("/api/services/verifications"); } catch (e) { box.append(el("p", { class: "error" }, errorText(e))); return; }
  if (!items.length) box.append(empty(t("window.bad_empty")));
  for (const v of items) {
    const text = el("textarea", { maxlength: "2000", "aria-label": t("window.text") });
    const ok = el("input", { type: "checkbox", checked: "" });
    const buttons = nextActions(v.state).map((a) => el("button", { class: "btn", type: "button", "data-action": a,
      onclick: async () => {
        const payload = { note: text.value.trim(), expected_version: v.version };
        if (FIELD[a]) payload[FIELD[a]] = text.value.trim();
        if (a === "close") payload.rater_satisfied = ok.checked;
        try { await post(`/api/services/verifications/${v.id}/${a}`, payload); toast(t("window.ok")); loadBad(); } catch (e) { toast(errorText(e), "error"); }
      } }, t(`window.a.${a}`)));
    box.append(el("article", { class: "card", "data-verification": v.id, "data-state": v.state },
      el("strong", {}, `${v.level_label} · ${v.case || v.window} · ${t(`window.v.${v.state}`)}`),
      el("p", { class: "small" }, v.comment),
      v.appeal ? el("p", { class: "small", "data-appeal": v.classification }, `${t("window.appeal")}：${v.appeal}`) : "",
      el("p", { class: v.overdue ? "error small" : "muted small" }, `${t("window.due")}：${fmtTime(v.due_at)}`),
      el("label", {}, t("window.text"), text),
      v.state === "replied" ? el("label", {}, ok, ` ${t("window.satisfied")}`) : "", ...buttons));
  }
}

(async () => {
  who = await shell();
  const windows = await get("/api/services/windows");
  $("w-window").replaceChildren(...windows.map((w) => el("option", { value: w.code, "data-kind": w.kind }, w.name)));
  const syncMode = () => {
    const kind = $("w-window").selectedOptions[0]?.dataset.kind;
    if (kind && kind !== "district_hall" && $("w-mode").value === "window") $("w-mode").value = "nearest";
  };
  $("w-window").addEventListener("change", syncMode);
  syncMode();
  $("w-mode").addEventListener("change", () => { $("w-proxy").hidden = $("w-mode").value !== "proxy"; });
  const showMasked = () => {
    const id = $("w-id").value.trim(); const name = $("w-name").value.trim();
    $("w-masked").textContent = id.length >= 15 ? t("window.masked", { v: `${name ? name[0] + "*".repeat(name.length - 1) : ""} ${mask(id, 4, 4)}` }) : "";
    if (id.length >= 15) $("w-id").type = "password";
  };
  $("w-id").addEventListener("change", showMasked);
  $("w-id").addEventListener("focus", () => { $("w-id").type = "text"; });
  let timer;
  $("w-search").addEventListener("input", (e) => { clearTimeout(timer); timer = setTimeout(() => search(e.target.value.trim()), 200); });
  $("w-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("w-error").textContent = "";
    if (!chosen) { $("w-error").textContent = t("window.search_hint"); return; }
    try { receipt(await post("/api/services/cases", body())); toast(t("window.ok")); } catch (err) { $("w-error").textContent = errorText(err); }
  });
  $("w-case-form").addEventListener("submit", (e) => { e.preventDefault(); loadCase($("w-case-number").value.trim()); });
  await loadBad();
  document.body.dataset.ready = "1";
})();
