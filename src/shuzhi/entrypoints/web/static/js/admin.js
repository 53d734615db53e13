// Administration: imports with every rejected row shown, and the dispatch rules.
import { ApiError, api, clear, el, errorText, get, shell, t } from "./core.js";

function resultTable(details) {
  return el("div", { class: "table-wrap" }, el("table", { class: "grid-table errors" },
    el("thead", {}, el("tr", {}, ["admin.row", "admin.column", "admin.value", "admin.message"].map((k) => el("th", { scope: "col" }, t(k))))),
    el("tbody", {}, details.map((d) => el("tr", {},
      el("td", {}, d.row ?? d.index ?? t("common.none")),
      el("td", {}, d.column ?? d.path ?? d.field ?? t("common.none")),
      el("td", {}, d.value == null ? t("common.none") : typeof d.value === "string" ? d.value : JSON.stringify(d.value)),
      el("td", {}, d.message ?? d.msg ?? JSON.stringify(d)))))));
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

(async () => { await shell(); await loadRules(); document.body.dataset.ready = "1"; })();
