// 区域变更 (issue #20): a district administrator previews a village merge (村社撤并), a grid split or a
// moved boundary — what is retired and created, how many open cases, tasks, people and units move —
// and only then applies it. The apply button stays off until a preview of exactly these inputs succeeded.
import { ApiError, api, apiErrorText, apiProblems, clear, el, empty, fmtTime, get, shell, t, toast } from "./core.js";

const form = () => document.getElementById("area-change");
let previewed = null; // the JSON body whose preview is on screen

// English service messages → the page's Chinese (the API answers in English with the field)
const ERRORS = [
  [/unknown area/i, "areas.err.unknown"],
  [/already retired/i, "areas.err.retired"],
  [/different levels/i, "areas.err.levels"],
  [/concerns .* areas, not/i, "areas.err.level_kind"],
  [/share one parent/i, "areas.err.parent"],
  [/takes .* areas, got|named twice/i, "areas.err.count"],
  [/dated back/i, "areas.err.backdate"],
  [/not later/i, "areas.err.future"],
  [/overlaps/i, "areas.err.overlap"],
  [/cross the grid once|LineString/i, "areas.err.line"],
  [/empty/i, "areas.err.empty"],
  [/invalid|ring|geometry|Polygon/i, "areas.err.geometry"],
  [/names the new area/i, "areas.err.name"],
  [/district's administrator/i, "areas.err.forbidden"],
  [/outside your district/i, "areas.err.outside"],
];

function chinese(message) {
  for (const [re, key] of ERRORS) if (re.test(message || "")) return t(key);
  return null;
}

function body() {
  const f = form();
  const codes = f.area_codes.value.split(/[，,\s]+/).map((c) => c.trim()).filter(Boolean);
  const out = { kind: f.kind.value, area_codes: codes, reason: f.reason.value.trim() };
  if (f.kind.value === "merge" && f.name.value.trim()) out.name = f.name.value.trim();
  if (f.kind.value === "split" && f.names.value.trim()) out.names = f.names.value.split(/[，,]/).map((n) => n.trim());
  if (f.kind.value !== "merge" && f.boundary.value.trim()) {
    try { out.boundary = JSON.parse(f.boundary.value); } catch { out.boundary = "not json"; }
  }
  if (f.effective_at.value) out.effective_at = `${f.effective_at.value}:00+08:00`;
  return out;
}

function showKind() {
  const kind = form().kind.value;
  form().querySelectorAll("[data-for]").forEach((l) => { l.hidden = !l.dataset.for.split(" ").includes(kind); });
}

function clearErrors() {
  form().querySelectorAll("[data-field]").forEach((s) => { s.textContent = ""; });
  document.getElementById("area-change-error").textContent = "";
}

function showError(e) {
  clearErrors();
  const problems = e instanceof ApiError ? apiProblems(e) : [{ field: null, message: String(e) }];
  for (const p of problems) {
    const slot = p.field ? form().querySelector(`[data-field="${p.field.split(/[.[]/)[0]}"]`) : null;
    const text = chinese(p.message) || apiErrorText(e);
    if (slot) slot.textContent = text;
    else document.getElementById("area-change-error").textContent = text;
  }
}

function areaList(items) {
  return el("ul", { class: "area-list" }, items.map((a) =>
    el("li", {}, el("strong", {}, a.name), " ", el("span", { class: "muted" }, `${a.code}（${t(`level.${a.level}`)}）`))));
}

function showPreview(p) {
  const out = clear(document.getElementById("area-preview-out"));
  const c = p.counts;
  out.append(
    el("p", { class: "area-counts", "data-counts": JSON.stringify(c) },
      t("areas.counts", { events: c.events, tasks: c.tasks, people: c.people, units: c.units, configuration: c.configuration || 0 })),
    c.people_to_decide ? el("p", { class: "warning" }, t("areas.to_decide", { n: c.people_to_decide })) : null,
    el("h3", {}, t("areas.retired")), areaList(p.retired),
    el("h3", {}, t("areas.created")), areaList(p.created),
    el("h3", {}, t("areas.moves")),
    p.moves.length ? el("table", { class: "table" },
      el("thead", {}, el("tr", {}, ["what", "ref", "from", "to", "rule"].map((k) => el("th", {}, t(`areas.col.${k}`))))),
      el("tbody", {}, p.moves.map((m) => el("tr", {},
        el("td", {}, t(`areas.move.${m.what}`)), el("td", {}, m.what === "config" ? configRef(m) : `${m.ref} ${m.what === "event" ? m.label : ""}`),
        el("td", {}, m.from_code), el("td", {}, m.to_code || t("common.none")),
        el("td", {}, t(`areas.rule.${m.rule}`)))))) : empty(t("common.none")));
}

// configuration re-pointed to the successor (分拨规则、风险点、预案 …): its kind in Chinese, its code and name
function configRef(m) {
  const [kind, ...ref] = m.ref.split(":");
  return `${t(`areas.config.${kind}`)} ${ref.join(":")} ${m.label || ""}`.trim();
}

async function loadHistory() {
  const box = clear(document.getElementById("area-history"));
  let rows = [];
  try { rows = await get("/api/area-changes"); } catch (e) { box.append(el("p", { class: "error" }, apiErrorText(e))); return; }
  if (!rows.length) { box.append(empty(t("areas.no_history"))); return; }
  box.append(el("table", { class: "table" },
    el("thead", {}, el("tr", {}, ["kind", "when", "by", "reason"].map((k) =>
      el("th", {}, k === "kind" ? t("areas.kind") : t(`areas.col.${k}`))))),
    el("tbody", {}, rows.map((r) => el("tr", {},
      el("td", {}, t(`areas.kind.${r.kind}`)), el("td", {}, fmtTime(r.effective_at)), el("td", {}, r.actor),
      el("td", {}, r.reason))))));
}

(async () => {
  await shell();
  showKind();
  form().kind.addEventListener("change", showKind);
  form().addEventListener("input", () => {
    // any change after a preview asks for a new one before applying
    document.getElementById("area-apply").disabled = previewed === null || JSON.stringify(body()) !== previewed;
  });
  form().addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors();
    const b = body();
    try {
      showPreview(await api("POST", "/api/area-changes/preview", b));
      previewed = JSON.stringify(b);
      document.getElementById("area-apply").disabled = false;
    } catch (e) { previewed = null; document.getElementById("area-apply").disabled = true; showError(e); }
  });
  document.getElementById("area-apply").addEventListener("click", async (ev) => {
    if (previewed === null || JSON.stringify(body()) !== previewed) return;
    if (!window.confirm(t("areas.confirm"))) return;
    ev.target.disabled = true;
    try {
      const done = await api("POST", "/api/area-changes", JSON.parse(previewed));
      toast(t("areas.applied"));
      showPreview(done);
      previewed = null;
      loadHistory();
    } catch (e) { showError(e); ev.target.disabled = false; }
  });
  await loadHistory();
  document.body.dataset.ready = "1";
})();
