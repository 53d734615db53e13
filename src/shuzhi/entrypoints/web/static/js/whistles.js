// 企业吹哨·部门报到: the dedicated officer's (服务企业专员) enterprise calls — each department's answer (报到)
// against its response deadline — and 政企双向评价: the officer records the enterprise's rating of the
// handling once every department has answered; a department rates the enterprise's cooperation.
import { ApiError, clear, el, empty, errorText, fmtTime, get, post, shell, t, toast } from "./core.js";

const LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"];
const DIMS = { enterprise: ["overall", "response", "effectiveness", "attitude"],
  department: ["overall", "cooperation", "materials", "integrity"] };
const $ = (id) => document.getElementById(id);

function ratingForm(w, direction) {
  const dims = DIMS[direction];
  const comment = el("textarea", { maxlength: "1000", "aria-label": t("window.comment") });
  const form = el("form", { class: "two-way", "data-direction": direction },
    el("h3", {}, t(`whistles.rate.${direction}`)),
    ...dims.map((d) => el("p", {}, t(`whistles.dim.${d}`), " ", ...LEVELS.map((l) => el("label", {},
      el("input", { type: "radio", name: `${direction}-${w.number}-${d}`, value: l, "data-dim": d }),
      ` ${t(`window.level.${l}`)} `)))),
    el("label", {}, t("window.comment"), comment),
    el("button", { class: "btn primary", type: "submit" }, t("window.submit_rating")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const levels = {};
    for (const input of form.querySelectorAll("input[data-dim]:checked")) levels[input.dataset.dim] = input.value;
    const path = direction === "enterprise" ? "rating" : "enterprise-rating";
    try {
      await post(`/api/services/whistles/${encodeURIComponent(w.number)}/${path}`, { levels, comment: comment.value.trim() });
      toast(t("window.ok")); load();
    } catch (err) {
      toast(err instanceof ApiError && err.status === 409 ? t("whistles.once") : errorText(err), "error");
    }
  });
  return form;
}

function card(w) {
  const rows = w.departments.map((d) => el("tr", { "data-department": d.department_code, class: d.late ? "overdue" : "" },
    el("td", {}, d.department), el("td", {}, t(`task_state.${d.task_state}`)),
    el("td", {}, fmtTime(d.response_due_at)), el("td", {}, d.reported_at ? fmtTime(d.reported_at) : t("whistles.waiting")),
    el("td", {}, d.cooperation || t("common.none"))));
  return el("article", { class: "card", "data-number": w.number, "data-answered": `${w.answered}/${w.departments.length}` },
    el("h2", {}, el("a", { href: `/events/${encodeURIComponent(w.number)}` }, w.title)),
    el("p", { class: "small" }, `${w.enterprise}（${w.credit_code}）· ${t("whistles.officer")}：${w.officer} · `,
      `${t("whistles.limit", { n: w.response_days })} · ${fmtTime(w.created_at)}`),
    el("table", { class: "table" }, el("thead", {}, el("tr", {}, ...["department", "state", "due", "reported", "cooperation"]
      .map((k) => el("th", {}, t(`whistles.col.${k}`))))), el("tbody", {}, ...rows)),
    el("p", { class: "enterprise-rating" }, `${t("whistles.enterprise_rating")}：`,
      w.enterprise_rating ? el("strong", { "data-grade": w.enterprise_grade }, w.enterprise_rating) : t("whistles.not_rated")),
    w.can_record_enterprise_rating ? ratingForm(w, "enterprise") : "",
    w.can_rate_enterprise ? ratingForm(w, "department") : "");
}

async function figures() {
  const box = clear($("wh-figures"));
  let f;
  try { f = await get("/api/services/two-way-figures"); } catch { return; }  // evaluation.read only
  const table = (rows, head) => el("table", { class: "table" },
    el("thead", {}, el("tr", {}, el("th", {}, head), ...["ratings", "good_rate", "average"].map((k) => el("th", {}, t(`whistles.fig.${k}`))))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, el("td", {}, r.name), el("td", {}, String(r.ratings)),
      el("td", {}, r.good_rate == null ? t("common.none") : `${(r.good_rate * 100).toFixed(1)}%`),
      el("td", {}, r.average == null ? t("common.none") : r.average.toFixed(2))))));
  box.append(el("h3", {}, t("whistles.fig.departments")), table(f.departments, t("whistles.col.department")),
    el("h3", {}, t("whistles.fig.enterprises")), table(f.enterprises, t("whistles.fig.enterprise")));
}

async function load() {
  const box = clear($("wh-list"));
  let items;
  try { items = await get(`/api/services/whistles?mine=${$("wh-mine").checked}&limit=100`); } catch (e) {
    box.append(el("p", { class: "error" }, errorText(e))); return;
  }
  if (!items.length) box.append(empty(t("whistles.empty")));
  box.append(...items.map(card));
  await figures();
}

// 登记企业吹哨: the enterprise from the registered list (in one's areas), the departments it goes to
const NEW_ERRORS = { credit_code: "whistles.err.enterprise", subject: "whistles.err.subject",
  department_codes: "whistles.err.departments", response_days: "whistles.err.days" };

async function newCallForm() {
  const [enterprises, departments] = await Promise.all([get("/api/services/enterprises"), get("/api/units?kind=department")]);
  $("wh-enterprise").append(...enterprises.map((e) => el("option", { value: e.credit_code }, `${e.name}（${e.officer_name}）`)));
  $("wh-departments").append(...departments.map((u) => el("label", { class: "inline" },
    el("input", { type: "checkbox", value: u.code, "data-department": u.code }), ` ${u.name}`)));
  $("wh-new").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = $("wh-new-error");
    error.textContent = "";
    const body = { credit_code: $("wh-enterprise").value, subject: $("wh-subject").value.trim(),
      description: $("wh-description").value.trim(), response_days: Number($("wh-days").value),
      department_codes: [...$("wh-departments").querySelectorAll("input:checked")].map((i) => i.value) };
    const local = !body.credit_code ? "credit_code" : !body.subject ? "subject" : !body.department_codes.length ? "department_codes"
      : !(Number.isInteger(body.response_days) && body.response_days >= 1 && body.response_days <= 15) ? "response_days" : null;
    if (local) { error.textContent = t(NEW_ERRORS[local]); error.dataset.field = local; return; }
    try {
      const out = await post("/api/services/whistles", body);
      toast(t("whistles.created", { number: out.number }));
      $("wh-new").reset();
      $("wh-new").dataset.created = out.number;
      await load();
    } catch (e) {
      const f = e instanceof ApiError && e.body && typeof e.body.field === "string" ? e.body.field.replace(/\[\d+\]$/, "") : null;
      error.textContent = f && NEW_ERRORS[f] ? t(NEW_ERRORS[f]) : errorText(e);
      error.dataset.field = f || "";
    }
  });
}

(async () => {
  await shell();
  await newCallForm();
  $("wh-mine").addEventListener("change", load);
  await load();
  document.body.dataset.ready = "1";
})();
