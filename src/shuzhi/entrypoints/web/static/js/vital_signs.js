// The city's vital signs (城市体征, 一览无余): sectors → runways → sub-runways → indicators, each in one of
// five colours (green … red) computed by the server in the reader's scope. A sector card opens its
// branch; an indicator opens the indicators page on its series and history. Text only, no HTML.
import { clear, el, empty, errorText, fmtTime, get, shell, t } from "./core.js";

export const colourLabel = (c) => (c ? t(`vitals.colour.${c}`) : t("vitals.colour.none"));
export const dot = (c) => el("span", { class: `vital-dot vital-${c || "none"}`, "aria-hidden": "true" });

function reasonText(i) {
  return i.reasons.map((r) => {
    if (r.startsWith("warning.")) return t("vitals.reason.warning", { level: t(`warning_level.${r.slice(8)}`), n: i.firing[r.slice(8)] });
    if (r === "stale") return t("vitals.reason.stale", { n: i.stale, of: i.series });
    return t(`vitals.reason.${r}`, { n: i.pending });
  }).join("；");
}

function lead(n) {
  return n.lead_unit_name ? el("span", { class: "muted small vital-lead" }, t("vitals.lead", { unit: n.lead_unit_name })) : "";
}

function indicatorLeaf(i) {
  return el("li", { class: `tree-leaf vital-leaf vital-is-${i.colour}`, "data-code": i.code, "data-colour": i.colour },
    el("a", { href: `/indicators?code=${encodeURIComponent(i.code)}`, class: "tree-link" },
      dot(i.colour), el("span", { class: "tree-name" }, i.name),
      el("span", { class: "sr-only" }, `：${colourLabel(i.colour)}`),
      el("span", { class: "muted small vital-why" }, reasonText(i) || t("vitals.reason.none"))));
}

function branch(n, depth) {
  const kids = n.children.map((c) => (c.kind === "indicator" ? indicatorLeaf(c) : branch(c, depth + 1)));
  const bad = n.colour && n.colour !== "green";
  return el("li", { class: `tree-node kind-${n.kind}`, id: `vital-${n.code}`, "data-code": n.code, "data-colour": n.colour || "none" },
    el("details", { open: depth === 0 && bad },
      el("summary", {}, dot(n.colour), ` ${n.name} `, el("span", { class: "sr-only" }, `：${colourLabel(n.colour)} `), lead(n)),
      kids.length ? el("ul", {}, kids) : el("p", { class: "muted small" }, t("vitals.empty_node"))));
}

function sectorCard(n) {
  const counts = ["red", "orange", "yellow", "blue"].filter((c) => n.counts[c]).map((c) =>
    el("span", { class: `vital-count vital-${c}` }, t("vitals.count", { colour: t(`vitals.short.${c}`), n: n.counts[c] })));
  return el("li", { class: `vital-sector vital-is-${n.colour || "none"}`, "data-code": n.code, "data-colour": n.colour || "none" },
    el("a", { href: `#vital-${n.code}`, onclick: () => { const d = document.getElementById(`vital-${n.code}`)?.querySelector(":scope > details"); if (d) d.open = true; } },
      el("span", { class: "vital-sector-name" }, dot(n.colour), ` ${n.name}`),
      el("span", { class: "vital-sector-state" }, colourLabel(n.colour)),
      el("span", { class: "vital-counts" }, counts.length ? counts : t("vitals.all_green"))));
}

async function main() {
  shell();
  const box = document.getElementById("vitals-tree");
  let data;
  try { data = await get("/api/vital-signs"); } catch (e) { box.append(empty(errorText(e))); return; }
  document.getElementById("vitals-at").textContent = t("vitals.at", { at: fmtTime(data.at) });
  const sectors = clear(document.getElementById("vitals-sectors"));
  if (!data.sectors.length) { box.append(empty()); return; }
  sectors.append(...data.sectors.map(sectorCard));
  clear(box).append(el("ul", { class: "tree-root" }, data.sectors.map((n) => branch(n, 0))));
  const target = decodeURIComponent(location.hash.slice(1));
  if (target) document.getElementById(target)?.querySelector(":scope > details")?.setAttribute("open", "");
  document.body.dataset.ready = "1";
}

main();
