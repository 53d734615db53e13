// The flood-season view (汛期, issue #22): every 易涝点 in scope with its state and the newest rainfall,
// river level and water depth of the nearest monitoring series within the chosen radius, worst first.
import { clear, el, empty, errorText, fmtShortTime, get, shell, t } from "./core.js";

const $ = (id) => document.getElementById(id);

function measure(m) {
  if (!m) return el("td", { class: "muted" }, t("flood.none"));
  const value = `${Number(m.value).toFixed(2)} ${m.unit || ""}`.trim();
  const where = m.via === "attached" ? t("flood.attached") : t("flood.distance", { m: m.distance_m });
  return el("td", { class: m.warning_level ? `flood-w flood-${m.warning_level}` : "", "data-series": `${m.indicator_code}@${m.series_key}` },
    el("strong", {}, value), m.warning_level ? ` ${t(`warning_level.${m.warning_level}`)}${t("flood.warning")}` : "",
    el("br"), el("span", { class: "muted small" }, `${m.area_name} · ${where} · ${fmtShortTime(m.at)}`),
    m.stale ? el("span", { class: "gov-bad small" }, ` ${t("flood.stale")}`) : "");
}

async function load() {
  const body = clear($("flood-table").tBodies[0]);
  let d;
  try { d = await get(`/api/flood-season?radius_m=${$("flood-radius").value}`); } catch (e) { body.append(el("tr", {}, el("td", { colspan: 6 }, errorText(e)))); return; }
  $("flood-at").textContent = t("flood.at", { at: fmtShortTime(d.at), n: d.points.length });
  clear($("flood-counts")).append(...["warning", "watch", "in_rectification", "normal"].map((s) =>
    el("li", { class: `gov-card risk-${s}`, "data-state": s }, el("span", { class: "gov-card-value" }, d.counts[s] || 0), el("span", { class: "gov-card-label" }, t(`risk.state.${s}`)))));
  if (!d.points.length) { body.append(el("tr", {}, el("td", { colspan: 6 }, t("common.empty")))); return; }
  for (const p of d.points) {
    body.append(el("tr", { "data-code": p.code, "data-state": p.state },
      el("th", { scope: "row" }, el("a", { href: `/risk-points?code=${encodeURIComponent(p.code)}` }, p.name), el("span", { class: "muted small" }, ` ${p.code}`)),
      el("td", {}, p.area_name), el("td", { class: `risk-state risk-${p.state}` }, t(`risk.state.${p.state}`)),
      measure(p.rainfall), measure(p.water_level), measure(p.water_depth)));
  }
  document.body.dataset.ready = "1";
}

async function main() {
  shell();
  $("flood-radius").addEventListener("change", load);
  await load();
}

main();
