// 评分办法编辑: scoring schemes — scored items with their thresholds, deductions, bonuses, colour bands,
// red and black lists. Saving validates the whole scheme (weights add up to the total, thresholds in
// order); every problem appears at its field in Chinese (config_errors.js). Keys the form does not
// show are kept as they were.
import { can, clear, el, get, shell, t, toast, api } from "./core.js";
import { clearErrors, field, problems, showErrors, slot } from "./config_errors.js";

let who = null;
let editing = null;
const $ = (id) => document.getElementById(id);
const OPTIONS = JSON.parse($("se-options").textContent);
const label = (prefix, code) => { const k = `${prefix}.${code}`; const v = t(k); return v === k ? code : `${v}（${code}）`; };
const rateOptions = () => OPTIONS.rates.map((r) => [r, label("cfg.rate", r)]);
const figureOptions = () => OPTIONS.figures.map((f) => [f, label("cfg.fig", f)]);
// a number when it reads as one; otherwise the text as typed, so that the API names the field
const num = (s) => { const v = String(s ?? "").trim(); if (v === "") return undefined; const n = Number(v); return Number.isFinite(n) ? n : v; };
const put = (obj, key, value) => { if (value === undefined) delete obj[key]; else obj[key] = value; };

async function loadList() {
  const body = clear($("se-body"));
  for (const s of await get("/api/evaluation/schemes")) {
    body.append(el("tr", { "data-scheme": s.code },
      el("td", { class: "mono" }, s.code), el("th", { scope: "row" }, s.name), el("td", {}, `v${s.version}`),
      el("td", {}, s.active ? t("cfg.scheme.in_use") : ""),
      el("td", {}, can(who, "evaluation.write") ? el("button", { type: "button", class: "btn small",
        "aria-label": `${t("cfg.edit")} ${s.name}`, onclick: () => edit(s) }, t("cfg.edit")) : null)));
  }
  document.body.dataset.ready = "1";
}

function rows(id, list, make) {
  return el("div", { id, class: "cfg-rows" }, list.map((x, i) => make(x, i)));
}

function itemRow(it, i) {
  const mode = "points_per_point" in it ? "points_per_point" : "zero_at";
  const value = field(t("cfg.scheme.threshold"), "threshold", `items[${i}].${mode}`, { value: it[mode] ?? "" });
  value.append(slot(`items[${i}].${mode === "zero_at" ? "points_per_point" : "zero_at"}`));
  return el("fieldset", { class: "cfg-row se-item" }, el("legend", {}, t("cfg.scheme.item_n", { n: i + 1 })),
    field(t("cfg.scheme.rate"), "rate", `items[${i}].rate`, { value: it.rate, options: rateOptions() }),
    field(t("cfg.scheme.weight"), "weight", `items[${i}].weight`, { value: it.weight ?? "" }),
    field(t("cfg.scheme.full_mark_at"), "full_mark_at", `items[${i}].full_mark_at`, { value: it.full_mark_at ?? "" }),
    field(t("cfg.scheme.mode"), "mode", `items[${i}].mode`, { value: mode,
      options: [["zero_at", t("cfg.scheme.zero_at")], ["points_per_point", t("cfg.scheme.points_per_point")]] }),
    value, slot(`items[${i}]`),
    el("button", { type: "button", class: "btn ghost small", onclick: (e) => e.target.closest("fieldset").remove() }, t("cfg.remove")));
}

function figureRow(cls, fig, a, b, i) {
  const prefix = cls === "se-bonus" ? `bonuses[${i}].` : `deductions.${fig || ""}`;
  const parts = cls === "se-bonus"
    ? [field(t("cfg.scheme.figure"), "figure", `${prefix}figure`, { value: fig, options: figureOptions() }),
      field(t("cfg.scheme.points_each"), "points_each", `${prefix}points_each`, { value: a ?? "" }),
      field(t("cfg.scheme.max"), "max", `${prefix}max`, { value: b ?? "" })]
    : [field(t("cfg.scheme.figure"), "figure", `${prefix}`, { value: fig, options: figureOptions() }),
      field(t("cfg.scheme.points_each"), "points", `${prefix}`, { value: a ?? "" })];
  return el("div", { class: `cfg-row ${cls}` }, parts,
    el("button", { type: "button", class: "btn ghost small", onclick: (e) => e.target.closest(".cfg-row").remove() }, t("cfg.remove")));
}

function bandRow(b, i) {
  return el("div", { class: "cfg-row se-band" },
    field(t("cfg.scheme.colour"), "colour", `bands[${i}].colour`, { value: b.colour || "",
      options: ["green", "blue", "yellow", "orange", "red"].map((c) => [c, t(`cfg.colour.${c}`)]) }),
    field(t("cfg.scheme.band_label"), "label", `bands[${i}].label`, { value: b.label || "" }),
    field(t("cfg.scheme.min_score"), "min_score", `bands[${i}].min_score`, { value: b.min_score ?? "" }),
    slot(`bands[${i}]`));
}

function edit(scheme) {
  editing = scheme && scheme.code !== "default" ? scheme : null;
  const d = structuredClone((scheme && scheme.document) || { total: 100, items: [{ rate: "closure_rate", weight: 100, full_mark_at: 0.95, zero_at: 0.6 }],
    red_list: { size: 5, min_score: 90 }, black_list: { size: 5, max_score: 60 } });
  const form = clear($("se-form"));
  form._doc = d;
  $("se-edit").hidden = false;
  $("se-edit-h").textContent = editing ? t("cfg.scheme.edit_h", { name: scheme.name }) : t("cfg.scheme.new_h");
  const red = d.red_list || {}; const black = d.black_list || {};
  form.append(
    field(t("cfg.scheme.code"), "code", "code", { value: editing ? scheme.code : "", attrs: editing ? { readonly: true } : {} }),
    field(t("cfg.scheme.name"), "name", "name", { value: editing ? scheme.name : "" }),
    el("label", { class: "cfg-field cfg-check" }, el("input", { type: "checkbox", name: "activate", checked: !editing || scheme.active }),
      t("cfg.scheme.activate")),
    field(t("cfg.scheme.total"), "total", "total", { value: d.total ?? 100 }),
    el("h3", {}, t("cfg.scheme.items")), slot("items"),
    rows("se-items", d.items || [], itemRow),
    el("p", {}, el("button", { type: "button", class: "btn ghost", onclick: () => $("se-items").append(itemRow({ rate: OPTIONS.rates[0] }, $("se-items").children.length)) }, t("cfg.scheme.add_item"))),
    el("h3", {}, t("cfg.scheme.deductions")), slot("deductions"),
    field(t("cfg.scheme.max_deduction"), "max_deduction", "max_deduction", { value: d.max_deduction ?? "" }),
    rows("se-deductions", Object.entries(d.deductions || {}), ([f, p], i) => figureRow("se-deduction", f, p, null, i)),
    el("p", {}, el("button", { type: "button", class: "btn ghost", onclick: () => $("se-deductions").append(figureRow("se-deduction", OPTIONS.figures[0], "", null, 0)) }, t("cfg.scheme.add_deduction"))),
    el("h3", {}, t("cfg.scheme.bonuses")), slot("bonuses"),
    rows("se-bonuses", d.bonuses || [], (b, i) => figureRow("se-bonus", b.figure, b.points_each, b.max, i)),
    el("p", {}, el("button", { type: "button", class: "btn ghost", onclick: () => $("se-bonuses").append(figureRow("se-bonus", OPTIONS.figures[0], "", "", $("se-bonuses").children.length)) }, t("cfg.scheme.add_bonus"))),
    el("h3", {}, t("cfg.scheme.bands")), slot("bands"),
    rows("se-bands", d.bands || [], bandRow),
    el("h3", {}, t("cfg.scheme.lists")),
    el("div", { class: "cfg-row" },
      field(t("cfg.scheme.red_size"), "red_size", "red_list.size", { value: red.size ?? "" }),
      field(t("cfg.scheme.red_min"), "red_min", "red_list.min_score", { value: red.min_score ?? "" }), slot("red_list")),
    el("div", { class: "cfg-row" },
      field(t("cfg.scheme.black_size"), "black_size", "black_list.size", { value: black.size ?? "" }),
      field(t("cfg.scheme.black_max"), "black_max", "black_list.max_score", { value: black.max_score ?? "" }), slot("black_list")),
    slot(""),
    el("p", { class: "cfg-actions" }, el("button", { type: "submit", class: "btn primary" }, t("cfg.save")),
      el("button", { type: "button", class: "btn ghost", onclick: () => { $("se-edit").hidden = true; } }, t("cfg.cancel"))));
  $("se-edit").scrollIntoView({ block: "start" });
}

function documentOf(form) {
  const doc = structuredClone(form._doc);
  const v = (root, name) => root.querySelector(`[name=${name}]`).value;
  put(doc, "total", num(v(form, "total")));
  doc.items = [...form.querySelectorAll(".se-item")].map((row) => {
    const it = { rate: v(row, "rate"), weight: num(v(row, "weight")), full_mark_at: num(v(row, "full_mark_at")) };
    it[v(row, "mode")] = num(v(row, "threshold"));
    for (const k of Object.keys(it)) if (it[k] === undefined) delete it[k];
    return it;
  });
  put(doc, "max_deduction", num(v(form, "max_deduction")));
  doc.deductions = Object.fromEntries([...form.querySelectorAll(".se-deduction")].map((row) => [v(row, "figure"), num(v(row, "points")) ?? ""]));
  doc.bonuses = [...form.querySelectorAll(".se-bonus")].map((row) => ({ figure: v(row, "figure"), points_each: num(v(row, "points_each")), max: num(v(row, "max")) }));
  const bands = [...form.querySelectorAll(".se-band")];
  if (bands.length) doc.bands = bands.map((row) => ({ colour: v(row, "colour"), label: v(row, "label").trim(), min_score: num(v(row, "min_score")) }));
  doc.red_list = { ...(doc.red_list || {}), size: num(v(form, "red_size")), min_score: num(v(form, "red_min")) };
  doc.black_list = { ...(doc.black_list || {}), size: num(v(form, "black_size")), max_score: num(v(form, "black_max")) };
  for (const k of ["red_list", "black_list"]) {
    for (const [kk, vv] of Object.entries(doc[k])) if (vv === undefined) delete doc[k][kk];
    if (!Object.keys(doc[k]).length) delete doc[k]; // nothing given: the scheme's defaults
  }
  return doc;
}

async function save(ev) {
  ev.preventDefault();
  const form = $("se-form");
  clearErrors(form);
  const code = form.querySelector("[name=code]").value.trim();
  if (!code) { showErrors(form, [{ field: "code", text: t("cfg.err.required"), raw: "" }]); return; }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const saved = await api("PUT", `/api/evaluation/schemes/${encodeURIComponent(code)}`, {
      name: form.querySelector("[name=name]").value.trim(), document: documentOf(form),
      activate: form.querySelector("[name=activate]").checked });
    toast(t("cfg.scheme.saved", { name: saved.name, version: saved.version }));
    await loadList();
    edit(saved);
  } catch (e) {
    // the scheme's own problems name paths inside the document; the request's own fields are top level
    showErrors(form, problems(e).map((p) => ({ ...p, field: p.field.replace(/^document\.?/, "") })));
    toast(t("cfg.not_saved"), "error");
  } finally { button.disabled = false; }
}

(async () => {
  who = await shell();
  $("se-new").hidden = !can(who, "evaluation.write");
  $("se-new").addEventListener("click", () => edit(null));
  $("se-form").addEventListener("submit", save);
  await loadList();
})();
