// The evaluation page's duty figures: on-post checks per centre (在岗抽查: asked, missed, confirmed in
// time) and the grid workers' patrols (巡查: patrols, hours, kilometres, findings), for the period shown.
import { clear, el, errorText, get, t } from "./core.js";

const pct = (v) => (v === null || v === undefined ? t("common.none") : `${(v * 100).toFixed(1)}%`);

function rows(body, list, cols, make) {
  clear(body);
  if (!list.length) body.append(el("tr", {}, el("td", { colspan: cols }, t("ed.none"))));
  for (const x of list) body.append(make(x));
}

export async function loadDutyFigures(period, area) {
  const q = new URLSearchParams({ period });
  if (area) q.set("area", area);
  const presence = document.getElementById("ed-presence-body");
  const patrols = document.getElementById("ed-patrol-body");
  try {
    const figures = await get(`/api/evaluation/figures?${q}&group_by=unit`);
    rows(presence, (figures.groups || []).filter((g) => g.presence_checks), 4, (g) => el("tr", { "data-code": g.code },
      el("th", { scope: "row" }, g.name), el("td", {}, g.presence_checks), el("td", {}, g.presence_misses),
      el("td", {}, pct(g.presence_on_time_rate))));
  } catch (e) { rows(presence, [], 4, () => null); presence.firstChild.firstChild.textContent = errorText(e); }
  try {
    const people = await get(`/api/evaluation/people?${q}`);
    rows(patrols, (people.people || []).filter((p) => p.patrol), 6, (p) => el("tr", { "data-person": p.code },
      el("th", { scope: "row" }, `${p.name}（${p.code}）`), el("td", {}, p.patrol.patrols), el("td", {}, p.patrol.hours),
      el("td", {}, p.patrol.km), el("td", {}, p.patrol.findings), el("td", {}, p.patrol.findings_per_patrol)));
  } catch (e) { rows(patrols, [], 6, () => null); patrols.firstChild.firstChild.textContent = errorText(e); }
}
