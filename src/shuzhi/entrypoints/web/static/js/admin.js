// Administration: imports with every rejected row shown, and the dispatch rules.
import { ApiError, api, can, clear, codeText, el, errorText, fieldLabel, get, post, shell, t, toast } from "./core.js";
import { actionForm } from "./forms.js";

function resultTable(details) {
  return el("div", { class: "table-wrap" }, el("table", { class: "grid-table errors" },
    el("thead", {}, el("tr", {}, ["admin.row", "admin.column", "admin.value", "admin.message"].map((k) => el("th", { scope: "col" }, t(k))))),
    el("tbody", {}, details.map((d) => el("tr", {},
      el("td", {}, d.row ?? d.index ?? t("common.none")),
      el("td", {}, d.column ?? d.path ?? (d.field ? fieldLabel(d.field) : t("common.none"))),
      el("td", {}, d.value == null ? t("common.none") : typeof d.value === "string" ? d.value : JSON.stringify(d.value)),
      el("td", {}, codeText(d.type, d.message ?? d.msg ?? JSON.stringify(d))))))));
}

for (const form of document.querySelectorAll(".import-form")) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = clear(form.querySelector(".import-result"));
    const fd = new FormData();
    const file = form.file.files[0];
    if (!file) { out.append(el("p", { class: "error" }, t("admin.file"))); return; }
    fd.append("file", file, file.name);
    const dry = form.dry_run && form.dry_run.checked;
    try {
      const r = await api("POST", `${form.dataset.url}${dry ? "?dry_run=true" : ""}`, undefined, { form: fd });
      const counts = Array.isArray(r.created)
        ? { created: r.created.length, updated: r.updated.length, unchanged: r.unchanged.length } : r;
      out.append(el("p", { class: "ok" }, t(dry ? "admin.result_dry" : "admin.result", counts)));
      if (form.dataset.kind === "rules") loadRules();
    } catch (e) {
      const details = e instanceof ApiError && Array.isArray(e.body.details) ? e.body.details
        : e instanceof ApiError && Array.isArray(e.body.errors) ? e.body.errors : null;
      if (details) {
        out.append(el("p", { class: "error" }, t("admin.errors", { n: details.length })), resultTable(details));
      } else out.append(el("p", { class: "error" }, errorText(e)));
    }
  });
}

function targets(r) {
  const tg = r.targets || {};
  const parts = [];
  for (const [k, v] of Object.entries(tg)) parts.push(`${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  return parts.join("；");
}

async function loadRules() {
  const body = clear(document.getElementById("rules-body"));
  try {
    const rules = await get("/api/dispatch-rules");
    if (!rules.length) body.append(el("tr", {}, el("td", { colspan: 7 }, t("common.empty"))));
    for (const r of rules) {
      body.append(el("tr", {}, el("td", {}, r.priority), el("td", {}, r.code), el("td", {}, r.name),
        el("td", {}, r.level || t("common.none")), el("td", { class: "mono" }, targets(r)),
        el("td", {}, r.enabled ? t("common.yes") : t("common.no")), el("td", {}, r.version)));
    }
  } catch (e) { body.append(el("tr", {}, el("td", { colspan: 7 }, errorText(e)))); }
}


// --- users (user.admin): list in scope, create with an initial password, role, disable, reset ------

const ROLES = [...document.querySelectorAll("#user-form select[name=role] option")].map((o) => [o.value, o.textContent]);

function statusOf(u) {
  if (!u.active) return el("span", { class: "badge state-cancelled" }, t("users.disabled"));
  const parts = [el("span", { class: "badge state-closed" }, t("users.active"))];
  if (!u.has_password) parts.push(el("span", { class: "badge" }, t("users.no_password")));
  else if (u.must_change_password) parts.push(el("span", { class: "badge state-registered" }, t("users.must_change")));
  if (u.locked) parts.push(el("span", { class: "badge urgency-critical" }, t("users.locked")));
  return parts;
}

const USERS_SHOWN = 500;
let me = null; // the administrator: their own row offers no disable and no role change (no self-lock-out)
const patchUser = (code, body) => api("PATCH", `/api/users/${encodeURIComponent(code)}`, body);

function userRow(u) {
  const isMe = me && u.code === me.code;
  const roleSelect = el("select", { "aria-label": `${t("users.role")} ${u.name}`, name: "role", disabled: isMe },
    ROLES.map(([v, label]) => el("option", { value: v, selected: v === u.role }, label)));
  roleSelect.addEventListener("change", async () => {
    try { await patchUser(u.code, { role: roleSelect.value }); toast(t("common.saved")); } catch (e) {
      toast(errorText(e), "error"); roleSelect.value = u.role;
    }
  });
  const toggle = el("button", { type: "button", class: `btn small ${u.active ? "danger" : ""}`, onclick: async () => {
    if (u.active && !window.confirm(t("users.disable_confirm", { name: u.name, code: u.code }))) return;
    try { await patchUser(u.code, { active: !u.active }); toast(t("common.done")); loadUsers(); } catch (e) { toast(errorText(e), "error"); }
  } }, u.active ? t("users.disable") : t("users.enable"));
  const reset = actionForm(t("users.reset_password"), [{ name: "password", label: t("users.new_password"), required: true }],
    async (f) => {
      await post(`/api/people/${encodeURIComponent(u.code)}/password`, { password: f.password.value });
      toast(t("users.reset_done", { code: u.code }));
      loadUsers();
    }, { cls: "ghost small" });
  const pw = reset.querySelector("input[name=password]");
  pw.type = "password";
  pw.autocomplete = "new-password";
  return el("tr", { "data-user": u.code, class: u.active ? "" : "inactive" },
    el("td", { class: "mono" }, u.code), el("th", { scope: "row" }, u.name),
    el("td", {}, u.unit_name), el("td", {}, roleSelect), el("td", {}, statusOf(u)),
    el("td", { class: "user-actions" }, isMe ? null : toggle, reset));
}

async function loadUsers() {
  const body = clear(document.getElementById("users-body"));
  const q = new URLSearchParams();
  const text = document.getElementById("u-q").value.trim();
  const role = document.getElementById("u-role").value;
  if (text) q.set("q", text);
  if (role) q.set("role", role);
  try {
    q.set("limit", String(USERS_SHOWN));
    const list = await get(`/api/users?${q}`);
    if (!list.length) body.append(el("tr", {}, el("td", { colspan: 6 }, t("common.empty"))));
    list.forEach((u) => body.append(userRow(u)));
    if (list.length >= USERS_SHOWN) body.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, t("users.more", { n: USERS_SHOWN }))));
  } catch (e) { body.append(el("tr", {}, el("td", { colspan: 6 }, errorText(e)))); }
}

async function setUpUsers(who) {
  if (!can(who, "user.admin")) return;
  me = who;
  document.getElementById("users-panel").hidden = false;
  const units = await get("/api/units").catch(() => []);
  document.getElementById("u-unit").append(...units.map((u) => el("option", { value: u.code }, `${u.name}（${u.code}）`)));
  document.getElementById("user-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadUsers(); });
  const form = document.getElementById("user-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = form.querySelector(".error");
    error.textContent = "";
    const body = Object.fromEntries(new FormData(form).entries());
    if (!body.phone) delete body.phone;
    try {
      const made = await post("/api/users", body);
      toast(t("users.created", { code: made.code }));
      form.reset();
      document.getElementById("user-create").open = false;
      await loadUsers();
    } catch (e) { error.textContent = errorText(e); }
  });
  await loadUsers();
}

(async () => {
  const who = await shell();
  await Promise.all([loadRules(), setUpUsers(who)]);
  document.body.dataset.ready = "1";
})();
