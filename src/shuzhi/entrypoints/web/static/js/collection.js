// Collection governance (采集治理, issue #22): per indicator, source system and runway lead unit — how many
// of the expected series report (覆盖率), how many are stale (及时率), readings against expected (缺报),
// late (迟报) and rejected (拒收) readings — the stale series with their no-data warnings, and the online
// plan (成熟一批、上线一批) planned vs online by date. Text only, no HTML.
import { clear, el, empty, errorText, fmtShortTime, get, shell, t } from "./core.js";

const $ = (id) => document.getElementById(id);
const pct = (v) => (v === null || v === undefined ? t("common.none") : `${(v * 100).toFixed(1)}%`);
const bad = (v, warnBelow = 0.95) => (v !== null && v !== undefined && v < warnBelow ? "gov-bad" : "");

function silent(s) {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? t("gov.silent_hm", { h, m }) : t("gov.silent_m", { m });
}

const QUALITY = [["expected_series", "gov.col.expected"], ["reporting_series", "gov.col.reporting"],
  ["coverage", "gov.col.coverage"], ["stale_series", "gov.col.stale"], ["freshness", "gov.col.freshness"],
  ["readings", "gov.col.readings"], ["gaps", "gov.col.gaps"], ["completeness", "gov.col.completeness"],
  ["late", "gov.col.late"], ["rejected", "gov.col.rejected"]];

function cell(row, key) {
  const v = row[key];
  if (["coverage", "freshness", "completeness"].includes(key)) return el("td", { class: bad(v), "data-key": key }, pct(v));
  return el("td", { "data-key": key, class: (key === "stale_series" || key === "rejected") && v ? "gov-bad" : "" }, v ?? 0);
}

function table(id, first, rows, name, extra = []) {
  const tb = $(id);
  clear(tb.tHead).append(el("tr", {}, first.map((k) => el("th", { scope: "col" }, t(k))),
    extra.map(([, k]) => el("th", { scope: "col" }, t(k))), QUALITY.map(([, k]) => el("th", { scope: "col" }, t(k)))));
  const body = clear(tb.tBodies[0]);
  if (!rows.length) { body.append(el("tr", {}, el("td", { colspan: first.length + extra.length + QUALITY.length }, t("common.empty")))); return; }
  for (const r of rows) {
    body.append(el("tr", { "data-code": r.code || r.unit_code || r.source_system || "" }, name(r),
      extra.map(([k]) => el("td", {}, r[k] ?? t("common.none"))), QUALITY.map(([k]) => cell(r, k))));
  }
}

function totals(d) {
  const x = d.totals;
  const card = (label, value, cls = "") => el("li", { class: `gov-card ${cls}` }, el("span", { class: "gov-card-value" }, value), el("span", { class: "gov-card-label" }, label));
  clear($("gov-totals")).append(
    card(t("gov.col.indicators"), x.indicators),
    card(t("gov.col.coverage"), pct(x.coverage), bad(x.coverage)),
    card(t("gov.col.freshness"), pct(x.freshness), bad(x.freshness)),
    card(t("gov.col.completeness"), pct(x.completeness), bad(x.completeness)),
    card(t("gov.col.stale"), x.stale_series, x.stale_series ? "gov-bad" : ""),
    card(t("gov.col.late"), x.late), card(t("gov.col.rejected"), x.rejected, x.rejected ? "gov-bad" : ""));
}

function plan(p) {
  $("gov-plan-sum").textContent = t("gov.plan.sum", { online: p.online, planned: p.planned, share: pct(p.online_share), overdue: p.overdue });
  const bar = clear($("gov-plan-bar"));
  bar.setAttribute("aria-label", $("gov-plan-sum").textContent);
  if (p.planned) bar.append(el("span", { class: "gov-bar-fill", style: `width:${(100 * p.online / p.planned).toFixed(1)}%` }));
  const body = clear($("gov-plan-batches").tBodies[0]);
  if (!p.batches.length) body.append(el("tr", {}, el("td", { colspan: 5 }, t("gov.plan.none"))));
  for (const b of p.batches) {
    body.append(el("tr", { "data-batch": b.batch }, el("th", { scope: "row" }, b.batch), el("td", {}, b.planned_on),
      el("td", {}, b.planned), el("td", {}, b.online), el("td", { class: b.overdue ? "gov-bad" : "" }, b.overdue)));
  }
  const dates = clear($("gov-plan-dates").tBodies[0]);
  for (const r of p.by_date) dates.append(el("tr", {}, el("th", { scope: "row" }, r.date), el("td", {}, r.planned), el("td", {}, r.online)));
}

function stale(rows, max) {
  const body = clear($("gov-stale").tBodies[0]);
  if (!rows.length) { body.append(el("tr", {}, el("td", { colspan: 6 }, t("gov.stale_none")))); return; }
  for (const s of rows) {
    body.append(el("tr", { "data-series": `${s.indicator_code}@${s.series_key}` },
      el("th", { scope: "row" }, el("a", { href: `/indicators?code=${encodeURIComponent(s.indicator_code)}` }, s.indicator_name)),
      el("td", {}, `${s.series_key}（${s.area_name}）`), el("td", {}, fmtShortTime(s.last_at)), el("td", { class: "gov-bad" }, silent(s.silent_s)),
      el("td", {}, s.owner_unit_name || t("common.none")),
      el("td", { class: "gov-warning" }, s.warning_level
        ? el("a", { href: `/warnings?indicator=${encodeURIComponent(s.indicator_code)}` }, t("gov.warned", { level: t(`warning_level.${s.warning_level}`) }), s.acknowledged ? ` · ${t("gov.acked")}` : "")
        : t("gov.not_warned"))));
  }
  if (rows.length >= max) body.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, t("gov.stale_more", { n: max }))));
}

async function load() {
  let d;
  try { d = await get(`/api/collection?window_h=${$("gov-window").value}`); } catch (e) {
    clear($("gov-totals")).append(empty(errorText(e)));
    return;
  }
  $("gov-at").textContent = t("gov.at", { at: fmtShortTime(d.at), n: d.stale_after });
  totals(d);
  plan(d.plan);
  stale(d.stale_series, d.stale_listed_max);
  table("gov-lead", ["gov.col.lead_unit"], d.lead_units, (r) => el("th", { scope: "row" }, r.unit_name || t("gov.no_lead")), [["indicators", "gov.col.indicators"]]);
  table("gov-source", ["gov.col.source"], d.sources, (r) => el("th", { scope: "row" }, r.source_system || t("gov.no_source")), [["indicators", "gov.col.indicators"]]);
  table("gov-indicators", ["gov.col.indicator"], d.indicators, (r) => el("th", { scope: "row" },
    el("a", { href: `/indicators?code=${encodeURIComponent(r.code)}` }, r.name), el("span", { class: "muted small" }, ` ${r.code}`)),
    [["source_system", "gov.col.source"], ["owner_unit_name", "gov.col.owner"], ["lead_unit_name", "gov.col.lead_unit"]]);
  document.body.dataset.ready = "1";
}

async function main() {
  shell();
  $("gov-window").addEventListener("change", load);
  await load();
}

main();
